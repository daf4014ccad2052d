/**
 * Kafka's topic-level `compression.type`: 'producer' stores batches as producers compressed
 * them; 'uncompressed', 'gzip', 'snappy', 'lz4' or 'zstd' make the log store every batch with
 * that codec, recompressing the ones that arrive with another (control batches excepted). In
 * format v2 the records inside are the same bytes whatever compresses them, so recompression
 * swaps the records section, the codec bits, the length and the CRC (`recompressBatch`).
 *
 * Recompression runs off the event loop (compression.ts), so an append that needs it finishes
 * later than one that does not. The log assigns offsets in the order appends reach it, and
 * producers pipeline several batches per partition and count on that order (idempotent
 * sequences most of all), so a partition's appends go through a `StagingQueue` while any
 * recompression is pending for it: each reaches the log only after every earlier one did.
 */
import type { CompressionCodec } from '../io/compression.js'
import { codecOfAttributes } from '../io/record-batch-compression.js'
import { BatchAttribute, BatchOffset, RECORD_BATCH_OVERHEAD } from '../io/record-batch-header.js'
import type { TopicCompressionType } from './topic-config.js'

/**
 * The codec `batch` must be recompressed to under the topic's `compression.type`, or
 * undefined when it is stored as it is. Too short a batch is left to the log's validation.
 */
export function recompressionCodec (type: TopicCompressionType, batch: Uint8Array): CompressionCodec | undefined {
  if (type === 'producer' || batch.byteLength < RECORD_BATCH_OVERHEAD) return undefined
  const attributes = batch[BatchOffset.attributes + 1]!
  if ((attributes & BatchAttribute.control) !== 0) return undefined
  const target: CompressionCodec = type === 'uncompressed' ? 'none' : type
  return codecOfAttributes(attributes) === target ? undefined : target
}

/**
 * Per-partition FIFO of appends that wait for a preparation (a recompression): each entry
 * reaches `stage` once its batch is ready and every earlier entry of the partition reached it.
 * `PartitionLog.append` stages in its first synchronous step, so staging order is call order;
 * the one exception, an idempotent batch waiting for an unsettled earlier batch of its own
 * producer (producer-state.ts), is ordered by that producer's sequence numbers instead.
 */
export class StagingQueue {
  /** The last entry of each partition with entries pending; settles once it staged. */
  private readonly tails = new Map<string, Promise<void>>()

  /** True when `key` has entries that have not reached the log yet. */
  has (key: string): boolean {
    return this.tails.has(key)
  }

  enqueue<T> (key: string, prepared: Promise<Uint8Array>, stage: (batch: Uint8Array) => Promise<T>): Promise<T> {
    const previous = this.tails.get(key)
    let result: Promise<T> | undefined
    const staged = (async () => {
      let batch: Uint8Array
      try {
        batch = await prepared
      } finally {
        // Also on failure: an entry's outcome is never reported before an earlier one staged.
        if (previous !== undefined) await previous
      }
      result = stage(batch)
    })()
    const tail = staged.then(() => {}, () => {})
    this.tails.set(key, tail)
    void tail.then(() => { if (this.tails.get(key) === tail) this.tails.delete(key) })
    return staged.then(async () => await result!)
  }
}
