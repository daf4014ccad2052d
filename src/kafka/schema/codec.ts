/**
 * Schema-driven encoder/decoder: turns a field list (`types.ts`) and a version into a reader and
 * a writer, once, and caches them. Per-field readers and writers are closures; each struct's
 * reader/writer is generated as one straight-line function over them (an object literal in
 * field order, so decoded objects are born with their final shape), with a closure interpreter
 * as the fallback where code generation is disabled. After the first use of a version nothing
 * checks versions any more.
 *
 * Rules (as in Kafka's generated message classes and KIP-482):
 * - A field exists in a version iff `versions` contains it; fields of other versions are
 *   neither read nor written, and decoded objects get their default so every decoded object
 *   has every property (one shape per message, whatever the version).
 * - In flexible versions strings, bytes, records and arrays use the compact encodings, and
 *   every struct (and the message itself) ends with a TAG_BUFFER. Fields tagged in a version are
 *   read from that buffer; unknown tags are skipped; known tags are written in ascending order
 *   and only when their value differs from the default.
 * - Encoders accept partial objects: a missing (undefined) value takes its default. Values of
 *   fields that do not exist in the version being written are ignored (Kafka's generated
 *   classes throw for non-ignorable ones; handlers here fill one object for every version).
 * - Reads are bounded by `Reader`; arrays are length-checked against the bytes left before any
 *   element is read, using the smallest encoded size of an element.
 */
import { assert } from '../../core/assert.js'
import { SluiceError } from '../../core/errors.js'
import { Reader, ZERO_UUID } from '../protocol/reader.js'
import { Writer } from '../protocol/writer.js'
import { inRange, type FieldSchema, type PrimitiveType } from './types.js'

/** Encoder/decoder of one value type in one version. */
export interface ValueCodec {
  read: (reader: Reader) => unknown
  write: (writer: Writer, value: unknown) => void
  /** A fresh default value (arrays and structs are new objects each call). */
  defaultValue: () => unknown
  isDefault: (value: unknown) => boolean
  /** Fewest bytes one encoded value can take; bounds array counts before allocation. */
  bytesMin: number
}

export interface StructCodec extends Omit<ValueCodec, 'read'> {
  read: (reader: Reader) => Record<string, unknown>
}

const EMPTY = Buffer.alloc(0)

function parsedDefault (field: FieldSchema): unknown {
  return field.default
}

function zeroOf (type: PrimitiveType): unknown {
  switch (type) {
    case 'int8': case 'int16': case 'uint16': case 'int32': case 'int64': case 'float64':
      return 0
    case 'bool':
      return false
    case 'uuid':
      return ZERO_UUID
    case 'string':
      return ''
    case 'bytes':
      return EMPTY
    case 'records':
      return null
  }
}

function nullError (name: string): never {
  assert(false, `field ${name} is not nullable in this version but the value is null`)
}

