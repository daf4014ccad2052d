#!/usr/bin/env node
/**
 * `sluice`: the command-line entry. Parses the command, merges flags, environment and config
 * file, runs the command, and turns errors into readable messages and exit codes.
 */
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { isSluiceError } from '../index.js'
import { applyFallbacks, formatOptions, parseArgs } from './args.js'
import { commands } from './commands.js'
import type { Command } from './commands.js'
import { findConfigFile, loadConfigFile } from './config.js'

export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2
export const EXIT_INTERRUPTED = 130

function mainHelp (): string {
  const width = Math.max(...commands.map((command) => command.name.length))
  return [
    'Sluice: a Kafka-compatible messaging engine.',
    '',
    'Usage: sluice <command> [options]',
    '',
    'Commands:',
    ...commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    'Run `sluice <command> --help` for a command\'s options.',
    'Settings come from flags, then SLUICE_* environment variables, then a JSON config file',
    '(--config FILE, SLUICE_CONFIG, or ./sluice.config.json), then defaults.',
    'Exit codes: 0 success, 1 failure, 2 usage error, 130 interrupted.'
  ].join('\n')
}

function commandHelp (command: Command): string {
  return [`${command.summary}`, '', `Usage: ${command.usage}`, '', 'Options:', formatOptions(command.options)].join('\n')
}

export async function main (argv: readonly string[], io: { stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream, stdin: NodeJS.ReadableStream } = process): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(mainHelp() + '\n')
    return name === undefined ? EXIT_USAGE : EXIT_OK
  }
  if (name === '--version' || name === '-v') {
    const { createRequire } = await import('node:module')
    const version = (createRequire(import.meta.url)('../../package.json') as { version: string }).version
    io.stdout.write(`${version}\n`)
    return EXIT_OK
  }
  const command = commands.find((candidate) => candidate.name === name)
  if (command === undefined) {
    io.stderr.write(`sluice: unknown command "${name}"\n\n${mainHelp()}\n`)
    return EXIT_USAGE
  }
  let interruptedResolve: () => void = () => {}
  const interrupted = new Promise<void>((resolve) => { interruptedResolve = resolve })
  let interruptions = 0
  const onSignal = (): void => {
    interruptions++
    if (interruptions > 1) process.exit(EXIT_INTERRUPTED)
    interruptedResolve()
  }
  try {
    const args = parseArgs(rest, command.options)
    if (args.values.get('help') === true) {
      io.stdout.write(commandHelp(command) + '\n')
      return EXIT_OK
    }
    applyFallbacks(args, command.options, process.env, loadConfigFile(findConfigFile(rest, process.env)))
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    return await command.run({ args, stdout: io.stdout, stderr: io.stderr, stdin: io.stdin, interrupted })
  } catch (error) {
    if (isSluiceError(error)) {
      io.stderr.write(`sluice ${command.name}: ${error.message} (${error.code})\n`)
      return error.code === 'SLUICE_INVALID_OPTION' ? EXIT_USAGE : EXIT_FAILURE
    }
    io.stderr.write(`sluice ${command.name}: unexpected error: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
    return EXIT_FAILURE
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

/** True when this file is the program (also through the node_modules/.bin symlink), not an import. */
function invokedDirectly (): boolean {
  const script = process.argv[1]
  if (script === undefined) return false
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url))
  } catch {
    return false
  }
}

if (invokedDirectly()) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code
  }, (error: unknown) => {
    process.stderr.write(`sluice: ${String(error)}\n`)
    process.exitCode = EXIT_FAILURE
  })
}
