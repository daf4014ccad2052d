/**
 * Checksums and hashes: CRC-32C (native, WASM, JS) on 1 KiB, 64 KiB and 1 MiB inputs; Kafka's
 * murmur2 (auto, JS, WASM) on 8, 32 and 100-byte keys.
 *
 * Expectation. CRC-32C with the CPU's crc32 instruction (native) runs at one 8-byte step per
 * cycle or so: ~8 GB/s on large inputs, less at 1 KiB where the ~65 ns N-API crossing weighs.
 * WASM has no CRC instruction: four-lane slicing-by-8 issues eight table loads per eight bytes,
 * so two to three load ports at ~3 GHz bound it near 4 GB/s (the target is >= 2 GB/s at 1 MiB),
 * plus a memcpy into its scratch at ~20 GB/s. Plain JS slicing-by-8 runs one register chain with
 * bounds-checked loads: ~1.5-2 GB/s. murmur2 is a serial multiply chain, ~1 ns per 4-byte word
 * plus ~5 ns of call and finalisation: an 8-byte key ~5 ns, 100 bytes ~40 ns.
 *
 * Each task covers many inputs per operation (distinct pooled slices at odd byte offsets, as a
 * broker sees them), so the runner's per-call overhead does not swamp nanosecond-scale calls.
 */
import { crc32cJs, crc32cNative, crc32cWasm } from '../../src/io/crc32c.js'
import { murmur2, murmur2Js, murmur2Wasm } from '../../src/io/murmur2.js'
import { seededBytes } from './seeded-bytes.js'
import type { MicroSuite, MicroTask } from './task.js'

/** `count` inputs of `size` bytes, each a slice of one backing buffer at an odd offset. */
function pooledInputs (size: number, count: number, seed: number): Buffer[] {
  const stride = size + 3
  const backing = seededBytes(stride * count + 1, seed)
  return Array.from({ length: count }, (_, index) => backing.subarray(1 + index * stride, 1 + index * stride + size))
}

/** Calls `hash` on every input; the xor of the results is the task's observable value. */
function overAll (inputs: readonly Uint8Array[], hash: (bytes: Uint8Array) => number): () => number {
  return () => {
    let sink = 0
    for (let index = 0; index < inputs.length; index++) sink ^= hash(inputs[index]!)
    return sink
  }
}

const KIB = 1024

const suite: MicroSuite = ({ smoke }) => {
  const tasks: MicroTask[] = []

  const crcSizes = smoke ? [64, 4 * KIB] : [KIB, 64 * KIB, KIB * KIB]
  for (const size of crcSizes) {
    // About 1 MiB of input per operation (at least one input), spread over distinct slices.
    const count = Math.max(1, Math.floor((smoke ? 8 * KIB : KIB * KIB) / size))
    const inputs = pooledInputs(size, count, size)
    const label = size >= KIB * KIB ? `${size / (KIB * KIB)} MiB` : size >= KIB ? `${size / KIB} KiB` : `${size} B`
    const implementations: Array<[string, (bytes: Uint8Array) => number]> = [['wasm', crc32cWasm], ['js', crc32cJs]]
    if (crc32cNative !== null) implementations.unshift(['native', crc32cNative])
    for (const [name, crc] of implementations) {
      tasks.push({ name: `crc32c ${name} ${label} x${count}`, fn: overAll(inputs, crc), bytesPerOp: size * count, recordsPerOp: count })
    }
  }

  const keySizes = [8, 32, 100]
  const keyCount = smoke ? 16 : 1000
  for (const size of keySizes) {
    const inputs = pooledInputs(size, keyCount, size + 1)
    const implementations: Array<[string, (bytes: Uint8Array) => number]> = [['auto', murmur2], ['js', murmur2Js], ['wasm', murmur2Wasm]]
    for (const [name, hash] of implementations) {
      tasks.push({ name: `murmur2 ${name} ${size} B x${keyCount}`, fn: overAll(inputs, hash), bytesPerOp: size * keyCount, recordsPerOp: keyCount })
    }
  }
  return tasks
}

export default suite
