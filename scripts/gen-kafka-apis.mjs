#!/usr/bin/env node
/**
 * Generates src/kafka/apis/*.ts from Apache Kafka's message schemas
 * (clients/src/main/resources/common/message/<Name>Request.json and <Name>Response.json,
 * plus RequestHeader.json and ResponseHeader.json).
 *
 *   node scripts/gen-kafka-apis.mjs <directory of Kafka message JSON files> [output directory]
 *     [--only Name:maxVersion,...]   generate just these APIs (no headers, no index.ts)
 *     [--check]                      write nothing; exit 1 if a committed file differs
 *
 * The JSON files are Kafka's, with `//` comments; they are not part of this repository. For each
 * API in IMPLEMENTED the script keeps the versions 0..max (the range Sluice advertises), drops
 * fields that only exist in later versions, resolves `commonStructs`, and writes one TypeScript
 * module holding the decoded-object interfaces (with the schema's `about` texts as TSDoc) and
 * the field lists the codec in src/kafka/schema interprets.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

/** API name -> highest version Sluice implements. Every range starts at 0 (see the reference, 7.3). */
const IMPLEMENTED = [
  ['Produce', 9], ['Fetch', 12], ['ListOffsets', 7], ['Metadata', 12],
  ['OffsetCommit', 8], ['OffsetFetch', 8], ['FindCoordinator', 4], ['JoinGroup', 6],
  ['Heartbeat', 4], ['LeaveGroup', 4], ['SyncGroup', 4], ['DescribeGroups', 5],
  ['ListGroups', 5], ['SaslHandshake', 1], ['ApiVersions', 3], ['CreateTopics', 7],
  ['DeleteTopics', 6], ['DeleteRecords', 2], ['InitProducerId', 4], ['AddPartitionsToTxn', 3],
  ['AddOffsetsToTxn', 3], ['EndTxn', 3], ['TxnOffsetCommit', 3], ['SaslAuthenticate', 2],
  ['DeleteGroups', 2], ['DescribeConfigs', 4], ['AlterConfigs', 2], ['CreatePartitions', 3],
  ['IncrementalAlterConfigs', 1]
]

const VERSION_MAX = 0x7fff
const PRIMITIVES = new Set(['int8', 'int16', 'uint16', 'int32', 'int64', 'float64', 'bool', 'uuid', 'string', 'bytes', 'records'])

/** Removes `//` line comments outside string literals (Kafka's JSON files carry them). */
export function stripComments (text) {
  let out = ''
  let inString = false
  for (let index = 0; index < text.length; index++) {
    const char = text[index]
    if (inString) {
      out += char
      if (char === '\\') { out += text[++index]; continue }
      if (char === '"') inString = false
      continue
    }
    if (char === '"') { inString = true; out += char; continue }
    if (char === '/' && text[index + 1] === '/') {
      while (index < text.length && text[index] !== '\n') index++
      out += '\n'
      continue
    }
    out += char
  }
  return out
}

/** "3+" -> [3, MAX], "2-4" -> [2, 4], "5" -> [5, 5], "none" -> null. */
export function parseVersions (text) {
  if (text === undefined) return undefined
  const value = String(text).trim()
  if (value === 'none') return null
  if (value.endsWith('+')) return [Number(value.slice(0, -1)), VERSION_MAX]
  const dash = value.indexOf('-')
  if (dash > 0) return [Number(value.slice(0, dash)), Number(value.slice(dash + 1))]
  return [Number(value), Number(value)]
}

function camel (name) {
  return name[0].toLowerCase() + name.slice(1)
}

function kebab (name) {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()
}

function loadJson (directory, file) {
  const text = readFileSync(join(directory, file), 'utf8')
  return JSON.parse(stripComments(text))
}

function parseDefault (type, raw) {
  if (raw === undefined) return undefined
  if (type.startsWith('[]')) {
    if (raw === 'null') return null
    throw new Error(`unsupported array default ${raw}`)
  }
  switch (type) {
    case 'bool': return raw === true || raw === 'true'
    case 'string': return raw === 'null' ? null : String(raw)
    case 'int8': case 'int16': case 'uint16': case 'int32': case 'int64': case 'float64':
      return typeof raw === 'number' ? raw : Number(raw)
    default:
      if (raw === 'null') return null
      throw new Error(`unsupported default ${JSON.stringify(raw)} for ${type}`)
  }
}

