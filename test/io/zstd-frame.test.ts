import { describe, expect, it } from 'vitest'
import { compressSync, decompressSync, compressionDefaults } from '../../src/io/compression.js'
import { scanZstdFrames, zstdBlockMaximumBytes } from '../../src/io/zstd-frame.js'
import { isSluiceError } from '../../src/core/errors.js'
import { recordLikeBytes } from './compression-fixtures.js'

const magic = Buffer.from('28b52ffd', 'hex')

/** Block header: bit 0 last, bits 1-2 type (0 raw, 1 RLE, 2 compressed), bits 3-23 size. */
function blockHeader (last: boolean, type: number, size: number): Buffer {
  const value = (last ? 1 : 0) | (type << 1) | (size << 3)
  return Buffer.from([value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff])
}

/** A frame without content size (descriptor 0x00, window descriptor 0x50 = 1 MiB window). */
function frameWithoutContentSize (...blocks: Buffer[]): Buffer {
  return Buffer.concat([magic, Buffer.from([0x00, 0x50]), ...blocks])
}

function expectCorrupt (data: Uint8Array, pattern: RegExp, options = {}): void {
  try {
    decompressSync('zstd', data, options)
  } catch (error) {
    expect(isSluiceError(error, 'CORRUPT_MESSAGE')).toBe(true)
    expect((error as Error).message).toMatch(/^zstd: /)
    expect((error as Error).message).toMatch(pattern)
    return
  }
  expect.fail('decompressSync accepted corrupt zstd input')
}

describe('zstd frames', () => {
  it('the native encoder writes standard frames without a content size, as streaming writers do', () => {
    const frame = compressSync('zstd', recordLikeBytes(100_000, 1))
    expect(frame.subarray(0, 4).equals(magic)).toBe(true)
    expect(frame[4]! >>> 6).toBe(0)
    expect(frame[4]! & 0x20).toBe(0)
  })

  it('reads a hand-built frame of a raw block and an RLE block with no content size', () => {
    const frame = frameWithoutContentSize(
      blockHeader(false, 0, 10), Buffer.from('hello zstd'),
      blockHeader(true, 1, 5), Buffer.from('!')
    )
    expect(scanZstdFrames(frame)).toEqual({ frameCount: 1, blockCount: 2, decompressedBytesBound: 15 })
    expect(decompressSync('zstd', frame).toString()).toBe('hello zstd!!!!!')
  })

  it('reads concatenated frames and skips skippable frames', () => {
    const skippable = Buffer.concat([Buffer.from('502a4d18', 'hex'), Buffer.from([3, 0, 0, 0]), Buffer.from('xyz')])
    const data = Buffer.concat([
      compressSync('zstd', Buffer.from('first ')),
      skippable,
      frameWithoutContentSize(blockHeader(true, 0, 6), Buffer.from('second'))
    ])
    expect(scanZstdFrames(data).frameCount).toBe(2)
    expect(decompressSync('zstd', data).toString()).toBe('first second')
  })

  it('bounds compressed blocks by 128 KiB each', () => {
    const frame = compressSync('zstd', recordLikeBytes(300_000, 2))
    const scan = scanZstdFrames(frame)
    expect(scan.decompressedBytesBound).toBeGreaterThanOrEqual(300_000)
    expect(scan.decompressedBytesBound).toBeLessThanOrEqual(scan.blockCount * zstdBlockMaximumBytes)
  })

  it('refuses an RLE bomb by its block headers before decompressing', () => {
    // 600 RLE blocks of 128 KiB: 2.4 KB of input claiming 75 MiB of output.
    const blocks: Buffer[] = []
    for (let index = 0; index < 600; index++) blocks.push(blockHeader(index === 599, 1, zstdBlockMaximumBytes), Buffer.from([0x61]))
    const bomb = frameWithoutContentSize(...blocks)
    expect(bomb.length).toBeLessThan(3000)
    expect(600 * zstdBlockMaximumBytes).toBeGreaterThan(compressionDefaults.decompressedBytesMax)
    expectCorrupt(bomb, /decompressedBytesMax/)
    const small = frameWithoutContentSize(...blocks.slice(0, 18), blockHeader(true, 1, zstdBlockMaximumBytes), Buffer.from([0x61]))
    expect(decompressSync('zstd', small).length).toBe(10 * zstdBlockMaximumBytes)
  })
})

describe('corrupt zstd input is CORRUPT_MESSAGE', () => {
  const good = compressSync('zstd', recordLikeBytes(200_000, 3))

  it('bad magic', () => { expectCorrupt(Buffer.concat([Buffer.from('28b52ffe', 'hex'), good.subarray(4)]), /bad magic/) })
  it('truncated', () => { expectCorrupt(good.subarray(0, good.length - 5), /exceeds the \d+ bytes left|truncated/) })
  it('truncated header', () => { expectCorrupt(good.subarray(0, 5), /truncated/) })
  it('trailing garbage', () => { expectCorrupt(Buffer.concat([good, Buffer.from('junkjunk')]), /bad magic/) })
  it('reserved descriptor bit', () => { expectCorrupt(Buffer.concat([magic, Buffer.from([0x08, 0x50]), blockHeader(true, 0, 0)]), /reserved/) })
  it('dictionary id', () => { expectCorrupt(Buffer.concat([magic, Buffer.from([0x01, 0x50, 0x07]), blockHeader(true, 0, 0)]), /dictionary/) })
  it('reserved block type', () => { expectCorrupt(frameWithoutContentSize(blockHeader(true, 3, 1), Buffer.from([0])), /reserved block type/) })
  it('raw block longer than 128 KiB', () => { expectCorrupt(frameWithoutContentSize(blockHeader(true, 0, 200_000), Buffer.alloc(200_000)), /128 KiB/) })
  it('garbage inside a compressed block', () => {
    const bad = Buffer.from(good)
    bad.fill(0x5a, 12, 200)
    expectCorrupt(bad, /./)
  })
  it('empty input', () => { expectCorrupt(new Uint8Array(0), /empty/) })
  it.each([4, 6, 100 * 1024 * 1024, 0xffffffff])('a single-segment frame whose content size (%i) lies about its one 5-byte block', (contentSize) => {
    const size = Buffer.alloc(4)
    size.writeUInt32LE(contentSize)
    // Descriptor 0xa0: 4-byte content size, single segment (the window is the content size).
    expectCorrupt(Buffer.concat([magic, Buffer.from([0xa0]), size, blockHeader(true, 0, 5), Buffer.from('fives')]), /./)
  })
  it('the same frame with a true content size decodes', () => {
    const size = Buffer.alloc(4)
    size.writeUInt32LE(5)
    expect(decompressSync('zstd', Buffer.concat([magic, Buffer.from([0xa0]), size, blockHeader(true, 0, 5), Buffer.from('fives')])).toString()).toBe('fives')
  })
})
