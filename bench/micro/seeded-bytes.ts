/** Deterministic bytes (xorshift32) so every run of a micro-benchmark measures the same inputs. */
export function seededBytes (length: number, seed: number): Buffer {
  const bytes = Buffer.allocUnsafe(length)
  let state = seed | 1
  for (let index = 0; index < length; index++) {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    bytes[index] = state & 0xff
  }
  return bytes
}
