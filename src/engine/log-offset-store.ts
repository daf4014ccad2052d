/**
 * The OffsetStore of a real engine: committed offsets and group metadata as records of the
 * compacted internal topic `__consumer_offsets`, exactly where Kafka keeps them. Each
 * `append` becomes one RecordBatch v2 appended through the engine's one append path, so
 * commits are as durable as the engine's flush policy makes any append ('always': fsynced
 * before the commit is acknowledged). `load` replays every partition from its log start.
 */
import { assert } from '../core/assert.js'
import { encodeRecordBatch } from '../io/record-batch-encoder.js'
import { batchesIn } from '../io/record-batch-view.js'
import type { OffsetStore, OffsetStoreRecord } from './offset-store.js'
import type { AppendResult, PartitionLog } from './partition-log.js'

export interface LogOffsetStoreOptions {
  partitionCount: number
  /** Creates `__consumer_offsets` when it does not exist yet (on first commit). */
  ensureTopic: () => Promise<void>
  /** The open log of a partition of `__consumer_offsets`, if the topic exists. */
  log: (partition: number) => PartitionLog | undefined
  append: (partition: number, batch: Uint8Array) => Promise<AppendResult>
}

/** Bytes read per step while replaying a partition. */
const LOAD_READ_BYTES = 4 * 1024 * 1024

export class LogOffsetStore implements OffsetStore {
  constructor (private readonly options: LogOffsetStoreOptions) {}

  async append (partition: number, records: readonly OffsetStoreRecord[]): Promise<void> {
    assert(Number.isInteger(partition) && partition >= 0 && partition < this.options.partitionCount, 'offsets partition out of range')
    if (records.length === 0) return
    await this.options.ensureTopic()
    const batch = encodeRecordBatch({
      records: records.map((record) => ({ key: record.key, value: record.value, timestamp: record.timestamp }))
    })
    await this.options.append(partition, batch)
  }

  async * load (): AsyncIterable<OffsetStoreRecord> {
    for (let partition = 0; partition < this.options.partitionCount; partition++) {
      const log = this.options.log(partition)
      if (log === undefined) continue
      let offset = log.logStartOffset
      while (offset < log.highWatermark) {
        const { records } = await log.read(offset, { maxBytes: LOAD_READ_BYTES })
        let next = offset
        for (const batch of batchesIn(records, { verifyCrc: false })) {
          if (batch.isControl) { next = batch.nextOffset; continue }
          for (const record of batch) {
            if (record.offset < offset || record.key === null) continue
            yield { key: record.key, value: record.value, timestamp: record.timestamp }
          }
          next = batch.nextOffset
        }
        if (next <= offset) break
        offset = next
      }
    }
  }
}
