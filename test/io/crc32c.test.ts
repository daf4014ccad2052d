import { describe, expect, it, vi } from 'vitest'
import { fc, test } from '@fast-check/vitest'
import { crc32c, crc32cImplementation, crc32cJs, crc32cNative, crc32cWasm } from '../../src/io/crc32c.js'
import { crc32cSlot, SCRATCH_BYTES } from '../../src/io/wasm-kernels.js'
import { isSluiceError } from '../../src/core/errors.js'

type Crc = (bytes: Uint8Array, initial?: number) => number

const implementations: Array<[string, Crc]> = [
  ['crc32c', crc32c],
  ['crc32cJs', crc32cJs],
  ['crc32cWasm', crc32cWasm]
]
if (crc32cNative !== null) implementations.push(['crc32cNative', crc32cNative])

/** Bit-at-a-time CRC-32C straight from the definition: an independent check on the tables. */
function crc32cBitwise (bytes: Uint8Array): number {
  let crc = 0xffffffff
  for (const byte of bytes) {
    crc ^= byte
    for (let bit = 0; bit < 8; bit++) crc = (crc & 1) !== 0 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1
  }
  return ~crc >>> 0
}

/**
 * `length` pseudo-random bytes (xorshift32 from `seed`) placed at `byteOffset` inside a larger
 * Buffer, the way a pooled Buffer slice arrives.
 */
function pooledBytes (length: number, byteOffset: number, seed: number): Buffer {
  const backing = Buffer.alloc(byteOffset + length + 7, 0xa5)
  let state = seed | 1
  for (let i = 0; i < length; i++) {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    backing[byteOffset + i] = state & 0xff
  }
  return backing.subarray(byteOffset, byteOffset + length)
}

const text = (value: string): Uint8Array => new TextEncoder().encode(value)

