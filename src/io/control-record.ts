/**
 * Control records: the records of control batches (attributes bit 5), which carry no user
 * data. The ones Sluice writes are transaction markers (COMMIT / ABORT), appended by the
 * transaction coordinator at the end of a transaction; the others (KRaft's) are recognised so
 * readers can skip them.
 *
 * | part  | bytes | layout                                              |
 * |-------|-------|-----------------------------------------------------|
 * | key   | 4     | version: int16 (= 0), type: int16                   |
 * | value | 6     | version: int16 (= 0), coordinatorEpoch: int32       |  (ABORT / COMMIT only)
 *
 * A marker batch: attributes 0x30 (transactional | control), no compression, CreateTime, the
 * transaction's producerId/epoch, baseSequence -1, exactly one record with offsetDelta 0.
 * A key version below 0 is corrupt; a version above 0 is read as version 0 (Kafka's rule).
 */
import { SluiceError } from '../core/errors.js'
import { readInt16, readInt32 } from './record-batch-header.js'
import { RecordBatchEncoder, type EncodeTarget } from './record-batch-encoder.js'

/** Control record types (Kafka `ControlRecordType`). */
export const ControlRecordType = Object.freeze({
  ABORT: 0,
  COMMIT: 1,
  LEADER_CHANGE: 2,
  SNAPSHOT_HEADER: 3,
  SNAPSHOT_FOOTER: 4,
  KRAFT_VERSION: 5,
  KRAFT_VOTERS: 6
})

export type ControlRecordTypeName = keyof typeof ControlRecordType

export interface ControlRecordKey {
  version: number
  /** One of `ControlRecordType`; unknown types are returned as numbers and should be ignored. */
  type: number
}

export interface EndTransactionMarker {
  /** COMMIT or ABORT. */
  commit: boolean
  coordinatorEpoch: number
}

/** Bytes of a control record key. */
export const CONTROL_KEY_BYTES = 4
/** Bytes of an ABORT/COMMIT value. */
export const END_TRANSACTION_MARKER_VALUE_BYTES = 6

/** Parses a control record key; CORRUPT_MESSAGE if it is missing, short, or of negative version. */
export function readControlRecordKey (key: Uint8Array | null): ControlRecordKey {
  if (key === null || key.length < CONTROL_KEY_BYTES) {
    throw new SluiceError('CORRUPT_MESSAGE', `control record key needs ${CONTROL_KEY_BYTES} bytes, got ${key === null ? 'null' : key.length}`)
  }
  const version = readInt16(key, 0)
  if (version < 0) throw new SluiceError('CORRUPT_MESSAGE', `control record key version ${version}`)
  return { version, type: readInt16(key, 2) }
}

/**
 * Parses the marker of an ABORT/COMMIT control record. CORRUPT_MESSAGE for another type, a
 * short value or a negative value version.
 */
export function readEndTransactionMarker (key: Uint8Array | null, value: Uint8Array | null): EndTransactionMarker {
  const { type } = readControlRecordKey(key)
  if (type !== ControlRecordType.ABORT && type !== ControlRecordType.COMMIT) {
    throw new SluiceError('CORRUPT_MESSAGE', `control record type ${type} is not a transaction marker`)
  }
  if (value === null || value.length < END_TRANSACTION_MARKER_VALUE_BYTES) {
    throw new SluiceError('CORRUPT_MESSAGE', `transaction marker value needs ${END_TRANSACTION_MARKER_VALUE_BYTES} bytes`)
  }
  const version = readInt16(value, 0)
  if (version < 0) throw new SluiceError('CORRUPT_MESSAGE', `transaction marker version ${version}`)
  return { commit: type === ControlRecordType.COMMIT, coordinatorEpoch: readInt32(value, 2) }
}

/** The 4-byte key of a control record of `type`. */
export function controlRecordKey (type: number): Buffer {
  const key = Buffer.allocUnsafe(CONTROL_KEY_BYTES)
  key.writeInt16BE(0, 0)
  key.writeInt16BE(type, 2)
  return key
}

/** The 6-byte value of an ABORT/COMMIT marker. */
export function endTransactionMarkerValue (coordinatorEpoch: number): Buffer {
  const value = Buffer.allocUnsafe(END_TRANSACTION_MARKER_VALUE_BYTES)
  value.writeInt16BE(0, 0)
  value.writeInt32BE(coordinatorEpoch, 2)
  return value
}

export interface EndTransactionMarkerInput {
  commit: boolean
  producerId: number
  producerEpoch: number
  coordinatorEpoch: number
  /** @defaultValue 0 */
  baseOffset?: number
  /** @defaultValue -1 */
  partitionLeaderEpoch?: number
  /** @defaultValue the current time */
  timestamp?: number
}

const markerEncoder = new RecordBatchEncoder()

/** Encodes a transaction marker batch (Kafka `MemoryRecords.withEndTransactionMarker`). */
export function encodeEndTransactionMarker (input: EndTransactionMarkerInput, target: EncodeTarget = 'fresh'): Buffer {
  if (!Number.isInteger(input.coordinatorEpoch) || input.coordinatorEpoch < -0x80000000 || input.coordinatorEpoch > 0x7fffffff) {
    throw new SluiceError('SLUICE_INVALID_OPTION', `coordinatorEpoch must be an int32, got ${String(input.coordinatorEpoch)}`)
  }
  const timestamp = input.timestamp ?? Date.now()
  const batch: Parameters<RecordBatchEncoder['encode']>[0] = {
    isTransactional: true,
    isControl: true,
    producerId: input.producerId,
    producerEpoch: input.producerEpoch,
    baseSequence: -1,
    baseTimestamp: timestamp,
    records: [{
      key: controlRecordKey(input.commit ? ControlRecordType.COMMIT : ControlRecordType.ABORT),
      value: endTransactionMarkerValue(input.coordinatorEpoch),
      timestamp,
      offsetDelta: 0
    }]
  }
  if (input.baseOffset !== undefined) batch.baseOffset = input.baseOffset
  if (input.partitionLeaderEpoch !== undefined) batch.partitionLeaderEpoch = input.partitionLeaderEpoch
  return markerEncoder.encode(batch, target)
}
