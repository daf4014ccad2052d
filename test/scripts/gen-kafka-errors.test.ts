import { execFileSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'

// Synthetic Java sources in the shapes the generator must read (enum constants with method
// references or `new` expressions, messages full of commas and parentheses, comments), so the
// parser is tested without shipping any of Kafka's own text.
const script = fileURLToPath(new URL('../../scripts/gen-kafka-errors.mjs', import.meta.url))

const directories: string[] = []
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true })
})

interface Run { status: number, stdout: string, stderr: string }

function workspace (errorsJava: string, classes: Record<string, string>): { errors: string, exceptions: string, out: string } {
  const root = mkdtempSync(join(tmpdir(), 'gen-kafka-errors-'))
  directories.push(root)
  const exceptions = join(root, 'exceptions')
  mkdirSync(join(exceptions, 'nested'), { recursive: true })
  for (const [name, parent] of Object.entries(classes)) {
    const file = join(exceptions, name.startsWith('Nested') ? 'nested' : '', `${name}.java`)
    writeFileSync(file, `package demo;\n/** extends NotThis */\npublic class ${name} extends ${parent} {\n  // class Decoy extends RetriableException\n}\n`)
  }
  const errors = join(root, 'Errors.java')
  writeFileSync(errors, errorsJava)
  return { errors, exceptions, out: join(root, 'codes.ts') }
}

