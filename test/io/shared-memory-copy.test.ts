import { fc, test } from '@fast-check/vitest'
import { expect } from 'vitest'
import { copyInto } from '../../src/io/shared-memory-copy.js'

const memory = (shared: boolean, bytes: number): Uint8Array => new Uint8Array(shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes))

test.prop([
  fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 2 ** 31 - 1 })
])('copyInto writes exactly the source bytes at the offset, into and out of shared memory', (sharedTarget, sharedSource, length, offset, sourceStart, seed) => {
  const source = memory(sharedSource, sourceStart + length + 7).subarray(sourceStart, sourceStart + length)
  for (let index = 0; index < length; index++) source[index] = (seed + index * 31) & 0xff
  const target = memory(sharedTarget, offset + length + 9)
  target.fill(0xee)
  copyInto(target, offset, source)
  expect(Buffer.from(target.subarray(offset, offset + length)).equals(Buffer.from(source))).toBe(true)
  // Nothing outside the range changes.
  expect(target.subarray(0, offset).every((byte) => byte === 0xee)).toBe(true)
  expect(target.subarray(offset + length).every((byte) => byte === 0xee)).toBe(true)
})

test('copyInto refuses a range past the target', () => {
  expect(() => { copyInto(new Uint8Array(1000), 10, new Uint8Array(999)) }).toThrow(RangeError)
})
