/**
 * fast-check arbitraries for any message of any version, built from the schema field lists:
 * every field present in the version gets a random value of its type (null where nullable),
 * every other field its default, so `decode(encode(value))` must equal `value` exactly.
 * Defaults are derived here from the schema independently of the codec.
 */
import fc from 'fast-check'
import { ZERO_UUID } from '../../../src/kafka/protocol/reader.js'
import { inRange, type FieldSchema, type PrimitiveType } from '../../../src/kafka/schema/types.js'

function zero (type: PrimitiveType): unknown {
  switch (type) {
    case 'bool': return false
    case 'uuid': return ZERO_UUID
    case 'string': return ''
    case 'bytes': return Buffer.alloc(0)
    case 'records': return null
    default: return 0
  }
}

export function defaultOf (field: FieldSchema): unknown {
  if (field.array === true) return field.default === null ? null : []
  if (field.type === 'struct') {
    return Object.fromEntries((field.fields ?? []).map((child) => [child.name, defaultOf(child)]))
  }
  return field.default === undefined ? zero(field.type) : field.default
}

const uuid = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((bytes) => Buffer.from(bytes).toString('base64url'))
const text = fc.string({ maxLength: 12, unit: 'grapheme' })
const buffer = fc.uint8Array({ maxLength: 24 }).map((bytes) => Buffer.from(bytes))

function primitive (type: PrimitiveType): fc.Arbitrary<unknown> {
  switch (type) {
    case 'int8': return fc.integer({ min: -128, max: 127 })
    case 'int16': return fc.integer({ min: -32768, max: 32767 })
    case 'uint16': return fc.integer({ min: 0, max: 65535 })
    case 'int32': return fc.integer({ min: -0x80000000, max: 0x7fffffff })
    case 'int64': return fc.oneof(fc.integer({ min: -1, max: 1000 }), fc.maxSafeInteger(), fc.integer({ min: Number.MIN_SAFE_INTEGER, max: 0 }))
    case 'float64': return fc.double({ noNaN: true })
    case 'bool': return fc.boolean()
    case 'uuid': return uuid
    case 'string': return text
    case 'bytes': return buffer
    case 'records': return buffer
  }
}

function fieldArbitrary (field: FieldSchema, version: number, flexible: boolean): fc.Arbitrary<unknown> {
  if (!inRange(field.versions, version)) return fc.constant(null).map(() => defaultOf(field))
  const nullable = inRange(field.nullable, version)
  let value: fc.Arbitrary<unknown>
  if (field.array === true) {
    const element = field.type === 'struct'
      ? structArbitrary(field.fields ?? [], version, flexible)
      : primitive(field.type)
    value = fc.array(element, { maxLength: 3 })
  } else if (field.type === 'struct') {
    value = structArbitrary(field.fields ?? [], version, flexible)
  } else {
    value = primitive(field.type)
  }
  return nullable ? fc.option(value, { nil: null, freq: 4 }) : value
}

export function structArbitrary (fields: readonly FieldSchema[], version: number, flexible: boolean): fc.Arbitrary<Record<string, unknown>> {
  const shape: Record<string, fc.Arbitrary<unknown>> = {}
  for (const field of fields) shape[field.name] = fieldArbitrary(field, version, flexible)
  return fc.record(shape) as fc.Arbitrary<Record<string, unknown>>
}