function run (args: string[]): Run {
  try {
    const stdout = execFileSync(process.execPath, [script, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    return { status: 0, stdout, stderr: '' }
  } catch (error) {
    const failure = error as { status: number, stdout: string, stderr: string }
    return { status: failure.status, stdout: failure.stdout, stderr: failure.stderr }
  }
}

const modernEnum = `package demo;
public enum Errors {
    // FAKE_CONSTANT(99, "commented out", Nope::new),
    UNKNOWN_SERVER_ERROR(-1, "Unexpected (server) error, sorry.", UnknownServerException::new),
    NONE(0, null, message -> null),
    FLAKY(1, "Tricky text: OTHER(7, \\"quoted\\", X::new), with commas, (parens)" +
            " and a second line.",
            FlakyException::new),
    SOLID(2, "Not retriable.", SolidException::new),
    DEEP(3, "Retriable through two parents.", NestedDeepException::new);

    private final short code;
    Errors(int code, String message, java.util.function.Function<String, Exception> builder) {
        this.code = (short) code;
    }
}
`

const hierarchy = {
  KafkaException: 'RuntimeException',
  ApiException: 'KafkaException',
  RetriableException: 'ApiException',
  MetadataLikeException: 'RetriableException',
  UnknownServerException: 'ApiException',
  FlakyException: 'RetriableException',
  SolidException: 'ApiException',
  NestedDeepException: 'MetadataLikeException'
}

describe('scripts/gen-kafka-errors.mjs', () => {
  it('reads names, codes and retriability, ignoring text inside strings and comments', () => {
    const paths = workspace(modernEnum, hierarchy)
    const result = run(['--errors', paths.errors, '--exceptions', paths.exceptions, '--out', paths.out])
    expect(result.stderr).toBe('')
    expect(result.status).toBe(0)
    const output = readFileSync(paths.out, 'utf8')
    expect(output).toContain('  UNKNOWN_SERVER_ERROR: { code: -1, retriable: false },\n')
    expect(output).toContain('  NONE: { code: 0, retriable: false },\n')
    expect(output).toContain('  FLAKY: { code: 1, retriable: true },\n')
    expect(output).toContain('  SOLID: { code: 2, retriable: false },\n')
    expect(output).toContain('  DEEP: { code: 3, retriable: true }\n} as const')
    expect(output).not.toContain('OTHER')
    expect(output).not.toContain('FAKE_CONSTANT')
    expect(output).toContain('export type KafkaErrorName = keyof typeof kafkaErrors')
  })

  it('reads the older `new Exception("...")` constant form', () => {
    const older = `public enum Errors {
    UNKNOWN(-1, new UnknownServerException("The server (really) failed, badly.")),
    NONE(0, null),
    FLAKY(1,
            new FlakyException("Try again."));
    private final short code;
}`
    const paths = workspace(older, hierarchy)
    const result = run(['--errors', paths.errors, '--exceptions', paths.exceptions, '--out', paths.out])
    expect(result.status).toBe(0)
    const output = readFileSync(paths.out, 'utf8')
    expect(output).toContain('UNKNOWN: { code: -1, retriable: false }')
    expect(output).toContain('FLAKY: { code: 1, retriable: true }')
  })

  it('fails when a superclass chain leaves the given sources', () => {
    const { NestedDeepException: _, ...partial } = hierarchy
    const paths = workspace(modernEnum, { ...partial, NestedDeepException: 'MissingParentException' })
    const result = run(['--errors', paths.errors, '--exceptions', paths.exceptions, '--out', paths.out])
    expect(result.status).toBe(1)
    expect(result.stderr).toContain('MissingParentException')
  })

  it('refuses to drop or renumber a name already in the output file', () => {
    const paths = workspace(modernEnum, hierarchy)
    writeFileSync(paths.out, 'export const kafkaErrors = {\n  RETIRED: { code: 9, retriable: false }\n} as const\n')
    const dropped = run(['--errors', paths.errors, '--exceptions', paths.exceptions, '--out', paths.out])
    expect(dropped.status).toBe(1)
    expect(dropped.stderr).toContain('RETIRED')

    writeFileSync(paths.out, 'export const kafkaErrors = {\n  SOLID: { code: 20, retriable: false }\n} as const\n')
    const renumbered = run(['--errors', paths.errors, '--exceptions', paths.exceptions, '--out', paths.out])
    expect(renumbered.status).toBe(1)
    expect(renumbered.stderr).toContain('SOLID was code 20')
  })

  it('rejects a code used twice', () => {
    const paths = workspace(modernEnum.replace('SOLID(2,', 'SOLID(1,'), hierarchy)
    const result = run(['--errors', paths.errors, '--exceptions', paths.exceptions, '--out', paths.out])
    expect(result.status).toBe(1)
    expect(result.stderr).toContain('code 1 used by both FLAKY and SOLID')
  })

  it('--check passes on a fresh output and fails on a stale one', () => {
    const paths = workspace(modernEnum, hierarchy)
    const args = ['--errors', paths.errors, '--exceptions', paths.exceptions, '--out', paths.out]
    expect(run(args).status).toBe(0)
    expect(run([...args, '--check']).status).toBe(0)
    writeFileSync(paths.out, readFileSync(paths.out, 'utf8').replace('SOLID: { code: 2, retriable: false }', 'SOLID: { code: 2, retriable: true }'))
    expect(run([...args, '--check']).status).toBe(1)
  })

  it('the committed table is what the generator writes for it (format round trip)', () => {
    const committed = readFileSync(fileURLToPath(new URL('../../src/core/kafka-error-codes.ts', import.meta.url)), 'utf8')
    const entries = [...committed.matchAll(/^ {2}([A-Z][A-Z0-9_]*): \{ code: (-?\d+), retriable: (true|false) \}/gm)]
    expect(entries.length).toBeGreaterThan(100)
    // Rebuild synthetic sources from the committed table and regenerate: the output must match byte for byte.
    const classes: Record<string, string> = { KafkaException: 'RuntimeException', ApiException: 'KafkaException', RetriableException: 'ApiException' }
    const constants = entries.map(([, name, code, retriable]) => {
      const className = `${name!.split('_').map((part) => part[0] + part.slice(1).toLowerCase()).join('')}Exception`
      classes[className] = retriable === 'true' ? 'RetriableException' : 'ApiException'
      return `    ${name}(${code}, "text", ${className}::new)`
    })
    const paths = workspace(`public enum Errors {\n${constants.join(',\n')};\n}\n`, classes)
    writeFileSync(paths.out, committed)
    const result = run(['--errors', paths.errors, '--exceptions', paths.exceptions, '--out', paths.out, '--check'])
    expect(result.stderr).toBe('')
    expect(result.status).toBe(0)
  })
})
