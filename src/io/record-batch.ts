/**
 * Kafka RecordBatch v2 codec: the one module other layers import for encoding, decoding and
 * validating batches. The pieces live in their own files:
 *
 * - `record-batch-header.ts`: header layout, `readBatchHeader`, `validateBatch`
 * - `record-batch-encoder.ts`: `RecordBatchEncoder`, `encodeRecordBatch`, the columns fast path
 * - `record-batch-view.ts`: `RecordBatchView` (lazy), `batchesIn`, `decodeRecordBatch`
 * - `control-record.ts`: transaction markers and other control records
 * - `varint.ts`: the record format's zigzag varints
 */
export * from './record-batch-header.js'
export * from './record-batch-encoder.js'
export * from './record-batch-view.js'
export * from './control-record.js'
export { codecOfAttributes, attributesOfCodec, type CompressionCodec } from './record-batch-compression.js'
