/**
 * Seeded inputs for the compression tests and benchmarks: incompressible bytes, and
 * "semi-compressible" record-like bytes (JSON-ish values with repeating keys and varying
 * numbers), as a RecordBatch's records section carries them.
 */

/** mulberry32: a small seeded PRNG, so a failing property reproduces from its seed. */
export function seededRandom (seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let value = state
    value = Math.imul(value ^ (value >>> 15), value | 1)
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61)
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296
  }
}

export function incompressibleBytes (size: number, seed: number): Buffer {
  const random = seededRandom(seed)
  const output = Buffer.allocUnsafe(size)
  for (let index = 0; index < size; index++) output[index] = Math.floor(random() * 256)
  return output
}

const words = ['order', 'customer', 'amount', 'currency', 'EUR', 'USD', 'status', 'shipped', 'pending', 'sku', 'warehouse', 'note']

/** JSON-ish text of exactly `size` bytes: compresses 3-8x depending on the codec. */
export function recordLikeBytes (size: number, seed: number): Buffer {
  const random = seededRandom(seed)
  const parts: string[] = []
  let length = 0
  while (length < size) {
    const part = `{"id":${Math.floor(random() * 1e9)},"${words[Math.floor(random() * words.length)]!}":"${words[Math.floor(random() * words.length)]!}-${Math.floor(random() * 1e6).toString(36)}","ts":${1700000000000 + Math.floor(random() * 1e7)}}`
    parts.push(part)
    length += part.length
  }
  return Buffer.from(parts.join('').slice(0, size), 'latin1')
}
