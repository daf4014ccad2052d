/**
 * Choosing a partition for a record, as Kafka's Java producer does (KIP-794):
 * - an explicit partition wins;
 * - a custom partitioner function, when configured, decides next;
 * - a keyed record goes to `toPositive(murmur2(key)) % partitionCount` over all partitions, so
 *   the same key lands where a Java client (or kafkajs's default partitioner) would put it;
 * - a record without a key sticks to one partition until `batch.size` bytes went there, then a
 *   new partition is picked at random (sticky partitioning keeps batches full at low rates).
 */
import { defaultPartition } from '../io/murmur2.js'

export interface PartitionerInput {
  topic: string
  key: Uint8Array | null
  value: Uint8Array | null
  partitionCount: number
}

/** A user-supplied partitioner; returns a partition index in [0, partitionCount). */
export type CustomPartitioner = (input: PartitionerInput) => number

interface StickyState {
  partition: number
  bytes: number
}

export class StickyPartitioner {
  readonly #sticky = new Map<string, StickyState>()

  constructor (private readonly batchBytes: number, private readonly random: () => number = Math.random) {}

  /** Partition for a keyless record of `recordBytes` bytes; advances the sticky state. */
  next (topic: string, partitionCount: number, recordBytes: number): number {
    let state = this.#sticky.get(topic)
    if (state === undefined || state.partition >= partitionCount) {
      state = { partition: this.#pick(partitionCount, -1), bytes: 0 }
      this.#sticky.set(topic, state)
    } else if (state.bytes >= this.batchBytes) {
      state.partition = this.#pick(partitionCount, state.partition)
      state.bytes = 0
    }
    state.bytes += recordBytes
    return state.partition
  }

  #pick (partitionCount: number, previous: number): number {
    if (partitionCount === 1) return 0
    // Moving on means a different partition: re-picking the same one would keep one batch growing.
    let choice = Math.floor(this.random() * partitionCount)
    if (choice === previous) choice = (choice + 1) % partitionCount
    return choice
  }
}

export function keyedPartition (key: Uint8Array, partitionCount: number): number {
  // One partition: every key maps to 0, no need to hash (the per-message send path's common case).
  if (partitionCount === 1) return 0
  return defaultPartition(key, partitionCount)
}