function firstSentence (about) {
  if (about === undefined) return ''
  const text = about.replace(/\s+/g, ' ').trim()
  const match = /^(.+?[.!?])(\s|$)/.exec(text)
  const sentence = match === null ? text : match[1]
  return /[.!?]$/.test(sentence) ? sentence : `${sentence}.`
}

function rangeText (range) {
  if (range[1] === VERSION_MAX) return `${range[0]}+`
  return range[0] === range[1] ? `${range[0]}` : `${range[0]}-${range[1]}`
}

/**
 * Converts one JSON field list. Returns fields usable by the codec plus the struct types met
 * (for interfaces). `versionMax` clamps: fields that start above it are dropped.
 */
function convertFields (jsonFields, context) {
  const out = []
  for (const json of jsonFields) {
    const versions = parseVersions(json.versions)
    if (versions === undefined) throw new Error(`${context.message}.${json.name}: no versions`)
    if (versions === null || versions[0] > context.versionMax) continue
    const isArray = json.type.startsWith('[]')
    const baseType = isArray ? json.type.slice(2) : json.type
    const field = {
      name: camel(json.name),
      jsonName: json.name,
      type: PRIMITIVES.has(baseType) ? baseType : 'struct',
      array: isArray,
      versions,
      nullable: parseVersions(json.nullableVersions),
      tag: json.tag,
      taggedVersions: parseVersions(json.taggedVersions),
      flexibleVersions: parseVersions(json.flexibleVersions),
      default: parseDefault(json.type, json.default),
      about: json.about,
      structName: undefined,
      fields: undefined
    }
    if (field.type === 'struct' && !isArray && field.nullable !== undefined && field.nullable !== null) {
      // Kafka allows nullable structs in a few newer schemas; the codec does not implement them yet.
      throw new Error(`${context.message}.${json.name}: nullable structs are not supported`)
    }
    if (field.type === 'struct') {
      let structFields = json.fields
      if (structFields === undefined) {
        const common = context.commonStructs.get(baseType)
        if (common === undefined) throw new Error(`${context.message}.${json.name}: unknown struct ${baseType}`)
        structFields = common.fields
      }
      field.structName = baseType
      field.fields = convertFields(structFields, context)
    }
    out.push(field)
  }
  return out
}

function literalRange (range) {
  return `[${range[0]}, ${range[1]}]`
}

function fieldLiteral (field, indent) {
  const parts = [`name: '${field.name}'`, `type: '${field.type}'`]
  if (field.array) parts.push('array: true')
  parts.push(`versions: ${literalRange(field.versions)}`)
  if (field.nullable) parts.push(`nullable: ${literalRange(field.nullable)}`)
  if (field.tag !== undefined) parts.push(`tag: ${field.tag}`)
  if (field.taggedVersions) parts.push(`taggedVersions: ${literalRange(field.taggedVersions)}`)
  if (field.flexibleVersions !== undefined) {
    parts.push(`flexibleVersions: ${field.flexibleVersions === null ? 'null' : literalRange(field.flexibleVersions)}`)
  }
  if (field.default !== undefined) parts.push(`default: ${JSON.stringify(field.default)}`)
  if (field.fields !== undefined) {
    return `${indent}{ ${parts.join(', ')}, fields: [\n${fieldsLiteral(field.fields, indent + '  ')}\n${indent}] }`
  }
  return `${indent}{ ${parts.join(', ')} }`
}

function fieldsLiteral (fields, indent) {
  return fields.map((field) => fieldLiteral(field, indent)).join(',\n')
}

function tsType (field, names) {
  let base
  switch (field.type) {
    case 'int8': case 'int16': case 'uint16': case 'int32': case 'int64': case 'float64': base = 'number'; break
    case 'bool': base = 'boolean'; break
    case 'uuid': case 'string': base = 'string'; break
    case 'bytes': case 'records': base = 'Buffer'; break
    case 'struct': base = names.get(field); break
  }
  const nullable = field.nullable !== undefined && field.nullable !== null
  if (field.array) return nullable ? `${base}[] | null` : `${base}[]`
  // Records default to null in Kafka's classes, so the decoded value may be null in any version.
  return nullable || field.type === 'records' ? `${base} | null` : base
}

