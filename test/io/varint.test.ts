import { createRequire } from 'node:module'
import { describe, expect } from 'vitest'
import { fc, test } from '@fast-check/vitest'
import { isSluiceError } from '../../src/core/errors.js'
import {
  readUnsignedVarint,
  readVarint,
  readVarlong,
  readVarlongBigInt,
  sizeOfUnsignedVarint,
  sizeOfVarint,
  sizeOfVarlong,
  sizeOfVarlongBigInt,
  writeUnsignedVarint,
  writeVarint,
  writeVarlong,
  writeVarlongBigInt
} from '../../src/io/varint.js'

const require = createRequire(import.meta.url)
// kafkajs's protocol Encoder: an independent implementation of the same zigzag varints.
const KafkaJsEncoder = require('kafkajs/src/protocol/encoder') as new () => {
  writeVarInt: (value: number) => { buffer: Buffer }
  writeVarLong: (value: unknown) => { buffer: Buffer }
}
const Long = require('kafkajs/src/utils/long') as { fromString: (value: string) => unknown }

function encodeVarint (value: number): string {
  const target = new Uint8Array(5)
  return Buffer.from(target.subarray(0, writeVarint(target, 0, value))).toString('hex')
}

function expectCorrupt (action: () => unknown): void {
  let caught: unknown
  try {
    action()
  } catch (error) {
    caught = error
  }
  expect(isSluiceError(caught, 'CORRUPT_MESSAGE')).toBe(true)
}

const int64Min = -(2n ** 63n)
const int64Max = 2n ** 63n - 1n

describe('zigzag varint (int32)', () => {
  test('encodes the reference vectors', () => {
    const vectors: Array<[number, string]> = [
      [0, '00'], [-1, '01'], [1, '02'], [63, '7e'], [-64, '7f'], [64, '8001'], [300, 'd804'], [-300, 'd704'],
      [2147483647, 'feffffff0f'], [-2147483648, 'ffffffff0f']
    ]
    for (const [value, hex] of vectors) {
      expect(encodeVarint(value)).toBe(hex)
      expect(readVarint(Buffer.from(hex, 'hex'), { position: 0 })).toBe(value)
    }
  })

  test.prop([fc.integer()])('roundtrips every int32 and its size matches the bytes written', (value) => {
    const target = new Uint8Array(8)
    const end = writeVarint(target, 1, value)
    expect(end - 1).toBe(sizeOfVarint(value))
    const cursor = { position: 1 }
    expect(readVarint(target, cursor)).toBe(value)
    expect(cursor.position).toBe(end)
  })

  test.prop([fc.integer({ min: -(2 ** 30), max: 2 ** 30 })])('matches the bytes of kafkajs', (value) => {
    expect(encodeVarint(value)).toBe(new KafkaJsEncoder().writeVarInt(value).buffer.toString('hex'))
  })

  test('rejects a varint longer than five bytes', () => {
    expectCorrupt(() => readVarint(Buffer.from('ffffffff8f01', 'hex'), { position: 0 }))
  })

  test('rejects a truncated varint, also when cut by the end argument', () => {
    expectCorrupt(() => readVarint(Buffer.from('8080', 'hex'), { position: 0 }))
    expectCorrupt(() => readVarint(Buffer.from('d804', 'hex'), { position: 0 }, 1))
    expectCorrupt(() => readVarint(new Uint8Array(0), { position: 0 }))
  })
})

