/**
 * Every batch a partition stores, from its log start offset to its high watermark, read through
 * the engine and CRC-checked as a consumer would check them.
 */
import type { Engine } from '../../src/engine/engine.js'
import { batchesIn, type RecordBatchView } from '../../src/io/record-batch-view.js'

export async function storedBatchViews (engine: Engine, topic: string, partition = 0): Promise<RecordBatchView[]> {
  const log = engine.partitionLog(topic, partition)
  const batches: RecordBatchView[] = []
  let offset = log.logStartOffset
  // Bounded: every read below the high watermark returns at least one batch.
  while (offset < log.highWatermark) {
    const { records } = await engine.read(topic, partition, offset, 1024 * 1024)
    for (const batch of batchesIn(records, { verifyCrc: true })) {
      batches.push(batch)
      offset = batch.nextOffset
    }
  }
  return batches
}
