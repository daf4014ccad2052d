import { describe, expect, it } from 'vitest'
import { compressFrameSync as lz4NativeCompressFrame, decompressFrameSync as lz4NativeDecompressFrame } from 'lz4-napi'
import { compressSync, decompressOnThreadpool, decompressSync } from '../../src/io/compression.js'
import { lz4JavaBlockBytes, scanLz4Frame, writeLz4Frame } from '../../src/io/lz4-frame.js'
import { xxhash32 } from '../../src/io/xxhash32.js'
import { isSluiceError } from '../../src/core/errors.js'
import { incompressibleBytes, recordLikeBytes } from './compression-fixtures.js'

/** A frame header computed here from the spec: magic, FLG, BD, [content size], HC. */
function frameHeader (flg: number, bd: number, contentSize?: bigint): Buffer {
  const descriptor = Buffer.alloc(contentSize === undefined ? 2 : 10)
  descriptor[0] = flg
  descriptor[1] = bd
  if (contentSize !== undefined) descriptor.writeBigUInt64LE(contentSize, 2)
  const hc = (xxhash32(descriptor) >>> 8) & 0xff
  return Buffer.concat([Buffer.from('04224d18', 'hex'), descriptor, Buffer.from([hc])])
}

function uint32LE (value: number): Buffer {
  const buffer = Buffer.alloc(4)
  buffer.writeUInt32LE(value >>> 0)
  return buffer
}

function expectCorrupt (data: Uint8Array, pattern: RegExp): void {
  try {
    decompressSync('lz4', data)
  } catch (error) {
    expect(isSluiceError(error, 'CORRUPT_MESSAGE')).toBe(true)
    expect((error as Error).message).toMatch(/^lz4: /)
    expect((error as Error).message).toMatch(pattern)
    return
  }
  expect.fail('decompressSync accepted corrupt lz4 input')
}