function primitiveCodec (field: FieldSchema, type: PrimitiveType, compact: boolean, nullable: boolean): ValueCodec {
  const explicit = parsedDefault(field)
  const fallback = explicit === undefined ? zeroOf(type) : explicit
  const name = field.name
  let read: (reader: Reader) => unknown
  let write: (writer: Writer, value: unknown) => void
  let bytesMin: number
  switch (type) {
    case 'int8':
      read = (r) => r.readInt8()
      write = (w, v) => { w.writeInt8((v ?? fallback) as number) }
      bytesMin = 1
      break
    case 'bool':
      read = (r) => r.readBoolean()
      write = (w, v) => { w.writeBoolean((v ?? fallback) as boolean) }
      bytesMin = 1
      break
    case 'int16':
      read = (r) => r.readInt16()
      write = (w, v) => { w.writeInt16((v ?? fallback) as number) }
      bytesMin = 2
      break
    case 'uint16':
      read = (r) => r.readUInt16()
      write = (w, v) => { w.writeUInt16((v ?? fallback) as number) }
      bytesMin = 2
      break
    case 'int32':
      read = (r) => r.readInt32()
      write = (w, v) => { w.writeInt32((v ?? fallback) as number) }
      bytesMin = 4
      break
    case 'int64':
      read = (r) => r.readInt64()
      write = (w, v) => { w.writeInt64((v ?? fallback) as number) }
      bytesMin = 8
      break
    case 'float64':
      read = (r) => r.readFloat64()
      write = (w, v) => { w.writeFloat64((v ?? fallback) as number) }
      bytesMin = 8
      break
    case 'uuid':
      read = (r) => r.readUuid()
      write = (w, v) => { w.writeUuid((v ?? fallback) as string) }
      bytesMin = 16
      break
    case 'string':
      bytesMin = compact ? 1 : 2
      if (compact) {
        read = nullable ? (r) => r.readCompactNullableString() : (r) => r.readCompactString()
        write = nullable
          ? (w, v) => { w.writeCompactNullableString(v === undefined ? fallback as string | null : v as string | null) }
          : (w, v) => {
              const value = v === undefined ? fallback : v
              if (value === null) nullError(name)
              w.writeCompactString(value as string)
            }
      } else {
        read = nullable ? (r) => r.readNullableString() : (r) => r.readString()
        write = nullable
          ? (w, v) => { w.writeNullableString(v === undefined ? fallback as string | null : v as string | null) }
          : (w, v) => {
              const value = v === undefined ? fallback : v
              if (value === null) nullError(name)
              w.writeString(value as string)
            }
      }
      break
    case 'bytes':
    case 'records': {
      bytesMin = compact ? 1 : 4
      if (compact) {
        read = nullable ? (r) => r.readCompactNullableBytes() : (r) => r.readCompactBytes()
        write = nullable
          ? (w, v) => { w.writeCompactNullableBytes(v === undefined ? fallback as Buffer | null : v as Buffer | null) }
          : (w, v) => {
              const value = v === undefined ? fallback : v
              if (value === null) nullError(name)
              w.writeCompactBytes(value as Buffer)
            }
      } else {
        read = nullable ? (r) => r.readNullableBytes() : (r) => r.readBytes()
        write = nullable
          ? (w, v) => { w.writeNullableBytes(v === undefined ? fallback as Buffer | null : v as Buffer | null) }
          : (w, v) => {
              const value = v === undefined ? fallback : v
              if (value === null) nullError(name)
              w.writeBytes(value as Buffer)
            }
      }
      break
    }
  }
  const isBytes = type === 'bytes' || type === 'records'
  return {
    read,
    write,
    bytesMin,
    defaultValue: () => fallback,
    isDefault: isBytes
      ? (v) => v === undefined || v === fallback || (v !== null && fallback !== null && (v as Buffer).byteLength === 0 && (fallback as Buffer).byteLength === 0)
      : (v) => v === undefined || v === fallback
  }
}

function arrayCodec (field: FieldSchema, element: ValueCodec, compact: boolean, nullable: boolean): ValueCodec {
  const name = field.name
  // Kafka's only array defaults are "null" (nullable arrays); everything else starts empty.
  const defaultIsNull = field.default === null
  const elementBytesMin = element.bytesMin
  const readElement = element.read
  const writeElement = element.write
  return {
    read: (r) => {
      const count = r.readArrayLength(compact, nullable, elementBytesMin)
      if (count === -1) return null
      const values = new Array<unknown>(count)
      for (let index = 0; index < count; index++) values[index] = readElement(r)
      return values
    },
    write: (w, v) => {
      const values = v === undefined ? (defaultIsNull ? null : []) : v as unknown[] | null
      if (values === null) {
        if (!nullable) nullError(name)
        w.writeArrayLength(-1, compact)
        return
      }
      w.writeArrayLength(values.length, compact)
      for (let index = 0; index < values.length; index++) writeElement(w, values[index])
    },
    bytesMin: compact ? 1 : 4,
    defaultValue: () => defaultIsNull ? null : [],
    isDefault: (v) => v === undefined || (defaultIsNull ? v === null : (v !== null && (v as unknown[]).length === 0))
  }
}

