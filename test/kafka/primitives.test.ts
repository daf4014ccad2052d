/**
 * Reader/Writer primitives: exact encodings, bounds, varint limits, zero-copy views.
 */
import { describe, expect, test as plainTest } from 'vitest'
import { test } from '@fast-check/vitest'
import fc from 'fast-check'
import { Reader, ZERO_UUID } from '../../src/kafka/protocol/reader.js'
import { Writer } from '../../src/kafka/protocol/writer.js'
import { isSluiceError } from '../../src/core/errors.js'

function written (write: (writer: Writer) => void): Buffer {
  const writer = new Writer({ chunkBytes: 8 })
  write(writer)
  const bytes = writer.toBuffer()
  expect(bytes.length).toBe(writer.length)
  return bytes
}

function invalid (read: () => unknown): void {
  let error: unknown
  try { read() } catch (caught) { error = caught }
  expect(isSluiceError(error, 'INVALID_REQUEST')).toBe(true)
}

describe('varints', () => {
  plainTest('unsigned varints match Kafka ByteUtils encodings', () => {
    expect(written((w) => { w.writeUVarint(0) })).toEqual(Buffer.from([0]))
    expect(written((w) => { w.writeUVarint(127) })).toEqual(Buffer.from([0x7f]))
    expect(written((w) => { w.writeUVarint(128) })).toEqual(Buffer.from([0x80, 0x01]))
    expect(written((w) => { w.writeUVarint(300) })).toEqual(Buffer.from([0xac, 0x02]))
    expect(written((w) => { w.writeUVarint(0xffffffff) })).toEqual(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]))
  })

  plainTest('zigzag varints and varlongs', () => {
    expect(written((w) => { w.writeVarint(-1) })).toEqual(Buffer.from([0x01]))
    expect(written((w) => { w.writeVarint(1) })).toEqual(Buffer.from([0x02]))
    expect(written((w) => { w.writeVarint(-64) })).toEqual(Buffer.from([0x7f]))
    expect(written((w) => { w.writeVarlong(-1) })).toEqual(Buffer.from([0x01]))
    const reader = new Reader(written((w) => { w.writeVarlong(Number.MIN_SAFE_INTEGER); w.writeVarint(-0x80000000) }))
    expect(reader.readVarlong()).toBe(Number.MIN_SAFE_INTEGER)
    expect(reader.readVarint()).toBe(-0x80000000)
  })

  test.prop([fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: -0x80000000, max: 0x7fffffff }), fc.maxSafeInteger()])(
    'round trip', (unsigned, signed, long) => {
      const reader = new Reader(written((w) => { w.writeUVarint(unsigned); w.writeVarint(signed); w.writeVarlong(long); w.writeVarlong(-long) }))
      expect(reader.readUVarint()).toBe(unsigned)
      expect(reader.readVarint()).toBe(signed)
      expect(reader.readVarlong()).toBe(long)
      expect(reader.readVarlong()).toBe(-long + 0) // +0 turns a negated zero into 0
      expect(reader.remaining).toBe(0)
    })

  plainTest('overlong and truncated varints are INVALID_REQUEST', () => {
    invalid(() => new Reader(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x1f])).readUVarint()) // 33 bits
    invalid(() => new Reader(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01])).readUVarint())
    invalid(() => new Reader(Buffer.from([0x80, 0x80])).readUVarint())
    invalid(() => new Reader(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])).readVarlong())
  })
})

describe('fixed-width and int64', () => {
  plainTest('int64 outside the safe range is rejected, inside it is exact', () => {
    const bytes = written((w) => { w.writeInt64(Number.MAX_SAFE_INTEGER); w.writeInt64(-1); w.writeInt64(Number.MIN_SAFE_INTEGER); w.writeInt64(2n ** 63n - 1n) })
    expect(bytes.readBigInt64BE(0)).toBe(2n ** 53n - 1n)
    expect(bytes.readBigInt64BE(8)).toBe(-1n)
    const reader = new Reader(bytes)
    expect(reader.readInt64()).toBe(Number.MAX_SAFE_INTEGER)
    expect(reader.readInt64()).toBe(-1)
    expect(reader.readInt64()).toBe(Number.MIN_SAFE_INTEGER)
    invalid(() => reader.readInt64())
    expect(reader.readBigInt64()).toBe(2n ** 63n - 1n)
    invalid(() => new Reader(Buffer.from('ffe0000000000000', 'hex')).readInt64()) // -2^53
  })

  plainTest('every fixed-width read on short input is INVALID_REQUEST, not RangeError', () => {
    const empty = Buffer.alloc(3)
    invalid(() => new Reader(empty).readInt32())
    invalid(() => new Reader(empty).readInt64())
    invalid(() => new Reader(empty).readUuid())
    invalid(() => new Reader(empty, 3).readInt8())
    invalid(() => new Reader(empty, 2).readInt16())
    invalid(() => new Reader(empty, 4))
  })

  plainTest('uuid uses Kafka printed form', () => {
    const reader = new Reader(written((w) => { w.writeUuid(ZERO_UUID); w.writeUuid('AAECAwQFBgcICQoLDA0ODw') }))
    expect(reader.readUuid()).toBe(ZERO_UUID)
    expect(reader.buffer.subarray(16)).toEqual(Buffer.from([...Array(16).keys()]))
    expect(reader.readUuid()).toBe('AAECAwQFBgcICQoLDA0ODw')
  })
})

