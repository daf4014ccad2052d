/**
 * XXH32, the 32-bit xxHash, in plain TypeScript.
 *
 * Sluice needs it for the LZ4 frame format only: the frame descriptor ends with a one-byte
 * header checksum `(xxh32(descriptor, seed 0) >> 8) & 0xff`, and frames may carry xxh32 block
 * and content checksums. Kafka's writers (the Java client, librdkafka) set neither, so only the
 * 2-14 byte descriptor is hashed on the common path.
 *
 * Arithmetic is unsigned 32-bit: multiplications go through `Math.imul`, and every result is
 * brought back to uint32 with `>>> 0`. Input words are little-endian.
 */

const PRIME32_1 = 0x9e3779b1
const PRIME32_2 = 0x85ebca77
const PRIME32_3 = 0xc2b2ae3d
const PRIME32_4 = 0x27d4eb2f
const PRIME32_5 = 0x165667b1

function rotl32 (value: number, bits: number): number {
  return ((value << bits) | (value >>> (32 - bits))) >>> 0
}

function round (accumulator: number, lane: number): number {
  const mixed = (accumulator + Math.imul(lane, PRIME32_2)) >>> 0
  return Math.imul(rotl32(mixed, 13), PRIME32_1) >>> 0
}

function readUint32LE (data: Uint8Array, index: number): number {
  return (data[index]! | (data[index + 1]! << 8) | (data[index + 2]! << 16) | (data[index + 3]! << 24)) >>> 0
}

/** XXH32 of `data` with `seed` (default 0), as an unsigned 32-bit integer. */
export function xxhash32 (data: Uint8Array, seed = 0): number {
  const length = data.length
  let index = 0
  let hash: number
  if (length >= 16) {
    let v1 = (seed + PRIME32_1 + PRIME32_2) >>> 0
    let v2 = (seed + PRIME32_2) >>> 0
    let v3 = seed >>> 0
    let v4 = (seed - PRIME32_1) >>> 0
    const limit = length - 16
    while (index <= limit) {
      v1 = round(v1, readUint32LE(data, index))
      v2 = round(v2, readUint32LE(data, index + 4))
      v3 = round(v3, readUint32LE(data, index + 8))
      v4 = round(v4, readUint32LE(data, index + 12))
      index += 16
    }
    hash = (rotl32(v1, 1) + rotl32(v2, 7) + rotl32(v3, 12) + rotl32(v4, 18)) >>> 0
  } else {
    hash = (seed + PRIME32_5) >>> 0
  }
  // The length is added modulo 2^32, as the reference does for its uint32 accumulator.
  hash = (hash + length) >>> 0
  while (index + 4 <= length) {
    hash = (hash + Math.imul(readUint32LE(data, index), PRIME32_3)) >>> 0
    hash = Math.imul(rotl32(hash, 17), PRIME32_4) >>> 0
    index += 4
  }
  while (index < length) {
    hash = (hash + Math.imul(data[index]!, PRIME32_5)) >>> 0
    hash = Math.imul(rotl32(hash, 11), PRIME32_1) >>> 0
    index += 1
  }
  hash ^= hash >>> 15
  hash = Math.imul(hash, PRIME32_2) >>> 0
  hash ^= hash >>> 13
  hash = Math.imul(hash, PRIME32_3) >>> 0
  hash ^= hash >>> 16
  return hash >>> 0
}
