/**
 * Command-line parsing for `sluice`: positional words, `--name value`, `--name=value`, boolean
 * `--flag`, `--no-flag`, and `--` to end options. Each command declares its options so that
 * unknown flags and missing values are reported by name instead of silently ignored.
 */
import { SluiceError } from '../index.js'

export type OptionKind = 'string' | 'number' | 'boolean'

export interface OptionSpec {
  name: string
  kind: OptionKind
  description: string
  /** Environment variable consulted when the flag is absent. */
  env?: string
  /** Key in the config file consulted when flag and environment are absent. */
  configKey?: string
  defaultValue?: string | number | boolean
  short?: string
  /** Shown in help as the value's name, e.g. DIR. */
  valueName?: string
  /** May be given several times; every value is kept in `ParsedArgs.lists`. */
  repeatable?: boolean
}

export interface ParsedArgs {
  positionals: string[]
  values: Map<string, string | number | boolean>
  /** Every value of repeatable options, in order. */
  lists: Map<string, string[]>
  /** Where each value came from, for `--help` and error messages. */
  sources: Map<string, 'flag' | 'env' | 'config' | 'default'>
}

export function parseArgs (argv: readonly string[], specs: readonly OptionSpec[]): ParsedArgs {
  const byName = new Map(specs.map((spec) => [spec.name, spec]))
  const byShort = new Map(specs.filter((spec) => spec.short !== undefined).map((spec) => [spec.short!, spec]))
  const positionals: string[] = []
  const values = new Map<string, string | number | boolean>()
  const lists = new Map<string, string[]>()
  const sources = new Map<string, 'flag' | 'env' | 'config' | 'default'>()

  for (let index = 0; index < argv.length; index++) {
    const word = argv[index]!
    if (word === '--') {
      positionals.push(...argv.slice(index + 1))
      break
    }
    if (!word.startsWith('-') || word === '-') {
      positionals.push(word)
      continue
    }
    let name: string
    let inline: string | undefined
    if (word.startsWith('--')) {
      const equals = word.indexOf('=')
      name = equals === -1 ? word.slice(2) : word.slice(2, equals)
      inline = equals === -1 ? undefined : word.slice(equals + 1)
    } else {
      const spec = byShort.get(word.slice(1))
      if (spec === undefined) throw usageError(`unknown option ${word}`)
      name = spec.name
    }
    let spec = byName.get(name)
    if (spec === undefined && name.startsWith('no-')) {
      const negated = byName.get(name.slice(3))
      if (negated?.kind === 'boolean' && inline === undefined) {
        values.set(negated.name, false)
        sources.set(negated.name, 'flag')
        continue
      }
    }
    if (spec === undefined) throw usageError(`unknown option --${name}`)
    if (spec.kind === 'boolean') {
      if (inline !== undefined && inline !== 'true' && inline !== 'false') throw usageError(`--${name} takes no value (or =true / =false)`)
      values.set(spec.name, inline !== 'false')
      sources.set(spec.name, 'flag')
      continue
    }
    let raw = inline
    if (raw === undefined) {
      const next = argv[index + 1]
      if (next === undefined || (next.startsWith('--') && next.length > 2)) throw usageError(`--${name} needs a value`)
      raw = next
      index++
    }
    values.set(spec.name, convert(spec, raw, `--${name}`))
    sources.set(spec.name, 'flag')
    if (spec.repeatable === true) lists.set(spec.name, [...(lists.get(spec.name) ?? []), raw])
  }
  return { positionals, values, lists, sources }
}

/**
 * Fill values absent from the command line from the environment, then the config file, then
 * the declared default: flags > environment > config file > defaults.
 */
export function applyFallbacks (parsed: ParsedArgs, specs: readonly OptionSpec[], environment: NodeJS.ProcessEnv, config: Readonly<Record<string, unknown>>): void {
  for (const spec of specs) {
    if (parsed.values.has(spec.name)) continue
    if (spec.env !== undefined && environment[spec.env] !== undefined && environment[spec.env] !== '') {
      parsed.values.set(spec.name, convert(spec, environment[spec.env]!, spec.env))
      parsed.sources.set(spec.name, 'env')
      continue
    }
    const key = spec.configKey ?? spec.name
    if (key in config) {
      const value = config[key]
      parsed.values.set(spec.name, convert(spec, String(value), `config key "${key}"`))
      parsed.sources.set(spec.name, 'config')
      continue
    }
    if (spec.defaultValue !== undefined) {
      parsed.values.set(spec.name, spec.defaultValue)
      parsed.sources.set(spec.name, 'default')
    }
  }
}

function convert (spec: OptionSpec, raw: string, origin: string): string | number | boolean {
  switch (spec.kind) {
    case 'string':
      return raw
    case 'number': {
      const value = Number(raw)
      if (raw.trim() === '' || !Number.isFinite(value)) throw usageError(`${origin} must be a number, got "${raw}"`)
      return value
    }
    case 'boolean':
      if (raw === 'true' || raw === '1') return true
      if (raw === 'false' || raw === '0') return false
      throw usageError(`${origin} must be true or false, got "${raw}"`)
  }
}

export function usageError (message: string): SluiceError {
  return new SluiceError('SLUICE_INVALID_OPTION', message)
}

export function formatOptions (specs: readonly OptionSpec[]): string {
  const rows = specs.map((spec) => {
    const flag = `${spec.short !== undefined ? `-${spec.short}, ` : ''}--${spec.name}${spec.kind === 'boolean' ? '' : ` ${spec.valueName ?? spec.kind.toUpperCase()}`}`
    const extras: string[] = []
    if (spec.env !== undefined) extras.push(`env ${spec.env}`)
    if (spec.defaultValue !== undefined) extras.push(`default ${String(spec.defaultValue)}`)
    return [flag, spec.description + (extras.length > 0 ? ` (${extras.join(', ')})` : '')] as const
  })
  const width = Math.max(0, ...rows.map(([flag]) => flag.length))
  return rows.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`).join('\n')
}
