import { describe, expect, it } from 'vitest'
import { xxhash32 } from '../../src/io/xxhash32.js'

describe('xxhash32', () => {
  // Reference vectors of XXH32 (seed 0 unless stated), as published with the xxHash project.
  it.each([
    ['', 0, 0x02cc5d05],
    ['a', 0, 0x550d7456],
    ['abc', 0, 0x32d153ff],
    ['Nobody inspects the spammish repetition', 0, 0xe2293b2f],
    ['', 1, 0x0b2cb792]
  ])('xxh32(%j, seed %i) = %i', (text, seed, expected) => {
    expect(xxhash32(Buffer.from(text), seed)).toBe(expected)
  })

  it('gives the LZ4 header checksum byte 0x82 for the Java descriptor 60 40', () => {
    expect((xxhash32(Uint8Array.of(0x60, 0x40)) >>> 8) & 0xff).toBe(0x82)
  })

  it('reads input from a view at a non-zero byteOffset', () => {
    const backing = Buffer.from('xxabcxx')
    expect(xxhash32(backing.subarray(2, 5))).toBe(0x32d153ff)
  })
})
