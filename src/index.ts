/**
 * Sluice's public surface. Everything a user imports comes from here.
 */
export { Sluice, sluiceDefaults, type SluiceOptions } from './client/sluice.js'
export { Producer, type Message, type MessageBytes, type ProducerRecord, type RecordMetadata, type BulkRecords } from './client/producer.js'
export { producerDefaults, type Acks, type ProducerOptions } from './client/producer-options.js'
export { Consumer, type ConsumedMessage, type ConsumedBatch, type EachMessagePayload, type EachBatchPayload, type RunOptions, type SubscribeOptions, type TopicPartitionOffset, type RebalanceListener } from './client/consumer.js'
export { consumerDefaults, type ConsumerOptions, type OffsetReset } from './client/consumer-options.js'
export { Admin, type NewTopic, type PartitionOffsets, type PartitionLag, type GroupLag, type DescribedGroup, type DescribedGroupMember } from './client/admin.js'
export type { CustomPartitioner, PartitionerInput } from './client/partitioner.js'
export { Engine, engineDefaults, type EngineOptions } from './engine/engine.js'
export type { FlushPolicy, AppendResult, Durability } from './engine/partition-log.js'
export type { TopicDescription } from './engine/topic-registry.js'
export type { TopicConfig, TopicConfigOptions, CleanupPolicy } from './engine/topic-config.js'
export type { TopicPartitions } from './engine/consumer-protocol.js'
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
export { startBroker, brokerDefaults, advertisedApiVersions, type Broker, type BrokerOptions } from './kafka/server.js'