describe('lz4 frames as the Java client writes them', () => {
  it('the header is magic 04 22 4D 18, FLG 0x60, BD 0x40 and HC from xxh32', () => {
    const frame = compressSync('lz4', recordLikeBytes(1000, 1))
    expect(frame.subarray(0, 7).equals(frameHeader(0x60, 0x40))).toBe(true)
    expect(frame[6]).toBe(0x82)
    expect(frame.subarray(frame.length - 4).toString('hex')).toBe('00000000')
  })

  it('writes 64 KiB blocks and stores blocks that do not shrink uncompressed', () => {
    const data = Buffer.concat([recordLikeBytes(lz4JavaBlockBytes, 2), incompressibleBytes(lz4JavaBlockBytes, 3), recordLikeBytes(10, 4)])
    const frame = writeLz4Frame(data)
    const words: number[] = []
    let position = 7
    for (;;) {
      const word = frame.readUInt32LE(position)
      words.push(word)
      if (word === 0) break
      position += 4 + (word & 0x7fffffff)
    }
    expect(position + 4).toBe(frame.length)
    expect(words).toHaveLength(4)
    expect(words[0]! & 0x80000000).toBe(0)
    expect(words[0]!).toBeLessThan(lz4JavaBlockBytes)
    expect(words[1]).toBe((0x80000000 | lz4JavaBlockBytes) >>> 0)
    const scan = scanLz4Frame(frame)
    expect(scan).toMatchObject({ flg: 0x60, bd: 0x40, blockMaximumBytes: 65536, independent: true, contentSize: -1, contentChecksum: undefined })
    expect(scan.blocks.map((block) => block.stored)).toEqual([false, true, true]) // 10 bytes do not shrink
    expect(decompressSync('lz4', frame).equals(data)).toBe(true)
  })

  it('writes an empty input as header + end mark, like the native frame writer', () => {
    const frame = compressSync('lz4', new Uint8Array(0))
    expect(frame.toString('hex')).toBe('04224d1860408200000000')
    expect(frame.equals(lz4NativeCompressFrame(Buffer.alloc(0)))).toBe(true)
    expect(decompressSync('lz4', frame).length).toBe(0)
  })

  it('frames we write are read by the native frame decoder', () => {
    const data = recordLikeBytes(300_000, 5)
    expect(lz4NativeDecompressFrame(compressSync('lz4', data)).equals(data)).toBe(true)
  })

  it('reads a hand-built FLG 0x60 / BD 0x40 frame with a compressed and a stored block', () => {
    // Block 1 (LZ4 block format): 4 literals "abcd", then a match of 20 bytes at offset 4
    // (token 0x4F: literal length 4, match length 15+4 plus one extra byte 0x01), then the
    // final sequence of 8 literals. Block 2 is stored (bit 31 set).
    const block1 = Buffer.concat([Buffer.from([0x4f]), Buffer.from('abcd'), Buffer.from([0x04, 0x00, 0x01]), Buffer.from([0x80]), Buffer.from('XYZ12345')])
    const block2 = Buffer.from('hello')
    const frame = Buffer.concat([
      frameHeader(0x60, 0x40),
      uint32LE(block1.length), block1,
      uint32LE(0x80000000 | block2.length), block2,
      uint32LE(0)
    ])
    expect(decompressSync('lz4', frame).toString()).toBe('abcdabcdabcdabcdabcdabcdXYZ12345hello')
  })

  it('reads linked (dependent) blocks whose matches reach into the previous block', () => {
    // FLG 0x40: block independence off. Block 2 copies 16 bytes from block 1 (offset 16).
    const block1 = Buffer.from('0123456789abcdef')
    const block2 = Buffer.concat([Buffer.from([0x0c, 0x10, 0x00, 0x50]), Buffer.from('tail!')])
    const frame = Buffer.concat([
      frameHeader(0x40, 0x40),
      uint32LE(0x80000000 | block1.length), block1,
      uint32LE(block2.length), block2,
      uint32LE(0)
    ])
    expect(decompressSync('lz4', frame).toString()).toBe('0123456789abcdef0123456789abcdeftail!')
  })

  it('hands linked blocks a dictionary spanning several earlier blocks, sync and on the threadpool', async () => {
    // Two stored 10-byte blocks, then a compressed block copying 20 bytes from offset 20: the
    // match starts in the first block, so the dictionary must join both.
    const block3 = Buffer.concat([Buffer.from([0x0f, 0x14, 0x00, 0x01, 0x50]), Buffer.from('end!!')])
    const frame = Buffer.concat([
      frameHeader(0x40, 0x40),
      uint32LE(0x8000000a), Buffer.from('aaaaaaaaaa'),
      uint32LE(0x8000000a), Buffer.from('bbbbbbbbbb'),
      uint32LE(block3.length), block3,
      uint32LE(0)
    ])
    const expected = 'aaaaaaaaaabbbbbbbbbbaaaaaaaaaabbbbbbbbbbend!!'
    expect(decompressSync('lz4', frame).toString()).toBe(expected)
    expect((await decompressOnThreadpool('lz4', frame)).toString()).toBe(expected)
    // The same blocks in a frame that declares them independent cannot be decoded.
    const independent = Buffer.concat([frameHeader(0x60, 0x40), frame.subarray(7)])
    expectCorrupt(independent, /./)
    expect(await decompressOnThreadpool('lz4', independent).catch((error: unknown) => (error as { code: string }).code)).toBe('CORRUPT_MESSAGE')
  })

  it('reads frames with content size, block checksums and content checksum', () => {
    const data = recordLikeBytes(200_000, 6)
    const frame = lz4NativeCompressFrame(data, { blockChecksums: true, contentChecksum: true })
    expect(frame[4]! & 0x14).toBe(0x14)
    expect(decompressSync('lz4', frame).equals(data)).toBe(true)
    const withSize = Buffer.concat([frameHeader(0x68, 0x40, 5n), uint32LE(0x80000005), Buffer.from('fives'), uint32LE(0)])
    expect(decompressSync('lz4', withSize).toString()).toBe('fives')
  })

  it('reads the native writer\'s larger block sizes (256 KiB .. 4 MiB)', () => {
    const data = recordLikeBytes(5 * 1024 * 1024, 7)
    const frame = lz4NativeCompressFrame(data)
    expect(frame[5]).toBe(0x70)
    expect(decompressSync('lz4', frame, { decompressedBytesMax: 64 * 1024 * 1024 }).equals(data)).toBe(true)
  })
})

