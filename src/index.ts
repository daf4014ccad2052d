/**
 * Sluice's public surface. Everything a user imports comes from here.
 */
export { SluiceError, isSluiceError, kafkaErrorName, type ErrorCode, type SluiceErrorOptions } from './core/errors.js'
export { kafkaErrors, type KafkaErrorName } from './core/kafka-error-codes.js'
export { crc32c } from './io/crc32c.js'
export { murmur2, defaultPartition, toPositive } from './io/murmur2.js'
// CompressionCodec is exported with the RecordBatch codec below (the same type).
export { compress, compressSync, decompress, decompressSync, type CompressOptions, type DecompressOptions } from './io/compression.js'
export {
  RecordBatchEncoder,
  RecordBatchView,
  RecordIterator,
  batchesIn,
  copyRecordBatch,
  decodeRecordBatch,
  encodeRecordBatch,
  encodeRecordBatchAsync,
  encodeRecordBatchColumns,
  encodeEndTransactionMarker,
  readControlRecordKey,
  readEndTransactionMarker,
  ControlRecordType,
  readBatchHeader,
  validateBatch,
  validateBatchRecords,
  type BatchesInOptions,
  type CompressionCodec,
  type ControlRecordKey,
  type DecodedRecordBatch,
  type EncodeTarget,
  type EndTransactionMarker,
  type EndTransactionMarkerInput,
  type KafkaRecord,
  type RecordBatchColumns,
  type RecordBatchFields,
  type RecordBatchHeader,
  type RecordBatchInput,
  type RecordHeader,
  type RecordHeaderInput,
  type RecordInput,
  type TimestampType,
  type ValidateBatchOptions,
  type ValidateRecordsOptions
} from './io/record-batch.js'
