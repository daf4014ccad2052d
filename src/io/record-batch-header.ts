/**
 * Byte layout of a Kafka RecordBatch v2 header (magic 2) and the checks every reader of
 * stored or received bytes makes before trusting a batch. All integers are big-endian.
 *
 * | offset | size | field                | CRC-covered |
 * |--------|------|----------------------|-------------|
 * | 0      | 8    | baseOffset           | no          |
 * | 8      | 4    | batchLength          | no          |
 * | 12     | 4    | partitionLeaderEpoch | no          |
 * | 16     | 1    | magic (= 2)          | no          |
 * | 17     | 4    | crc (CRC-32C)        | -           |
 * | 21     | 2    | attributes           | yes         |
 * | 23     | 4    | lastOffsetDelta      | yes         |
 * | 27     | 8    | baseTimestamp        | yes         |
 * | 35     | 8    | maxTimestamp         | yes         |
 * | 43     | 8    | producerId           | yes         |
 * | 51     | 2    | producerEpoch        | yes         |
 * | 53     | 4    | baseSequence         | yes         |
 * | 57     | 4    | recordsCount         | yes         |
 * | 61     | ..   | records              | yes         |
 *
 * The whole batch is `batchLength + 12` bytes (`LOG_OVERHEAD`). Because the CRC starts at the
 * attributes, the broker may patch baseOffset and partitionLeaderEpoch in place.
 */

export const BatchOffset = Object.freeze({
  baseOffset: 0,
  batchLength: 8,
  partitionLeaderEpoch: 12,
  magic: 16,
  crc: 17,
  attributes: 21,
  lastOffsetDelta: 23,
  baseTimestamp: 27,
  maxTimestamp: 35,
  producerId: 43,
  producerEpoch: 51,
  baseSequence: 53,
  recordsCount: 57,
  records: 61
})

/** Bytes before batchLength's coverage starts: baseOffset (8) + batchLength (4). */
export const LOG_OVERHEAD = 12
/** Fixed header size of a v2 batch. */
export const RECORD_BATCH_OVERHEAD = 61
export const CURRENT_MAGIC = 2

/** Attribute bits (low byte of the int16). */
export const BatchAttribute = Object.freeze({
  compressionMask: 0x07,
  timestampTypeLogAppend: 0x08,
  transactional: 0x10,
  control: 0x20,
  deleteHorizon: 0x40
})

export const NO_PRODUCER_ID = -1n
export const NO_PRODUCER_EPOCH = -1
export const NO_SEQUENCE = -1
export const NO_PARTITION_LEADER_EPOCH = -1

/** Total byte size of the batch starting at `position`, read from its length field. */
export function batchSizeAt (bytes: Uint8Array, position: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return view.getInt32(position + BatchOffset.batchLength) + LOG_OVERHEAD
}
