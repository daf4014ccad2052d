import { describe, expect, it } from 'vitest'
import { compressSync as snappyBlockCompress, uncompressSync as snappyBlockUncompress } from 'snappy'
import { compressSync, decompressSync } from '../../src/io/compression.js'
import { isXerialFramed, readXerialChunks, snappyUncompressedLength, writeXerial, SnappyFramingError, xerialChunkBytes } from '../../src/io/snappy-xerial.js'
import { isSluiceError } from '../../src/core/errors.js'
import { recordLikeBytes } from './compression-fixtures.js'

const magicHex = '82534e4150505900'

function expectCorrupt (data: Uint8Array, pattern: RegExp): void {
  try {
    decompressSync('snappy', data)
  } catch (error) {
    expect(isSluiceError(error, 'CORRUPT_MESSAGE')).toBe(true)
    expect((error as Error).message).toMatch(/^snappy: /)
    expect((error as Error).message).toMatch(pattern)
    return
  }
  expect.fail('decompressSync accepted corrupt snappy input')
}

describe('xerial snappy framing', () => {
  it('writes magic, version 1, compatible 1 and one [length][block] per 32 KiB chunk', () => {
    const data = recordLikeBytes(2 * xerialChunkBytes + 100, 7)
    const framed = compressSync('snappy', data)
    expect(framed.subarray(0, 16).toString('hex')).toBe(`${magicHex}0000000100000001`)
    let position = 16
    const chunkSizes: number[] = []
    while (position < framed.length) {
      const length = framed.readInt32BE(position)
      const block = framed.subarray(position + 4, position + 4 + length)
      chunkSizes.push((snappyBlockUncompress(block, { asBuffer: true }) as Buffer).length)
      position += 4 + length
    }
    expect(position).toBe(framed.length)
    expect(chunkSizes).toEqual([xerialChunkBytes, xerialChunkBytes, 100])
  })

  it('each chunk is exactly the raw snappy block of that slice of the input', () => {
    const data = recordLikeBytes(xerialChunkBytes + 5, 8)
    const framed = writeXerial(data, (chunk) => snappyBlockCompress(chunk))
    const first = snappyBlockCompress(data.subarray(0, xerialChunkBytes))
    const second = snappyBlockCompress(data.subarray(xerialChunkBytes))
    const expected = Buffer.concat([
      Buffer.from(`${magicHex}0000000100000001`, 'hex'),
      int32(first.length), first,
      int32(second.length), second
    ])
    expect(framed.equals(expected)).toBe(true)
  })

  it('writes an empty input as the 16-byte header alone and reads it back as empty', () => {
    const framed = compressSync('snappy', new Uint8Array(0))
    expect(framed.toString('hex')).toBe(`${magicHex}0000000100000001`)
    expect(decompressSync('snappy', framed).length).toBe(0)
  })

  it('reads a hand-built xerial stream with several chunks back', () => {
    const parts = [Buffer.from('hello, '), Buffer.from('xerial '), Buffer.from('world')]
    const stream = Buffer.concat([
      Buffer.from(magicHex, 'hex'), int32(1), int32(1),
      ...parts.flatMap((part) => { const block = snappyBlockCompress(part); return [int32(block.length), block] })
    ])
    expect(isXerialFramed(stream)).toBe(true)
    expect(readXerialChunks(stream).uncompressedLength).toBe(19)
    expect(decompressSync('snappy', stream).toString()).toBe('hello, xerial world')
  })

  it('reads a raw snappy block (librdkafka) by sniffing the missing magic', () => {
    const data = recordLikeBytes(100_000, 9)
    const raw = snappyBlockCompress(data)
    expect(isXerialFramed(raw)).toBe(false)
    expect(decompressSync('snappy', raw).equals(data)).toBe(true)
  })

  it('reads the varint length preamble of raw blocks', () => {
    expect(snappyUncompressedLength(Uint8Array.of(0x00))).toBe(0)
    expect(snappyUncompressedLength(Uint8Array.of(0x7f))).toBe(127)
    expect(snappyUncompressedLength(Uint8Array.of(0x80, 0x01))).toBe(128)
    expect(snappyUncompressedLength(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f))).toBe(0xffffffff)
    expect(() => snappyUncompressedLength(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x1f))).toThrow(SnappyFramingError)
    expect(() => snappyUncompressedLength(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x01))).toThrow(SnappyFramingError)
    expect(() => snappyUncompressedLength(Uint8Array.of(0x80))).toThrow(SnappyFramingError)
  })
})

describe('corrupt snappy input is CORRUPT_MESSAGE', () => {
  const good = compressSync('snappy', recordLikeBytes(50_000, 10))

  it('header truncated after the magic', () => {
    expectCorrupt(good.subarray(0, 12), /header truncated/)
  })

  it('version 0', () => {
    const bad = Buffer.from(good)
    bad.writeInt32BE(0, 8)
    expectCorrupt(bad, /version 0/)
  })

  it('compatible version newer than this reader', () => {
    const bad = Buffer.from(good)
    bad.writeInt32BE(2, 12)
    expectCorrupt(bad, /reader version 2/)
  })

  it('chunk length beyond the data', () => {
    const bad = Buffer.from(good)
    bad.writeInt32BE(good.length, 16)
    expectCorrupt(bad, /exceeds the \d+ bytes left/)
  })

  it('negative chunk length', () => {
    const bad = Buffer.from(good)
    bad.writeInt32BE(-5, 16)
    expectCorrupt(bad, /negative chunk length/)
  })

  it('truncated chunk header', () => {
    expectCorrupt(Buffer.concat([compressSync('snappy', Buffer.from('abc')), Buffer.from([0, 0])]), /truncated chunk header/)
  })

  it('truncated stream', () => {
    expectCorrupt(good.subarray(0, good.length - 10), /exceeds the \d+ bytes left/)
  })

  it('garbage inside a chunk', () => {
    const bad = Buffer.from(good)
    bad.fill(0xee, 40, 200)
    expectCorrupt(bad, /./)
  })

  it('raw block whose preamble claims more than it holds', () => {
    const raw = snappyBlockCompress(Buffer.from('some text some text some text'))
    const lying = Buffer.concat([Buffer.from([0x80, 0x02]), raw.subarray(1)])
    expectCorrupt(lying, /./)
  })

  it('raw block claiming 4 GiB is refused before decompressing', () => {
    expectCorrupt(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f, 0x00), /decompressedBytesMax/)
  })
})

function int32 (value: number): Buffer {
  const buffer = Buffer.alloc(4)
  buffer.writeInt32BE(value)
  return buffer
}