describe('corrupt lz4 input is CORRUPT_MESSAGE', () => {
  const good = compressSync('lz4', recordLikeBytes(150_000, 8))

  it('bad magic', () => { expectCorrupt(Buffer.concat([Buffer.from('04224d19', 'hex'), good.subarray(4)]), /bad magic/) })
  it('header checksum mismatch', () => {
    const bad = Buffer.from(good)
    bad[6] = bad[6]! ^ 0xff
    expectCorrupt(bad, /header checksum/)
  })
  it('reserved BD bits', () => {
    const bad = Buffer.concat([frameHeader(0x60, 0x41), good.subarray(7)])
    expectCorrupt(bad, /reserved BD/)
  })
  it('unsupported version', () => { expectCorrupt(Buffer.concat([frameHeader(0xa0, 0x40), good.subarray(7)]), /version/) })
  it('dictionary id', () => { expectCorrupt(Buffer.concat([frameHeader(0x61, 0x40), good.subarray(7)]), /dictionary/) })
  it('block larger than the block maximum', () => {
    expectCorrupt(Buffer.concat([frameHeader(0x60, 0x40), uint32LE(0x80000000 | 65537), Buffer.alloc(65537), uint32LE(0)]), /exceeds the block maximum/)
  })
  it('block length beyond the data', () => {
    expectCorrupt(Buffer.concat([frameHeader(0x60, 0x40), uint32LE(100), Buffer.alloc(10)]), /exceeds the 10 bytes left/)
  })
  it('missing end mark (truncated)', () => { expectCorrupt(good.subarray(0, good.length - 3), /end mark/) })
  it('trailing bytes', () => { expectCorrupt(Buffer.concat([good, Buffer.from([1, 2])]), /trailing/) })
  it('a compressed block whose match reaches before the start of the output', () => {
    // Token 0x10: one literal then a match at offset 4096 when only 1 byte exists. (Without
    // checksums LZ4 cannot detect every flipped byte; the batch CRC-32C covers those.)
    const block = Buffer.from([0x10, 0x41, 0x00, 0x10, 0x50, 0x41, 0x41, 0x41, 0x41, 0x41])
    expectCorrupt(Buffer.concat([frameHeader(0x60, 0x40), uint32LE(block.length), block, uint32LE(0)]), /./)
  })
  it('content checksum mismatch', () => {
    const frame = lz4NativeCompressFrame(Buffer.from('check me, check me'), { contentChecksum: true })
    frame[frame.length - 1] = frame[frame.length - 1]! ^ 1
    expectCorrupt(frame, /./)
  })
  it('empty input', () => { expectCorrupt(new Uint8Array(0), /shorter/) })
  it('block checksum mismatch', () => {
    const frame = lz4NativeCompressFrame(recordLikeBytes(1000, 9), { blockChecksums: true })
    const block = scanLz4Frame(frame).blocks[0]!
    const checksumAt = block.position + 4 + block.bytes.length
    frame[checksumAt] = frame[checksumAt]! ^ 0x01
    expectCorrupt(frame, /block checksum/)
  })
  it('a compressed block that would decode past the 64 KiB block maximum', () => {
    // One literal, then a match of 70000 bytes at offset 1 (length 15 + 4 + 274 x 255 + 111), then 5 literals.
    const block = Buffer.concat([Buffer.from([0x1f, 0x61, 0x01, 0x00]), Buffer.alloc(274, 0xff), Buffer.from([0x6f, 0x50]), Buffer.from('zzzzz')])
    expectCorrupt(Buffer.concat([frameHeader(0x60, 0x40), uint32LE(block.length), block, uint32LE(0)]), /./)
    const larger = Buffer.concat([frameHeader(0x60, 0x50), uint32LE(block.length), block, uint32LE(0)])
    expect(decompressSync('lz4', larger).length).toBe(70006)
  })
  it.each([4n, 6n, 1n << 40n, (1n << 64n) - 1n])('a content size (%s) that does not match the blocks', (contentSize) => {
    const frame = Buffer.concat([frameHeader(0x68, 0x40, contentSize), uint32LE(0x80000005), Buffer.from('fives'), uint32LE(0)])
    expectCorrupt(frame, /./)
  })
})