function fieldDoc (field) {
  const notes = [`Versions ${rangeText(field.versions)}`]
  if (field.nullable) notes.push(`nullable ${rangeText(field.nullable)}`)
  if (field.taggedVersions) notes.push(`tagged (tag ${field.tag}) ${rangeText(field.taggedVersions)}`)
  if (field.default !== undefined) notes.push(`default ${JSON.stringify(field.default)}`)
  if (field.type === 'int64') notes.push('int64 as a safe integer')
  if (field.type === 'bytes' || field.type === 'records') notes.push('a view of the frame when decoded')
  const sentence = firstSentence(field.about)
  return `${sentence}${sentence === '' ? '' : ' '}${notes.join('; ')}.`
}

/** Assigns interface names to struct fields, prefixing when two different structs share a name. */
function nameStructs (messageName, fields, names, taken) {
  for (const field of fields) {
    if (field.type !== 'struct') continue
    const signature = JSON.stringify(field.fields, (key, value) => key === 'about' ? undefined : value)
    let name = field.structName
    const existing = taken.get(name)
    if (existing !== undefined && existing !== signature) {
      name = `${messageName}${field.structName}`
    }
    taken.set(name, signature)
    names.set(field, name)
    nameStructs(messageName, field.fields, names, taken)
  }
}

function interfaces (rootName, fields, names, emitted, lines) {
  lines.push(`export interface ${rootName} {`)
  for (const field of fields) {
    lines.push(`  /** ${fieldDoc(field)} */`)
    lines.push(`  ${field.name}: ${tsType(field, names)}`)
  }
  lines.push('}', '')
  for (const field of fields) {
    if (field.type !== 'struct') continue
    const name = names.get(field)
    if (emitted.has(name)) continue
    emitted.add(name)
    interfaces(name, field.fields, names, emitted, lines)
  }
}

function generateApi (directory, apiName, versionMax) {
  const request = loadJson(directory, `${apiName}Request.json`)
  const response = loadJson(directory, `${apiName}Response.json`)
  if (request.apiKey !== response.apiKey) throw new Error(`${apiName}: request and response api keys differ`)
  for (const message of [request, response]) {
    const valid = parseVersions(message.validVersions)
    if (valid[0] !== 0 || valid[1] < versionMax) {
      throw new Error(`${message.name}: schema covers versions ${message.validVersions}, need 0-${versionMax}`)
    }
  }
  const requestFlexible = parseVersions(request.flexibleVersions ?? 'none')
  const responseFlexible = parseVersions(response.flexibleVersions ?? 'none')
  if (JSON.stringify(requestFlexible) !== JSON.stringify(responseFlexible)) {
    throw new Error(`${apiName}: request and response flexible versions differ`)
  }
  const flexible = requestFlexible !== null && requestFlexible[0] <= versionMax ? requestFlexible : null

  const convert = (message) => convertFields(message.fields, {
    message: message.name,
    versionMax,
    commonStructs: new Map((message.commonStructs ?? []).map((struct) => [struct.name, struct]))
  })
  const requestFields = convert(request)
  const responseFields = convert(response)

  const names = new Map()
  const taken = new Map()
  nameStructs(`${apiName}Request`, requestFields, names, taken)
  nameStructs(`${apiName}Response`, responseFields, names, taken)

  const constName = `${camel(apiName)}Api`
  const lines = [
    '/**',
    ` * ${apiName} (API key ${request.apiKey}): versions 0-${versionMax}` +
      (flexible === null ? ', never flexible.' : `, flexible from version ${flexible[0]}.`),
    ' *',
    ` * Generated by scripts/gen-kafka-apis.mjs from Apache Kafka's ${apiName}Request.json and`,
    ` * ${apiName}Response.json. Do not edit by hand: change the generator and run it again.`,
    ' */',
    "import type { ApiSchema } from '../schema/types.js'",
    ''
  ]
  const emitted = new Set()
  interfaces(`${apiName}Request`, requestFields, names, emitted, lines)
  interfaces(`${apiName}Response`, responseFields, names, emitted, lines)
  lines.push(
    `export const ${constName}: ApiSchema<${apiName}Request, ${apiName}Response> = {`,
    `  apiKey: ${request.apiKey},`,
    `  name: '${apiName}',`,
    `  validVersions: [0, ${versionMax}],`,
    `  flexibleVersions: ${flexible === null ? 'null' : literalRange(flexible)},`,
    '  request: [',
    fieldsLiteral(requestFields, '    '),
    '  ],',
    '  response: [',
    fieldsLiteral(responseFields, '    '),
    '  ]',
    '}',
    ''
  )
  return { file: `${kebab(apiName)}.ts`, constName, apiName, apiKey: request.apiKey, text: lines.join('\n') }
}

