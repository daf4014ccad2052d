import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { fc, test } from '@fast-check/vitest'
import { defaultPartition, murmur2, murmur2Js, murmur2Wasm, toPositive } from '../../src/io/murmur2.js'
import { murmur2Slot, SCRATCH_BYTES } from '../../src/io/wasm-kernels.js'
import { isSluiceError } from '../../src/core/errors.js'

const require = createRequire(import.meta.url)
// kafkajs 2.2.4's Java-compatible murmur2 and its DefaultPartitioner, as an outside referee.
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: Buffer | string) => number
const { Partitioners } = require('kafkajs') as {
  Partitioners: {
    DefaultPartitioner: () => (args: {
      topic: string
      partitionMetadata: Array<{ partitionId: number, leader: number }>
      message: { key?: Buffer | null, partition?: number | null }
    }) => number
  }
}

type Hash = (bytes: Uint8Array) => number
const implementations: Array<[string, Hash]> = [['murmur2', murmur2], ['murmur2Js', murmur2Js], ['murmur2Wasm', murmur2Wasm]]

const utf8 = (value: string): Uint8Array => new TextEncoder().encode(value)

/** Bytes at a non-zero byteOffset inside a larger Buffer, as pooled Buffers arrive. */
function pooled (bytes: Uint8Array, byteOffset: number): Buffer {
  const backing = Buffer.alloc(byteOffset + bytes.length + 5, 0x5a)
  backing.set(bytes, byteOffset)
  return backing.subarray(byteOffset, byteOffset + bytes.length)
}

describe('murmur2', () => {
  it('the WASM kernel loaded', () => {
    expect(murmur2Slot.error).toBeNull()
  })

  // Kafka reference table: key, murmur2 (int32), partition for 3, 6, 10, 12 partitions.
  const table: Array<[string, number, number, number, number, number]> = [
    ['', 275646681, 0, 3, 1, 9],
    ['a', -1563381124, 1, 4, 4, 4],
    ['abc', 479470107, 0, 3, 7, 3],
    ['21', -973932308, 0, 0, 0, 0],
    ['foobar', -790332482, 0, 0, 6, 6],
    ['kafka', -798503068, 1, 4, 0, 4],
    ['0', 971027396, 2, 2, 6, 8],
    ['1', -1993445489, 0, 3, 9, 3],
    ['key', -1079937367, 1, 1, 1, 1]
  ]
  for (const [name, hash] of implementations) {
    it.each(table)(`${name}(%j) = %i`, (key, expected) => {
      expect(hash(utf8(key))).toBe(expected)
      expect(hash(pooled(utf8(key), 3))).toBe(expected)
    })
  }

  it.each(table)('defaultPartition(%j) for 3/6/10/12 partitions', (key, _expected, p3, p6, p10, p12) => {
    const bytes = utf8(key)
    expect([3, 6, 10, 12].map((count) => defaultPartition(bytes, count))).toEqual([p3, p6, p10, p12])
  })

  const more: Array<[string, number]> = [
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['128', -326012175],
    ['2187', -1508407203],
    ['16384', -325739742],
    ['78125', -1654490814],
    ['279936', 1462227128],
    ['823543', -2014198330],
    ['2097152', 607668903],
    ['4782969', -1182699775],
    ['10000000', -1830336757],
    ['19487171', -1603849305],
    ['35831808', -857013643],
    ['62748517', -1167431028],
    ['105413504', -381294639],
    ['170859375', -1658323481],
    ['100:48069', 1009543857],
    ['giberish123456789', 0x8f552b0c | 0],
    ['1234', 0x9fc97b14 | 0],
    ['234', 0xe7c009ca | 0],
    ['34', 0x873930da | 0],
    ['4', 0x5a4b5ca1 | 0]
  ]
  for (const [name, hash] of implementations) {
    it.each(more)(`${name}(%j) = %i`, (key, expected) => {
      expect(hash(utf8(key))).toBe(expected)
    })
  }

  it('toPositive clears the sign bit instead of negating', () => {
    expect(toPositive(-1)).toBe(0x7fffffff)
    expect(toPositive(-2147483648)).toBe(0)
    expect(toPositive(5)).toBe(5)
    expect(toPositive(-790332482)).toBe(1357151166)
  })

  it('rejects partition counts that are not integers >= 1 with SLUICE_INVALID_OPTION', () => {
    for (const count of [0, -3, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31]) {
      let thrown: unknown
      try { defaultPartition(utf8('key'), count) } catch (error) { thrown = error }
      expect(isSluiceError(thrown, 'SLUICE_INVALID_OPTION'), `numPartitions ${count}`).toBe(true)
    }
    expect(defaultPartition(utf8('key'), 1)).toBe(0)
  })

  it('rejects a key that is not a Uint8Array, and a WASM input larger than the scratch', () => {
    for (const [, hash] of implementations) {
      expect(() => hash('key' as unknown as Uint8Array)).toThrow(expect.objectContaining({ code: 'SLUICE_INVALID_OPTION' }))
    }
    expect(() => murmur2Wasm(new Uint8Array(SCRATCH_BYTES + 1))).toThrow(expect.objectContaining({ code: 'SLUICE_INVALID_OPTION' }))
    const large = new Uint8Array(SCRATCH_BYTES + 1).fill(7)
    expect(murmur2(large)).toBe(murmur2Js(large))
  })

  const key = fc.record({
    bytes: fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 2000 })),
    byteOffset: fc.integer({ min: 0, max: 31 })
  })

  test.prop([key], { numRuns: 300 })('JS = WASM = auto = kafkajs on random keys and offsets', ({ bytes, byteOffset }) => {
    const view = pooled(bytes, byteOffset)
    const expected = murmur2Js(view)
    expect(murmur2Wasm(view)).toBe(expected)
    expect(murmur2(view)).toBe(expected)
    expect(kafkajsMurmur2(Buffer.from(bytes))).toBe(expected)
  })

  test.prop([key, fc.integer({ min: 1, max: 1000 })], { numRuns: 300 })(
    'defaultPartition = kafkajs DefaultPartitioner for keyed records',
    ({ bytes, byteOffset }, count) => {
      const partitioner = Partitioners.DefaultPartitioner()
      const partitionMetadata = Array.from({ length: count }, (_, partitionId) => ({ partitionId, leader: 0 }))
      const expected = partitioner({ topic: 't', partitionMetadata, message: { key: Buffer.from(bytes) } })
      expect(defaultPartition(pooled(bytes, byteOffset), count)).toBe(expected)
    }
  )
})