interface FieldEntry {
  name: string
  codec: ValueCodec
  /** 0: absent in this version, 1: regular, 2: tagged. */
  kind: 0 | 1 | 2
  tag: number
}

function valueCodec (field: FieldSchema, version: number, flexible: boolean): ValueCodec {
  const compact = field.flexibleVersions === undefined ? flexible : inRange(field.flexibleVersions, version)
  const nullable = inRange(field.nullable, version)
  if (field.array === true) {
    const element = field.type === 'struct'
      ? structCodec(field.fields ?? [], version, flexible)
      : primitiveCodec({ name: field.name, type: field.type, versions: field.versions }, field.type, compact, false)
    return arrayCodec(field, element, compact, nullable)
  }
  if (field.type === 'struct') return structCodec(field.fields ?? [], version, flexible)
  return primitiveCodec(field, field.type, compact, nullable)
}

const structCache = new WeakMap<readonly FieldSchema[], Map<number, StructCodec>>()

/**
 * The codec of a struct (or a whole message body) in `version`. `flexible` is whether the
 * message's flexible versions include `version`. Cached per field list and version.
 */
export function structCodec (fields: readonly FieldSchema[], version: number, flexible: boolean): StructCodec {
  let byVersion = structCache.get(fields)
  if (byVersion === undefined) {
    byVersion = new Map()
    structCache.set(fields, byVersion)
  }
  const key = flexible ? version + 0x10000 : version
  let codec = byVersion.get(key)
  if (codec === undefined) {
    codec = buildStructCodec(fields, version, flexible)
    byVersion.set(key, codec)
  }
  return codec
}

function buildStructCodec (fields: readonly FieldSchema[], version: number, flexible: boolean): StructCodec {
  const entries: FieldEntry[] = fields.map((field) => {
    const present = inRange(field.versions, version)
    const tagged = present && flexible && field.tag !== undefined && inRange(field.taggedVersions, version)
    return {
      name: field.name,
      codec: valueCodec(field, version, flexible),
      kind: !present ? 0 : tagged ? 2 : 1,
      tag: field.tag ?? -1
    }
  })
  const regular = entries.filter((entry) => entry.kind === 1)
  const tagged = entries.filter((entry) => entry.kind === 2).sort((a, b) => a.tag - b.tag)
  const byTag = new Map<number, FieldEntry>(tagged.map((entry) => [entry.tag, entry]))
  const entryCount = entries.length

  let bytesMin = flexible ? 1 : 0
  for (const entry of regular) bytesMin += entry.codec.bytesMin

  const readTags = !flexible
    ? null
    : byTag.size === 0
      ? (r: Reader): void => { r.readTaggedFields(null) }
      : (r: Reader, value: Record<string, unknown>): void => {
          r.readTaggedFields((tag, field) => {
            const entry = byTag.get(tag)
            if (entry === undefined) return false
            value[entry.name] = entry.codec.read(field)
            return true
          })
        }

  const read = compileRead(entries, readTags) ?? ((r: Reader): Record<string, unknown> => {
    const value: Record<string, unknown> = {}
    for (let index = 0; index < entryCount; index++) {
      const entry = entries[index]!
      value[entry.name] = entry.kind === 1 ? entry.codec.read(r) : entry.codec.defaultValue()
    }
    if (readTags !== null) readTags(r, value)
    return value
  })

  const writeTags = !flexible
    ? null
    : (w: Writer, value: Record<string, unknown>): void => {
        let count = 0
        for (const entry of tagged) if (!entry.codec.isDefault(value[entry.name])) count++
        w.writeUVarint(count)
        if (count === 0) return
        for (const entry of tagged) {
          const fieldValue = value[entry.name]
          if (entry.codec.isDefault(fieldValue)) continue
          const body = new Writer({ chunkBytes: 64 })
          entry.codec.write(body, fieldValue)
          w.writeUVarint(entry.tag)
          w.writeUVarint(body.length)
          w.writeWriter(body)
        }
      }

  const write = compileWrite(regular, writeTags) ?? ((w: Writer, input: unknown): void => {
    const value = (input ?? NO_VALUES) as Record<string, unknown>
    for (let index = 0; index < regular.length; index++) {
      const entry = regular[index]!
      entry.codec.write(w, value[entry.name])
    }
    if (writeTags !== null) writeTags(w, value)
  })

  const defaultValue = (): Record<string, unknown> => {
    const value: Record<string, unknown> = {}
    for (const entry of entries) value[entry.name] = entry.codec.defaultValue()
    return value
  }

  const isDefault = (input: unknown): boolean => {
    if (input === undefined) return true
    if (input === null) return false
    const value = input as Record<string, unknown>
    for (const entry of entries) {
      if (entry.kind !== 0 && !entry.codec.isDefault(value[entry.name])) return false
    }
    return true
  }

  return { read, write, defaultValue, isDefault, bytesMin }
}

