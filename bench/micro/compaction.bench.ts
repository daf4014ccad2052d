/**
 * Compaction's two CPU passes over one 1.1 MiB window: 100 uncompressed batches of 100 records
 * (16-byte keys drawn from 1000 distinct keys, 100-byte values), so each key has ~10 versions.
 *
 * - map: decode every record and put its key in the offset map (hash + full-key probe);
 * - filter: decode, keep the newest record per key (~1 in 10), re-encode the survivors.
 *
 * Expectation: decoding runs at ~10 M records/s (record-batch.bench.ts); xxh32 of a 16-byte key
 * in JS plus a probe with a 16-byte compare is ~50-80 ns, so the map pass should land near
 * 5-8 M records/s. Filtering decodes everything, looks every key up and re-encodes a tenth:
 * ~4-6 M records/s, i.e. ~0.5 GB/s of log. Both are far above what the disk feeds the cleaner
 * on this machine, which is why the cleaner's windows are sized for memory, not for CPU.
 *
 * Measured on the shared 2-core development machine (median of three runner runs, noisy):
 * map pass 6.0 M records/s (0.75 GB/s), filter pass 4.9 M records/s (0.62 GB/s).
 */
import { OffsetMap } from '../../src/io/compaction-offset-map.js'
import { filterBatches, mapWindow } from '../../src/io/compaction-filter.js'
import { RecordBatchEncoder } from '../../src/io/record-batch.js'
import type { MicroSuite } from './task.js'

const suite: MicroSuite = ({ smoke }) => {
  const batchCount = smoke ? 2 : 100
  const perBatch = smoke ? 10 : 100
  const distinctKeys = smoke ? 5 : 1000
  const encoder = new RecordBatchEncoder()
  const keys: Buffer[] = []
  for (let index = 0; index < distinctKeys; index++) keys.push(Buffer.from(`key-${String(index).padStart(12, '0')}`))
  const value = Buffer.alloc(100, 7)
  const batches: Buffer[] = []
  let offset = 0
  let state = 12345
  for (let batch = 0; batch < batchCount; batch++) {
    const batchKeys: Buffer[] = []
    const values: Buffer[] = []
    for (let index = 0; index < perBatch; index++) {
      state ^= state << 13
      state ^= state >>> 17
      state ^= state << 5
      batchKeys.push(keys[(state >>> 0) % distinctKeys]!)
      values.push(value)
    }
    batches.push(encoder.encodeColumns({ baseOffset: offset, keys: batchKeys, values, baseTimestamp: 1_700_000_000_000 }))
    offset += perBatch
  }
  const window = Buffer.concat(batches)
  const records = batchCount * perBatch
  const built = OffsetMap.create()
  mapWindow(window, built, { dirtyStart: 0, endOffset: Number.POSITIVE_INFINITY })
  return [
    {
      name: 'map pass (decode + put keys)',
      bytesPerOp: window.length,
      recordsPerOp: records,
      fn: () => {
        const map = OffsetMap.create({ entriesMax: 4096, keyBytesMax: 1 << 16 })
        mapWindow(window, map, { dirtyStart: 0, endOffset: Number.POSITIVE_INFINITY })
        return map.size
      }
    },
    {
      name: 'filter pass (newest per key, re-encode)',
      bytesPerOp: window.length,
      recordsPerOp: records,
      fn: () => {
        const chunks = filterBatches(window, { map: built, now: 1_800_000_000_000, deleteRetentionMs: 86_400_000, lastBatchOffsetOf: () => -1 })
        let total = 0
        for (const chunk of chunks) total += chunk.byteLength
        return total
      }
    }
  ]
}

export default suite
