import { describe, expect, it } from 'vitest'
import { fc, test } from '@fast-check/vitest'
import { gunzipSync } from 'node:zlib'
import { createRequire } from 'node:module'
import { compressSync as snappyRaw } from 'snappy'
import {
  codecFromAttributes, compress, compressionAttribute, compressionCodecIds, compressionDefaults, compressOnThreadpool, compressSync,
  decompress, decompressOnThreadpool, decompressSync, inlineBytesMax, type CompressionCodec
} from '../../src/io/compression.js'
import { isSluiceError } from '../../src/core/errors.js'
import { incompressibleBytes, recordLikeBytes } from './compression-fixtures.js'

const codecs: CompressionCodec[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd']
const compressingCodecs: CompressionCodec[] = ['gzip', 'snappy', 'lz4', 'zstd']
const require = createRequire(import.meta.url)
/** kafkajs's own gzip codec (the only codec kafkajs ships in core). */
const kafkajsGzip = require('kafkajs/src/protocol/message/compression/gzip.js') as {
  compress: (encoder: { buffer: Buffer }) => Promise<Buffer>
  decompress: (buffer: Buffer) => Promise<Buffer>
}

function input (size: number, compressible: boolean, seed: number): Buffer {
  return compressible ? recordLikeBytes(size, seed) : incompressibleBytes(size, seed)
}

async function rejection (promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  return expect.fail('expected a rejection')
}

describe('codec ids', () => {
  it('maps attribute bits 0-2 to Kafka codecs and ignores the other bits', () => {
    expect(codecFromAttributes(0)).toBe('none')
    expect(codecFromAttributes(1)).toBe('gzip')
    expect(codecFromAttributes(2)).toBe('snappy')
    expect(codecFromAttributes(3)).toBe('lz4')
    expect(codecFromAttributes(4)).toBe('zstd')
    expect(codecFromAttributes(0x0009)).toBe('gzip')
    expect(codecFromAttributes(0x0034)).toBe('zstd')
  })

  it.each([5, 6, 7, 0x0f])('attributes 0x%s (id 5-7) is UNSUPPORTED_COMPRESSION_TYPE', (attributes) => {
    try {
      codecFromAttributes(attributes)
      expect.fail('accepted an undefined codec id')
    } catch (error) {
      expect(isSluiceError(error, 'UNSUPPORTED_COMPRESSION_TYPE')).toBe(true)
      expect((error as { kafkaCode: number }).kafkaCode).toBe(76)
    }
  })

  it('compressionAttribute is the inverse of codecFromAttributes', () => {
    for (const codec of codecs) expect(codecFromAttributes(compressionAttribute(codec))).toBe(codec)
    expect(compressionCodecIds).toEqual({ none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 })
  })

  it('rejects an unknown codec name', () => {
    expect(() => compressSync('brotli' as CompressionCodec, Buffer.from('x'))).toThrow(/unknown compression codec/)
    expect(() => compressionAttribute('brotli' as CompressionCodec)).toThrow(/unknown compression codec/)
  })
})

describe('roundtrip', () => {
  test.prop([
    fc.constantFrom(...codecs),
    fc.integer({ min: 0, max: 1024 * 1024 }),
    fc.boolean(),
    fc.integer({ min: 0, max: 2 ** 31 - 1 })
  ], { numRuns: 60 })('decompressSync(compressSync(data)) = data for sizes 0..1 MiB', (codec, size, compressible, seed) => {
    const data = input(size, compressible, seed)
    const compressed = compressSync(codec, data)
    expect(decompressSync(codec, compressed).equals(data)).toBe(true)
  })

  test.prop([fc.constantFrom(...codecs), fc.uint8Array({ maxLength: 4096 })], { numRuns: 200 })('small arbitrary inputs roundtrip', (codec, data) => {
    expect(decompressSync(codec, compressSync(codec, data)).equals(Buffer.from(data))).toBe(true)
  })

  it.each(compressingCodecs)('%s roundtrips at chunk and block boundaries', (codec) => {
    for (const size of [0, 1, 32767, 32768, 32769, 65535, 65536, 65537, 131072, 131073]) {
      for (const compressible of [true, false]) {
        const data = input(size, compressible, size)
        expect(decompressSync(codec, compressSync(codec, data)).equals(data)).toBe(true)
      }
    }
  })

  it.each(compressingCodecs)('%s compresses record-like data and does not expand random data much', (codec) => {
    const text = recordLikeBytes(110_000, 1)
    expect(compressSync(codec, text).length).toBeLessThan(text.length * 0.75)
    const random = incompressibleBytes(110_000, 2)
    expect(compressSync(codec, random).length).toBeLessThan(random.length * 1.01 + 64)
  })

  it.each(codecs)('%s reads input from a Uint8Array view at a non-zero byteOffset', (codec) => {
    const data = recordLikeBytes(70_000, 3)
    const compressed = compressSync(codec, data)
    const backing = new Uint8Array(compressed.length + 11)
    backing.set(compressed, 7)
    const view = backing.subarray(7, 7 + compressed.length)
    expect(decompressSync(codec, view).equals(data)).toBe(true)
    const source = new Uint8Array(data.length + 5)
    source.set(data, 5)
    expect(compressSync(codec, source.subarray(5)).equals(compressed)).toBe(true)
  })
})

describe('async forms', () => {
  test.prop([
    fc.constantFrom(...codecs),
    fc.constantFrom(0, 1000, 64 * 1024 - 1, 64 * 1024, 200_000, 1024 * 1024, 4 * 1024 * 1024),
    fc.boolean()
  ], { numRuns: 30 })('compress and decompress give the bytes of the sync forms', async (codec, size, compressible) => {
    const data = input(size, compressible, size + 1)
    const synced = compressSync(codec, data)
    const compressed = await compress(codec, data)
    expect(compressed.equals(synced)).toBe(true)
    expect((await decompress(codec, compressed)).equals(data)).toBe(true)
  })

  it.each(compressingCodecs)('%s gives the same bytes just below, at and above its inline thresholds', async (codec) => {
    const compressLimit = inlineBytesMax.compress[codec]
    for (const size of [compressLimit, compressLimit + 1]) {
      const data = input(size, true, size)
      expect((await compress(codec, data)).equals(compressSync(codec, data))).toBe(true)
    }
    // Find record-like inputs whose compressed size straddles the decompress threshold.
    const decompressLimit = inlineBytesMax.decompress[codec]
    const plain = input(decompressLimit * 8, false, 3)
    for (const size of [decompressLimit - 100, decompressLimit + 1, decompressLimit + 100]) {
      const compressed = compressSync(codec, plain.subarray(0, size))
      expect((await decompress(codec, compressed)).equals(plain.subarray(0, size))).toBe(true)
    }
  })

  it('the threadpool forms equal the sync forms for small inputs too, and for none', async () => {
    for (const codec of codecs) {
      for (const size of [0, 1, 100]) {
        const data = input(size, true, size + 7)
        const compressed = await compressOnThreadpool(codec, data)
        expect(compressed.equals(compressSync(codec, data))).toBe(true)
        expect((await decompressOnThreadpool(codec, compressed)).equals(data)).toBe(true)
      }
    }
  })

  it('many concurrent large operations all complete with the right bytes (threadpool slots are handed over)', async () => {
    const jobs = Array.from({ length: 24 }, async (_, index) => {
      const codec = compressingCodecs[index % compressingCodecs.length]!
      const data = input(300_000 + index * 1000, index % 3 !== 0, index)
      const compressed = await compress(codec, data)
      expect(compressed.equals(compressSync(codec, data))).toBe(true)
      return (await decompress(codec, compressed)).equals(data)
    })
    expect(await Promise.all(jobs)).toEqual(Array.from({ length: 24 }, () => true))
  })

  it.each(compressingCodecs)('%s async rejects corrupt large input with CORRUPT_MESSAGE', async (codec) => {
    const compressed = Buffer.from(compressSync(codec, recordLikeBytes(2 * 1024 * 1024, 5)))
    compressed.fill(0x5a, 0, 4)
    const error = await rejection(decompress(codec, compressed))
    expect(isSluiceError(error, 'CORRUPT_MESSAGE')).toBe(true)
    expect((error as Error).message.startsWith(`${codec}: `)).toBe(true)
  })

  it.each(compressingCodecs)('%s: an aborted signal rejects with SLUICE_ABORTED before any work', async (codec) => {
    const controller = new AbortController()
    controller.abort(new Error('stop'))
    const data = recordLikeBytes(1000, 6)
    expect(isSluiceError(await rejection(compress(codec, data, { signal: controller.signal })), 'SLUICE_ABORTED')).toBe(true)
    expect(isSluiceError(await rejection(decompress(codec, compressSync(codec, data), { signal: controller.signal })), 'SLUICE_ABORTED')).toBe(true)
  })

  it.each(compressingCodecs)('%s: aborting while large work is in flight rejects with SLUICE_ABORTED', async (codec) => {
    const data = recordLikeBytes(4 * 1024 * 1024, 7)
    const compressed = compressSync(codec, data)
    const controller = new AbortController()
    const pendingCompress = compress(codec, data, { signal: controller.signal })
    const pendingDecompress = decompress(codec, compressed, { signal: controller.signal })
    controller.abort()
    const [first, second] = await Promise.all([rejection(pendingCompress), rejection(pendingDecompress)])
    expect(isSluiceError(first, 'SLUICE_ABORTED')).toBe(true)
    expect(isSluiceError(second, 'SLUICE_ABORTED')).toBe(true)
    // The codecs are still usable after an abort.
    expect((await decompress(codec, await compress(codec, data))).equals(data)).toBe(true)
  })
})

describe('interop', () => {
  it('kafkajs gzip reads what we write, and we read what it writes', async () => {
    const data = recordLikeBytes(110_000, 8)
    expect((await kafkajsGzip.decompress(compressSync('gzip', data))).equals(data)).toBe(true)
    expect(decompressSync('gzip', await kafkajsGzip.compress({ buffer: data })).equals(data)).toBe(true)
  })

  it('gzip output is an RFC 1952 stream (magic 1f 8b, deflate) that zlib reads', () => {
    const data = recordLikeBytes(5000, 9)
    const compressed = compressSync('gzip', data)
    expect(compressed.subarray(0, 3).toString('hex')).toBe('1f8b08')
    expect(gunzipSync(compressed).equals(data)).toBe(true)
  })

  it('reads multi-member gzip streams (concatenated members), as Java\'s reader does', () => {
    const joined = Buffer.concat([compressSync('gzip', Buffer.from('one ')), compressSync('gzip', Buffer.from('two'))])
    expect(decompressSync('gzip', joined).toString()).toBe('one two')
  })

  it('decompresses the records of a gzip batch captured from a Kafka broker (kafkajs fixture v0_recordbatch)', () => {
    // Bytes of kafkajs's `src/protocol/recordBatch/fixtures/v0_recordbatch.json`: attributes
    // 0x0009 (gzip + LogAppendTime), one record; the gzip records section starts at byte 61.
    const batch = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 113, 0, 0, 0, 0, 2, 228, 195, 36, 165, 0, 9, 0, 0, 0, 0, 0, 0, 1, 115, 237, 245, 255, 167, 0, 0, 1, 115, 237, 245, 255, 201, 255, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 31, 139, 8, 0, 0, 0, 0, 0, 0, 19, 11, 99, 96, 96, 224, 202, 78, 173, 212, 53, 112, 40, 75, 204, 41, 77, 213, 53, 208, 53, 50, 48, 50, 208, 53, 176, 208, 53, 52, 9, 49, 52, 183, 50, 52, 182, 50, 176, 208, 51, 179, 48, 138, 98, 0, 0, 181, 227, 241, 167, 44, 0, 0, 0])
    expect(batch.length).toBe(125)
    expect(codecFromAttributes(batch.readInt16BE(21))).toBe('gzip')
    const records = decompressSync('gzip', batch.subarray(61))
    // Record: length varint 0x56 (43), attributes 0, timestampDelta 0, offsetDelta 0, key "key-0",
    // value "value-0-2020-08-14T17:13:08.682Z", no headers.
    expect(records.length).toBe(44)
    expect(records[0]).toBe(0x56)
    expect(records.includes(Buffer.from('key-0'))).toBe(true)
    expect(records.includes(Buffer.from('value-0-2020-08-14T17:13:08.682Z'))).toBe(true)
  })
})

