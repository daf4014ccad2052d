/**
 * Where CLI settings come from, in order of precedence: command-line flags, then environment
 * variables (`SLUICE_*`), then a JSON config file (`--config FILE`, `SLUICE_CONFIG`, or
 * `./sluice.config.json` when present), then defaults.
 *
 * Config file shape: a flat object whose keys are the long flag names, e.g.
 * `{ "data": "/var/lib/sluice", "port": 9092, "flush": "always" }`.
 */
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { usageError } from './args.js'

export const DEFAULT_CONFIG_FILE = 'sluice.config.json'

export function findConfigFile (argv: readonly string[], environment: NodeJS.ProcessEnv): string | undefined {
  for (let index = 0; index < argv.length; index++) {
    const word = argv[index]!
    if (word === '--config') {
      const value = argv[index + 1]
      if (value === undefined) throw usageError('--config needs a file')
      return value
    }
    if (word.startsWith('--config=')) return word.slice('--config='.length)
  }
  if (environment.SLUICE_CONFIG !== undefined && environment.SLUICE_CONFIG !== '') return environment.SLUICE_CONFIG
  return existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined
}

export function loadConfigFile (path: string | undefined): Record<string, unknown> {
  if (path === undefined) return {}
  let text: string
  try {
    text = readFileSync(resolve(path), 'utf8')
  } catch (error) {
    throw usageError(`cannot read config file ${path}: ${(error as Error).message}`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw usageError(`config file ${path} is not valid JSON: ${(error as Error).message}`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw usageError(`config file ${path} must hold a JSON object`)
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw usageError(`config file ${path}: "${key}" must be a string, number or boolean`)
    }
  }
  return parsed as Record<string, unknown>
}