function generateHeader (directory, name, constName) {
  const json = loadJson(directory, `${name}.json`)
  const valid = parseVersions(json.validVersions)
  const fields = convertFields(json.fields, { message: name, versionMax: valid[1], commonStructs: new Map() })
  const lines = [
    '/**',
    ` * Kafka's ${name}, versions ${json.validVersions}` +
      (json.flexibleVersions ? `, flexible from ${json.flexibleVersions}` : '') + '.',
    ' *',
    ` * Generated by scripts/gen-kafka-apis.mjs from Apache Kafka's ${name}.json. Do not edit by hand.`,
    ' */',
    "import type { MessageSchema } from '../schema/types.js'",
    ''
  ]
  interfaces(name, fields, new Map(), new Set(), lines)
  const flexible = parseVersions(json.flexibleVersions ?? 'none')
  lines.push(
    `export const ${constName}: MessageSchema = {`,
    `  name: '${name}',`,
    `  validVersions: ${literalRange(valid)},`,
    `  flexibleVersions: ${flexible === null ? 'null' : literalRange(flexible)},`,
    '  fields: [',
    fieldsLiteral(fields, '    '),
    '  ]',
    '}',
    ''
  )
  return { file: `${kebab(name)}.ts`, text: lines.join('\n') }
}

function parseArguments (argv) {
  const positional = []
  let only
  let check = false
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index]
    if (argument === '--check') check = true
    else if (argument === '--only') {
      only = argv[++index].split(',').map((entry) => {
        const [name, max] = entry.split(':')
        return [name, Number(max)]
      })
    } else positional.push(argument)
  }
  return { directory: positional[0], out: positional[1], only, check }
}

function main () {
  const { directory, out: outArgument, only, check } = parseArguments(process.argv.slice(2))
  if (directory === undefined) {
    console.error('usage: node scripts/gen-kafka-apis.mjs <kafka message json directory> [output directory] [--only Name:max,...] [--check]')
    process.exit(2)
  }
  const here = dirname(fileURLToPath(import.meta.url))
  const out = outArgument ?? join(here, '..', 'src', 'kafka', 'apis')

  const files = []
  const generated = (only ?? IMPLEMENTED).map(([name, max]) => generateApi(directory, name, max))
  for (const api of generated) files.push(api)
  if (only === undefined) {
    files.push(generateHeader(directory, 'RequestHeader', 'requestHeaderSchema'))
    files.push(generateHeader(directory, 'ResponseHeader', 'responseHeaderSchema'))
    files.push({ file: 'index.ts', text: generateIndex(generated) })
  }

  if (check) {
    const stale = files.filter((file) => {
      try { return readFileSync(join(out, file.file), 'utf8') !== file.text } catch { return true }
    })
    for (const file of stale) console.error(`stale: ${join(out, file.file)}`)
    if (stale.length > 0) process.exit(1)
    console.log(`${files.length} files in ${out} match the schemas`)
    return
  }
  mkdirSync(out, { recursive: true })
  for (const file of files) writeFileSync(join(out, file.file), file.text)
  console.log(`wrote ${files.length} files to ${out}`)
}

function generateIndex (generated) {
  const sorted = [...generated].sort((a, b) => a.apiKey - b.apiKey)
  const module = (api) => `./${api.file.replace(/\.ts$/, '.js')}`
  return [
    '/**',
    ' * Every API Sluice implements, by API key. Generated by scripts/gen-kafka-apis.mjs; do not edit.',
    ' */',
    "import type { ApiSchema } from '../schema/types.js'",
    ...sorted.map((api) => `import { ${api.constName} } from '${module(api)}'`),
    '',
    ...sorted.map((api) => `export { ${api.constName}, type ${api.apiName}Request, type ${api.apiName}Response } from '${module(api)}'`),
    '',
    '/** The implemented APIs in ascending API key order. */',
    'export const apiSchemas: ReadonlyArray<ApiSchema<any, any>> = [',
    sorted.map((api) => `  ${api.constName}`).join(',\n'),
    ']',
    '',
    '/** Kafka API keys by name, for the implemented APIs. */',
    'export const ApiKey = Object.freeze({',
    sorted.map((api) => `  ${api.apiName}: ${api.apiKey}`).join(',\n'),
    '} as const)',
    ''
  ].join('\n')
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) main()