describe('mutated input never escapes as anything but CORRUPT_MESSAGE', () => {
  const samples = new Map(compressingCodecs.map((codec) => [codec, {
    small: compressSync(codec, recordLikeBytes(3000, 12)),
    chunked: compressSync(codec, recordLikeBytes(100_000, 13)),
    raw: codec === 'snappy' ? snappyRaw(recordLikeBytes(3000, 14)) : undefined
  }]))

  test.prop([
    fc.constantFrom(...compressingCodecs),
    fc.constantFrom('small', 'chunked', 'raw'),
    fc.array(fc.record({ position: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 8 }),
    fc.option(fc.nat(), { nil: undefined })
  ], { numRuns: 1000 })('flipped bytes and truncations decode or raise CORRUPT_MESSAGE', (codec, kind, flips, cut) => {
    const sample = samples.get(codec)!
    const original = (kind === 'raw' ? sample.raw : undefined) ?? (kind === 'chunked' ? sample.chunked : sample.small)
    const mutated = Buffer.from(original)
    for (const flip of flips) mutated[flip.position % mutated.length] = flip.value
    const input = cut === undefined ? mutated : mutated.subarray(0, cut % (mutated.length + 1))
    try {
      expect(Buffer.isBuffer(decompressSync(codec, input))).toBe(true)
    } catch (error) {
      expect(isSluiceError(error, 'CORRUPT_MESSAGE'), String(error)).toBe(true)
    }
  })
})

describe('mutated input, threadpool form', () => {
  test.prop([
    fc.constantFrom(...compressingCodecs),
    fc.array(fc.record({ position: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 4 })
  ], { numRuns: 200 })('decompressOnThreadpool succeeds or fails exactly as decompressSync does', async (codec, flips) => {
    const mutated = Buffer.from(compressSync(codec, recordLikeBytes(100_000, 15)))
    for (const flip of flips) mutated[flip.position % mutated.length] = flip.value
    let expected: Buffer | string
    try {
      expected = decompressSync(codec, mutated)
    } catch (error) {
      expected = (error as { code: string }).code
    }
    let actual: Buffer | string
    try {
      actual = await decompressOnThreadpool(codec, mutated)
    } catch (error) {
      actual = (error as { code: string }).code
    }
    if (typeof expected === 'string') expect(actual).toBe(expected)
    else expect(Buffer.isBuffer(actual) && actual.equals(expected)).toBe(true)
  })
})

describe('corrupt input and decompression bombs', () => {
  it.each([
    ['garbage', Buffer.from('this is not gzip at all')],
    ['empty', Buffer.alloc(0)],
    ['truncated', compressSync('gzip', recordLikeBytes(10_000, 10)).subarray(0, 200)]
  ])('gzip %s is CORRUPT_MESSAGE', (_name, data) => {
    expect(() => decompressSync('gzip', data)).toThrow(expect.objectContaining({ code: 'CORRUPT_MESSAGE', message: expect.stringMatching(/^gzip: /) }))
  })

  it('gzip with a damaged CRC trailer is CORRUPT_MESSAGE', () => {
    const compressed = Buffer.from(compressSync('gzip', recordLikeBytes(1000, 11)))
    compressed[compressed.length - 6]! ^= 0xff
    expect(() => decompressSync('gzip', compressed)).toThrow(expect.objectContaining({ code: 'CORRUPT_MESSAGE' }))
  })

  it.each(compressingCodecs)('%s output above decompressedBytesMax is refused, sync and async', async (codec) => {
    const data = Buffer.alloc(1024 * 1024, 0x61)
    const compressed = compressSync(codec, data)
    const options = { decompressedBytesMax: 512 * 1024 }
    expect(() => decompressSync(codec, compressed, options)).toThrow(expect.objectContaining({ code: 'CORRUPT_MESSAGE', message: expect.stringMatching(/decompressedBytesMax 524288/) }))
    expect(await rejection(decompress(codec, compressed, options))).toMatchObject({ code: 'CORRUPT_MESSAGE' })
    expect(decompressSync(codec, compressed, { decompressedBytesMax: 1024 * 1024 }).length).toBe(data.length)
  })

  it('a gzip bomb past the default bound is refused without inflating it all', () => {
    const bomb = compressSync('gzip', Buffer.alloc(compressionDefaults.decompressedBytesMax + 1))
    expect(bomb.length).toBeLessThan(100_000)
    expect(() => decompressSync('gzip', bomb)).toThrow(expect.objectContaining({ code: 'CORRUPT_MESSAGE', message: expect.stringMatching(/decompressedBytesMax/) }))
  })

  it('rejects an invalid decompressedBytesMax', () => {
    for (const value of [-1, 0, 1.5, Number.NaN, 2 ** 53]) {
      expect(() => decompressSync('gzip', compressSync('gzip', Buffer.from('x')), { decompressedBytesMax: value })).toThrow(expect.objectContaining({ code: 'SLUICE_INVALID_OPTION' }))
    }
  })

  it('none returns the input bytes without copying', () => {
    const data = Buffer.from('plain records')
    expect(compressSync('none', data)).toBe(data)
    const view = new Uint8Array(data.buffer, data.byteOffset, data.length)
    const out = decompressSync('none', view)
    expect(out.buffer).toBe(data.buffer)
    expect(out.toString()).toBe('plain records')
  })
})