const NO_VALUES: Record<string, unknown> = Object.freeze({})

/**
 * Generates the struct reader as one function whose object literal lists every field in schema
 * order, so each decoded object is created with its final shape in one step (V8 then keeps it a
 * fast-properties object) and regular fields are read in wire order as the literal is evaluated.
 * Field names come from the generated schemas and are quoted with JSON.stringify. Returns
 * undefined where code generation is disabled (`--disallow-code-generation-from-strings`).
 */
function compileRead (entries: readonly FieldEntry[], readTags: ((r: Reader, value: Record<string, unknown>) => void) | null): ((r: Reader) => Record<string, unknown>) | undefined {
  const parameters = entries.map((_, index) => `f${index}`)
  const functions = entries.map((entry) => entry.kind === 1 ? entry.codec.read : entry.codec.defaultValue)
  const properties = entries.map((entry, index) => `${JSON.stringify(entry.name)}: f${index}(${entry.kind === 1 ? 'r' : ''})`)
  const source = `return function read (r) { const value = { ${properties.join(', ')} }; ${readTags === null ? '' : 'tags(r, value); '}return value }`
  try {
    // eslint-disable-next-line no-new-func, @typescript-eslint/no-implied-eval
    return new Function(...parameters, 'tags', source)(...functions, readTags) as (r: Reader) => Record<string, unknown>
  } catch {
    return undefined
  }
}

/** The writing counterpart of `compileRead`: one straight-line call per regular field. */
function compileWrite (regular: readonly FieldEntry[], writeTags: ((w: Writer, value: Record<string, unknown>) => void) | null): ((w: Writer, input: unknown) => void) | undefined {
  const parameters = regular.map((_, index) => `f${index}`)
  const functions = regular.map((entry) => entry.codec.write)
  const calls = regular.map((entry, index) => `f${index}(w, value[${JSON.stringify(entry.name)}]); `)
  const source = `return function write (w, input) { const value = input ?? none; ${calls.join('')}${writeTags === null ? '' : 'tags(w, value); '}}`
  try {
    // eslint-disable-next-line no-new-func, @typescript-eslint/no-implied-eval
    return new Function(...parameters, 'tags', 'none', source)(...functions, writeTags, NO_VALUES) as (w: Writer, input: unknown) => void
  } catch {
    return undefined
  }
}

/** Decodes a whole message body; trailing bytes after the body are INVALID_REQUEST. */
export function decodeMessage (fields: readonly FieldSchema[], version: number, flexible: boolean, reader: Reader): Record<string, unknown> {
  const value = structCodec(fields, version, flexible).read(reader)
  if (reader.remaining !== 0) {
    throw new SluiceError('INVALID_REQUEST', `${reader.remaining} unexpected bytes after the message body`)
  }
  return value
}

export function encodeMessage (fields: readonly FieldSchema[], version: number, flexible: boolean, writer: Writer, value: unknown): void {
  structCodec(fields, version, flexible).write(writer, value)
}