describe('strings, bytes and arrays', () => {
  plainTest('encodings', () => {
    expect(written((w) => { w.writeString('ab') })).toEqual(Buffer.from('00026162', 'hex'))
    expect(written((w) => { w.writeNullableString(null) })).toEqual(Buffer.from('ffff', 'hex'))
    expect(written((w) => { w.writeCompactString('ab') })).toEqual(Buffer.from('036162', 'hex'))
    expect(written((w) => { w.writeCompactNullableString(null) })).toEqual(Buffer.from('00', 'hex'))
    expect(written((w) => { w.writeBytes(Buffer.from('x')) })).toEqual(Buffer.from('0000000178', 'hex'))
    expect(written((w) => { w.writeNullableBytes(null) })).toEqual(Buffer.from('ffffffff', 'hex'))
    expect(written((w) => { w.writeCompactNullableBytes(null) })).toEqual(Buffer.from('00', 'hex'))
    expect(written((w) => { w.writeString('é') })).toEqual(Buffer.from('0002c3a9', 'hex'))
  })

  plainTest('negative non-null lengths and nulls where not allowed are INVALID_REQUEST', () => {
    invalid(() => new Reader(Buffer.from('fffe', 'hex')).readNullableString())
    invalid(() => new Reader(Buffer.from('ffff', 'hex')).readString())
    invalid(() => new Reader(Buffer.from('00', 'hex')).readCompactString())
    invalid(() => new Reader(Buffer.from('fffffffe', 'hex')).readNullableBytes())
    invalid(() => new Reader(Buffer.from('ffffffff', 'hex')).readBytes())
    invalid(() => new Reader(Buffer.from('ffffffff', 'hex')).readArrayLength(false, false, 1))
    invalid(() => new Reader(Buffer.from('fffffff0', 'hex')).readArrayLength(false, true, 1))
    expect(new Reader(Buffer.from('ffffffff', 'hex')).readArrayLength(false, true, 1)).toBe(-1)
    expect(new Reader(Buffer.from('00', 'hex')).readArrayLength(true, true, 1)).toBe(-1)
  })

  plainTest('array counts are checked against the bytes left using the element size', () => {
    // Three int32 elements need 12 bytes; 11 remain.
    invalid(() => new Reader(Buffer.concat([Buffer.from('00000003', 'hex'), Buffer.alloc(11)])).readArrayLength(false, false, 4))
    expect(new Reader(Buffer.concat([Buffer.from('00000003', 'hex'), Buffer.alloc(12)])).readArrayLength(false, false, 4)).toBe(3)
  })

  plainTest('bytes are read as views of the input', () => {
    const input = Buffer.from('00000003616263', 'hex')
    const view = new Reader(input).readBytes()
    expect(view.toString()).toBe('abc')
    expect(view.buffer).toBe(input.buffer)
    input[4] = 0x7a
    expect(view.toString()).toBe('zbc')
  })

  plainTest('large payloads are appended as chunks, not copied', () => {
    const payload = Buffer.alloc(1 << 20, 1)
    const writer = new Writer()
    const size = writer.reserve(4)
    writer.writeInt16(7)
    writer.writeCompactNullableBytes(payload)
    writer.writeInt16(8)
    writer.patchInt32(size, writer.length - 4)
    const chunks = writer.finish()
    expect(chunks.some((chunk) => chunk === payload)).toBe(true)
    const joined = Buffer.concat(chunks)
    expect(joined.length).toBe(4 + 2 + 3 + (1 << 20) + 2)
    expect(joined.readInt32BE(0)).toBe(joined.length - 4)
    expect(joined.readInt16BE(joined.length - 2)).toBe(8)
  })

  plainTest('tagged-field buffer: known tags read from a bounded reader, unknown skipped', () => {
    const reader = new Reader(Buffer.from('02 03 02 0005 07 01 ff 09'.replace(/ /g, ''), 'hex'))
    const seen: number[] = []
    reader.readTaggedFields((tag, field) => {
      if (tag !== 3) return false
      seen.push(field.readInt16())
      invalid(() => field.readInt8())
      return true
    })
    expect(seen).toEqual([5])
    expect(reader.readUInt8()).toBe(9)
  })
})
