#!/usr/bin/env node
// Generates src/core/kafka-error-codes.ts (Kafka's protocol error names, numeric codes and
// retriability) from a checkout of Apache Kafka's client sources.
//
// Usage:
//   node scripts/gen-kafka-errors.mjs --errors <path to .../common/protocol/Errors.java> \
//     --exceptions <directory of exception sources> [--exceptions <another directory> ...] \
//     [--out src/core/kafka-error-codes.ts] [--check]
//
// In a Kafka checkout the exception directories are clients/src/main/java/org/apache/kafka/common
// (it holds InvalidRecordException and, below it, errors/). Every .java file under them is read.
//
// What is derived, and how:
// - name and code: each constant of the `Errors` enum, `NAME(code, message, builder)`, in
//   declaration order. String literals and comments are blanked first, so text inside messages
//   can never be mistaken for a constant.
// - retriable: the class the builder constructs (`Foo::new`, or `new Foo(` in older sources) is
//   retriable when its superclass chain reaches RetriableException, as Kafka's own error table
//   decides it (`exception instanceof RetriableException`). A chain that leaves the sources
//   without reaching java.lang is an error: retriability would be a guess.
//
// Guarantees on the output: codes are unique; every name in the existing output file is still
// present with the same code (Kafka never renumbers; a vanished name means the input is wrong or a
// rename needs a decision). --check compares instead of writing and exits 1 on a difference.
import { readFileSync, writeFileSync, readdirSync, statSync, existsSync } from 'node:fs'
import { join, dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/** Superclasses outside Kafka's sources at which a chain ends (not retriable). */
const javaRoots = new Set(['RuntimeException', 'Exception', 'Throwable', 'Error', 'IllegalStateException', 'IllegalArgumentException'])
const retriableRoot = 'RetriableException'

function fail (message) {
  console.error(`gen-kafka-errors: ${message}`)
  process.exit(1)
}

function parseArguments (argv) {
  const options = { errors: null, exceptions: [], out: join(root, 'src/core/kafka-error-codes.ts'), check: false }
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index]
    const value = () => {
      const next = argv[++index]
      if (next === undefined) fail(`${argument} needs a value`)
      return next
    }
    if (argument === '--errors') options.errors = resolve(value())
    else if (argument === '--exceptions') options.exceptions.push(resolve(value()))
    else if (argument === '--out') options.out = resolve(value())
    else if (argument === '--check') options.check = true
    else fail(`unknown argument ${argument}`)
  }
  if (options.errors === null) fail('--errors <Errors.java> is required')
  if (options.exceptions.length === 0) fail('at least one --exceptions <directory> is required')
  return options
}

/** Java source with comments removed and string/char literals emptied, so only code is matched. */
function codeOnly (source) {
  let output = ''
  let index = 0
  while (index < source.length) {
    const char = source[index]
    const next = source[index + 1]
    if (char === '/' && next === '/') {
      while (index < source.length && source[index] !== '\n') index++
    } else if (char === '/' && next === '*') {
      const end = source.indexOf('*/', index + 2)
      index = end === -1 ? source.length : end + 2
      output += ' '
    } else if (char === '"' || char === "'") {
      const quote = char
      index++
      while (index < source.length && source[index] !== quote) index += source[index] === '\\' ? 2 : 1
      index++
      output += quote + quote
    } else {
      output += char
      index++
    }
  }
  return output
}