describe('zigzag varlong (int64)', () => {
  const safeBoundaries = [
    0, 1, -1, 2 ** 28, -(2 ** 28), 2 ** 31, 2 ** 49 - 1, 2 ** 49, -(2 ** 49), 2 ** 52 - 1, 2 ** 52, -(2 ** 52),
    Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 1_700_000_000_000
  ]

  test('number and bigint encodings agree at the boundaries', () => {
    for (const value of safeBoundaries) {
      const viaNumber = new Uint8Array(10)
      const viaBigInt = new Uint8Array(10)
      const numberEnd = writeVarlong(viaNumber, 0, value)
      const bigintEnd = writeVarlongBigInt(viaBigInt, 0, BigInt(value))
      expect(Buffer.from(viaNumber.subarray(0, numberEnd))).toEqual(Buffer.from(viaBigInt.subarray(0, bigintEnd)))
      expect(sizeOfVarlong(value)).toBe(numberEnd)
      expect(readVarlong(viaNumber, { position: 0 })).toBe(value)
    }
  })

  test('encodes int64 min and max in ten bytes', () => {
    const target = new Uint8Array(10)
    expect(writeVarlongBigInt(target, 0, int64Max)).toBe(10)
    expect(Buffer.from(target).toString('hex')).toBe('feffffffffffffffff01')
    expect(readVarlongBigInt(target, { position: 0 })).toBe(int64Max)
    writeVarlongBigInt(target, 0, int64Min)
    expect(Buffer.from(target).toString('hex')).toBe('ffffffffffffffffff01')
    expect(readVarlongBigInt(target, { position: 0 })).toBe(int64Min)
  })

  test.prop([fc.maxSafeInteger()])('roundtrips every safe integer as a number', (value) => {
    const target = new Uint8Array(12)
    const end = writeVarlong(target, 2, value)
    expect(end - 2).toBe(sizeOfVarlong(value))
    const cursor = { position: 2 }
    expect(readVarlong(target, cursor)).toBe(value)
    expect(cursor.position).toBe(end)
  })

  test.prop([fc.bigInt({ min: int64Min, max: int64Max })])('roundtrips every int64 as a bigint', (value) => {
    const target = new Uint8Array(10)
    const end = writeVarlongBigInt(target, 0, value)
    expect(end).toBe(sizeOfVarlongBigInt(value))
    const cursor = { position: 0 }
    expect(readVarlongBigInt(target, cursor)).toBe(value)
    expect(cursor.position).toBe(end)
  })

  test.prop([fc.bigInt({ min: int64Min, max: int64Max })])('matches the bytes of kafkajs', (value) => {
    const target = new Uint8Array(10)
    const end = writeVarlongBigInt(target, 0, value)
    const kafkajs = new KafkaJsEncoder().writeVarLong(Long.fromString(value.toString())).buffer
    expect(Buffer.from(target.subarray(0, end)).toString('hex')).toBe(kafkajs.toString('hex'))
  })

  test.prop([fc.oneof(
    fc.bigInt({ min: int64Min, max: BigInt(Number.MIN_SAFE_INTEGER) - 1n }),
    fc.bigInt({ min: BigInt(Number.MAX_SAFE_INTEGER) + 1n, max: int64Max })
  )])('refuses, as a number, a value outside the safe integer range', (value) => {
    const target = new Uint8Array(10)
    writeVarlongBigInt(target, 0, value)
    expectCorrupt(() => readVarlong(target, { position: 0 }))
  })

  test('rejects a varlong longer than ten bytes and a truncated one', () => {
    const eleven = Buffer.from('ffffffffffffffffffff01', 'hex')
    expectCorrupt(() => readVarlong(eleven, { position: 0 }))
    expectCorrupt(() => readVarlongBigInt(eleven, { position: 0 }))
    for (let length = 0; length < 10; length++) {
      const truncated = Buffer.alloc(length, 0xff)
      expectCorrupt(() => readVarlong(truncated, { position: 0 }))
      expectCorrupt(() => readVarlongBigInt(truncated, { position: 0 }))
    }
  })
})

describe('unsigned varint (protocol)', () => {
  test('encodes the reference vectors', () => {
    const vectors: Array<[number, string]> = [[0, '00'], [1, '01'], [127, '7f'], [128, '8001'], [300, 'ac02'], [2 ** 32 - 1, 'ffffffff0f']]
    for (const [value, hex] of vectors) {
      const target = new Uint8Array(5)
      const end = writeUnsignedVarint(target, 0, value)
      expect(Buffer.from(target.subarray(0, end)).toString('hex')).toBe(hex)
      expect(readUnsignedVarint(Buffer.from(hex, 'hex'), { position: 0 })).toBe(value)
    }
  })

  test.prop([fc.integer({ min: 0, max: 2 ** 32 - 1 })])('roundtrips every uint32', (value) => {
    const target = new Uint8Array(5)
    const end = writeUnsignedVarint(target, 0, value)
    expect(end).toBe(sizeOfUnsignedVarint(value))
    const cursor = { position: 0 }
    expect(readUnsignedVarint(target, cursor)).toBe(value)
    expect(cursor.position).toBe(end)
  })

  test('rejects six-byte and truncated unsigned varints', () => {
    expectCorrupt(() => readUnsignedVarint(Buffer.from('ffffffffff01', 'hex'), { position: 0 }))
    expectCorrupt(() => readUnsignedVarint(Buffer.from('ff', 'hex'), { position: 0 }))
    expectCorrupt(() => readUnsignedVarint(new Uint8Array(0), { position: 0 }))
  })
})

describe('arbitrary bytes', () => {
  test.prop([fc.uint8Array({ maxLength: 12 }), fc.nat({ max: 12 })])('every reader returns a value or raises CORRUPT_MESSAGE', (bytes, start) => {
    const readers = [readVarint, readVarlong, readVarlongBigInt, readUnsignedVarint]
    for (const reader of readers) {
      const cursor = { position: Math.min(start, bytes.length) }
      try {
        reader(bytes, cursor)
        expect(cursor.position).toBeLessThanOrEqual(bytes.length)
      } catch (error) {
        expect(isSluiceError(error, 'CORRUPT_MESSAGE')).toBe(true)
      }
    }
  })
})