describe('crc32c', () => {
  it('the WASM kernel loaded', () => {
    expect(crc32cSlot.error).toBeNull()
    expect(['native', 'wasm', 'js']).toContain(crc32cImplementation)
  })

  // Published vectors: the CRC-32C check value, Kafka's Crc32CTest, kafkajs's crc32C spec, RFC 3720.
  const vectors: Array<[string, Uint8Array, number]> = [
    ['"123456789"', text('123456789'), 0xe3069283],
    ['"Some String"', text('Some String'), 608512271],
    ['one zero byte', new Uint8Array(1), 1383945041],
    ['empty', new Uint8Array(0), 0],
    ['32 x 0x00', new Uint8Array(32), 0x8a9136aa],
    ['32 x 0xFF', new Uint8Array(32).fill(0xff), 0x62a8ab43]
  ]
  for (const [name, crc] of implementations) {
    it.each(vectors)(`${name}(%s) matches the published value`, (_label, bytes, expected) => {
      expect(crc(bytes)).toBe(expected)
      expect(crc32cBitwise(bytes)).toBe(expected)
    })
  }

  it('returns unsigned values (compares with readUInt32BE)', () => {
    const bytes = text('123456789')
    const header = Buffer.alloc(4)
    header.writeUInt32BE(crc32c(bytes))
    expect(header.readUInt32BE(0)).toBe(crc32c(bytes))
    expect(crc32c(bytes)).toBeGreaterThan(0x7fffffff)
  })

  for (const [name, crc] of implementations) {
    it(`${name} reads only its own range of a pooled Buffer slice`, () => {
      const backing = Buffer.from('xx123456789yy')
      expect(crc(backing.subarray(2, 11))).toBe(0xe3069283)
      expect(crc(new Uint8Array(backing.buffer, backing.byteOffset + 2, 9))).toBe(0xe3069283)
    })
  }

  for (const [name, crc] of implementations) {
    it(`${name} agrees with the bitwise definition on every length 0..1100`, () => {
      const bytes = pooledBytes(1100, 3, 12345)
      for (let length = 0; length <= 1100; length++) {
        const view = bytes.subarray(0, length)
        expect(crc(view)).toBe(crc32cBitwise(view))
      }
    })
  }

  it('WASM = JS across the scratch size and lane-block boundaries', () => {
    const lengths = [511, 512, 513, 1023, 1024, 1025, SCRATCH_BYTES - 1, SCRATCH_BYTES, SCRATCH_BYTES + 1,
      2 * SCRATCH_BYTES, 3 * SCRATCH_BYTES + 517, 16 * SCRATCH_BYTES + 3]
    for (const length of lengths) {
      const bytes = pooledBytes(length, 5, length)
      const expected = crc32cJs(bytes)
      expect(crc32cWasm(bytes), `length ${length}`).toBe(expected)
      expect(crc32c(bytes), `length ${length}`).toBe(expected)
      if (crc32cNative !== null) expect(crc32cNative(bytes), `length ${length}`).toBe(expected)
    }
  })

  it('WASM still answers right after its memory grows (the scratch view is re-created)', () => {
    const kernel = crc32cSlot.kernel
    expect(kernel).not.toBeNull()
    const before = kernel!.scratch()
    const bytes = pooledBytes(200_000, 1, 99)
    const expected = crc32cJs(bytes)
    expect(crc32cWasm(bytes)).toBe(expected)
    // Reserve more than the free pages so the kernel's memory has to grow; this detaches the
    // ArrayBuffer under every existing view.
    ;(kernel!.exports as unknown as { allocate: (size: number) => number }).allocate(4 * 1024 * 1024)
    expect(before.byteLength).toBe(0)
    expect(crc32cWasm(bytes)).toBe(expected)
    expect(kernel!.scratch().byteLength).toBe(SCRATCH_BYTES)
  })

  it('continues from a previous result, also from its negative int32 reading', () => {
    const all = text('123456789')
    for (const [, crc] of implementations) {
      expect(crc(all.subarray(4), crc(all.subarray(0, 4)))).toBe(0xe3069283)
      expect(crc(new Uint8Array(0), 0xe3069283)).toBe(0xe3069283)
      expect(crc(all.subarray(4), crc(all.subarray(0, 4)) | 0)).toBe(0xe3069283)
    }
  })

  it('rejects a non-Uint8Array input and a non-32-bit initial value with SLUICE_INVALID_OPTION', () => {
    for (const [, crc] of implementations) {
      expect(() => crc('123456789' as unknown as Uint8Array)).toThrow(expect.objectContaining({ code: 'SLUICE_INVALID_OPTION' }))
      for (const initial of [1.5, Number.NaN, 2 ** 32, -(2 ** 31) - 1]) {
        let thrown: unknown
        try { crc(text('a'), initial) } catch (error) { thrown = error }
        expect(isSluiceError(thrown, 'SLUICE_INVALID_OPTION'), `initial ${initial}`).toBe(true)
      }
    }
  })

  const input = fc.record({
    length: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 300_000 })),
    byteOffset: fc.integer({ min: 0, max: 63 }),
    seed: fc.integer()
  })

  test.prop([input], { numRuns: 60 })('WASM = JS = native = auto on random inputs and offsets', ({ length, byteOffset, seed }) => {
    const bytes = pooledBytes(length, byteOffset, seed)
    const expected = crc32cJs(bytes)
    expect(crc32cWasm(bytes)).toBe(expected)
    expect(crc32c(bytes)).toBe(expected)
    if (crc32cNative !== null) expect(crc32cNative(bytes)).toBe(expected)
  })

  test.prop([input, fc.double({ min: 0, max: 1, noNaN: true })], { numRuns: 60 })(
    'crc(a ++ b) = crc(b, crc(a)) for every implementation',
    ({ length, byteOffset, seed }, fraction) => {
      const bytes = pooledBytes(length, byteOffset, seed)
      const split = Math.floor(length * fraction)
      const a = bytes.subarray(0, split)
      const b = bytes.subarray(split)
      for (const [name, crc] of implementations) {
        expect(crc(b, crc(a)), name).toBe(crc(bytes))
      }
    }
  )

  it('without the native binary, crc32c dispatches to WASM (>= 256 bytes) and JS with the same results', async () => {
    vi.stubEnv('SLUICE_CRC32C_NATIVE', '0')
    vi.resetModules()
    try {
      const portable = await import('../../src/io/crc32c.js')
      expect(portable.crc32cImplementation).toBe('wasm')
      expect(portable.crc32cNative).toBeNull()
      expect(portable.crc32c(text('123456789'))).toBe(0xe3069283)
      for (const length of [0, 1, 255, 256, 257, 4096, 3 * SCRATCH_BYTES + 5]) {
        const bytes = pooledBytes(length, 7, length + 1)
        expect(portable.crc32c(bytes), `length ${length}`).toBe(crc32cJs(bytes))
        const half = bytes.subarray(0, length >> 1)
        expect(portable.crc32c(bytes.subarray(length >> 1), portable.crc32c(half)), `length ${length}`).toBe(crc32cJs(bytes))
      }
    } finally {
      vi.unstubAllEnvs()
      vi.resetModules()
    }
  })
})