/** The constants of `enum Errors`: [{ name, code, exceptionClass | null }] in declaration order. */
function parseErrors (path) {
  const code = codeOnly(readFileSync(path, 'utf8'))
  const enumStart = code.search(/\benum\s+Errors\s*\{/)
  if (enumStart === -1) fail(`${path}: no enum Errors`)
  const bodyStart = code.indexOf('{', enumStart) + 1
  // The constant list ends at the first ';' at nesting depth zero of the enum body.
  let depth = 0
  let bodyEnd = -1
  for (let index = bodyStart; index < code.length; index++) {
    const char = code[index]
    if (char === '(' || char === '{' || char === '[') depth++
    else if (char === ')' || char === '}' || char === ']') {
      if (depth === 0) { bodyEnd = index; break }
      depth--
    } else if (char === ';' && depth === 0) { bodyEnd = index; break }
  }
  if (bodyEnd === -1) fail(`${path}: cannot find the end of the Errors constants`)
  const body = code.slice(bodyStart, bodyEnd)

  // Split at top-level commas into one segment per constant.
  const segments = []
  depth = 0
  let segmentStart = 0
  for (let index = 0; index < body.length; index++) {
    const char = body[index]
    if (char === '(' || char === '{' || char === '[') depth++
    else if (char === ')' || char === '}' || char === ']') depth--
    else if (char === ',' && depth === 0) {
      segments.push(body.slice(segmentStart, index))
      segmentStart = index + 1
    }
  }
  segments.push(body.slice(segmentStart))

  const errors = []
  for (const raw of segments) {
    const segment = raw.trim()
    if (segment === '') continue
    const head = /^([A-Z][A-Z0-9_]*)\s*\(\s*(-?\d+)\s*,/.exec(segment)
    if (head === null) fail(`${path}: cannot read the constant starting ${JSON.stringify(segment.slice(0, 60))}`)
    const [, name, codeText] = head
    const reference = /(\w+)\s*::\s*new\b/.exec(segment) ?? /\bnew\s+(\w+)\s*\(/.exec(segment)
    // Only a constant that builds no exception (NONE: its builder returns null) may lack one.
    if (reference === null && !/\bnull\b/.test(segment)) fail(`${path}: ${name} names no exception class`)
    errors.push({ name, code: Number(codeText), exceptionClass: reference === null ? null : reference[1] })
  }
  return errors
}

function javaFiles (directory) {
  const files = []
  const pending = [directory]
  while (pending.length > 0) {
    const current = pending.pop()
    for (const entry of readdirSync(current)) {
      const path = join(current, entry)
      if (statSync(path).isDirectory()) pending.push(path)
      else if (entry.endsWith('.java')) files.push(path)
    }
  }
  return files
}

/** Simple class name -> simple superclass name, for every top-level class declared in the sources. */
function parseHierarchy (directories) {
  const parents = new Map()
  for (const directory of directories) {
    if (!existsSync(directory)) fail(`${directory} does not exist`)
    for (const file of javaFiles(directory)) {
      const code = codeOnly(readFileSync(file, 'utf8'))
      for (const match of code.matchAll(/\bclass\s+(\w+)(?:\s*<[^>{]*>)?\s+extends\s+([\w.]+)/g)) {
        const [, name, parent] = match
        if (!parents.has(name)) parents.set(name, parent.slice(parent.lastIndexOf('.') + 1))
      }
    }
  }
  return parents
}

function isRetriable (exceptionClass, parents) {
  const chain = [exceptionClass]
  let current = exceptionClass
  for (let step = 0; step < 64; step++) {
    if (current === retriableRoot) return true
    if (javaRoots.has(current)) return false
    const parent = parents.get(current)
    if (parent === undefined) fail(`no source declares class ${current} (chain ${chain.join(' -> ')}); add its file to --exceptions`)
    chain.push(parent)
    current = parent
  }
  fail(`superclass chain of ${exceptionClass} is longer than 64: ${chain.join(' -> ')}`)
}

/** Name -> code of the current output file, to refuse dropping or renumbering a name. */
function existingCodes (path) {
  if (!existsSync(path)) return new Map()
  const codes = new Map()
  for (const match of readFileSync(path, 'utf8').matchAll(/^\s+([A-Z][A-Z0-9_]*): \{ code: (-?\d+), retriable: (true|false) \}/gm)) {
    codes.set(match[1], Number(match[2]))
  }
  return codes
}

function render (entries) {
  const lines = [
    '/**',
    ' * Kafka\'s protocol error codes: name, number and whether Kafka\'s client treats the error as',
    ' * retriable (its exception extends RetriableException). Generated by scripts/gen-kafka-errors.mjs;',
    ' * do not edit by hand. Codes are never renumbered or reused.',
    ' */',
    'export const kafkaErrors = {'
  ]
  entries.forEach((entry, index) => {
    const separator = index === entries.length - 1 ? '' : ','
    lines.push(`  ${entry.name}: { code: ${entry.code}, retriable: ${entry.retriable} }${separator}`)
  })
  lines.push('} as const', '', 'export type KafkaErrorName = keyof typeof kafkaErrors', '')
  return lines.join('\n')
}

const options = parseArguments(process.argv.slice(2))
const errors = parseErrors(options.errors)
const parents = parseHierarchy(options.exceptions)

const byCode = new Map()
const entries = []
for (const error of errors) {
  if (byCode.has(error.code)) fail(`code ${error.code} used by both ${byCode.get(error.code)} and ${error.name}`)
  byCode.set(error.code, error.name)
  const retriable = error.exceptionClass === null ? false : isRetriable(error.exceptionClass, parents)
  entries.push({ name: error.name, code: error.code, retriable })
}

const previous = existingCodes(options.out)
const generated = new Map(entries.map((entry) => [entry.name, entry.code]))
for (const [name, code] of previous) {
  if (!generated.has(name)) fail(`${name} (code ${code}) is in ${options.out} but not in ${options.errors}`)
  if (generated.get(name) !== code) fail(`${name} was code ${code}, the input says ${generated.get(name)}`)
}

const output = render(entries)
if (options.check) {
  const current = existsSync(options.out) ? readFileSync(options.out, 'utf8') : ''
  if (current !== output) {
    console.error(`gen-kafka-errors: ${options.out} differs from what the sources generate`)
    process.exit(1)
  }
  console.log(`gen-kafka-errors: ${options.out} is up to date (${entries.length} codes)`)
} else {
  writeFileSync(options.out, output)
  console.log(`gen-kafka-errors: wrote ${entries.length} codes (${entries.filter((entry) => entry.retriable).length} retriable) to ${options.out}`)
}
