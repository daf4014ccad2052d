/**
 * Kafka's murmur2 (`org.apache.kafka.common.utils.Utils.murmur2`): MurmurHash2, 32-bit, seed
 * 0x9747b28c, little-endian 4-byte words, the 1-3 byte tail folded in with fall-through, result
 * read as a signed int32 exactly as Java returns it.
 *
 * Memory layout: a scratch region reserved once by `allocate`; the host copies the key into it.
 */

const SEED: u32 = 0x9747b28c
const M: u32 = 0x5bd1e995
const R: u32 = 24

/** Reserves `size` bytes of linear memory (once, at host init) and returns their address. */
export function allocate (size: usize): usize {
  return heap.alloc(size)
}

/** murmur2 of memory[pointer, pointer + length). */
export function murmur2 (pointer: usize, length: u32): i32 {
  let h: u32 = SEED ^ length
  let p = pointer
  const end4 = pointer + <usize>(length & ~3)
  while (p < end4) {
    let k = load<u32>(p)
    k *= M
    k ^= k >>> R
    k *= M
    h *= M
    h ^= k
    p += 4
  }
  switch (length & 3) {
    case 3: h ^= <u32>load<u8>(p, 2) << 16
    // fall through
    case 2: h ^= <u32>load<u8>(p, 1) << 8
    // fall through
    case 1:
      h ^= <u32>load<u8>(p)
      h *= M
  }
  h ^= h >>> 13
  h *= M
  h ^= h >>> 15
  return <i32>h
}
