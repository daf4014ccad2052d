/**
 * Kafka's broker-side timestamp rules for appended batches, per topic:
 *   - `message.timestamp.type=LogAppendTime`: the log stamps each batch with the time it is
 *     appended. The batch's attributes get the timestamp-type bit, its maxTimestamp becomes the
 *     append time (every record of the batch reads as that time) and its CRC is recomputed; the
 *     records and their deltas stay as the producer sent them. The CRC does not cover the base
 *     offset but does cover both fields, hence the recomputation, as Kafka does it.
 *   - `message.timestamp.type=CreateTime` with `message.timestamp.before.max.ms` /
 *     `message.timestamp.after.max.ms` (KIP-937): every record's timestamp must lie in
 *     [now - before, now + after], else the batch fails with INVALID_TIMESTAMP and nothing is
 *     stored. Records without a timestamp (-1) are exempt. With both bounds at their default
 *     (Long.MAX) nothing is checked and appends pay nothing.
 *   - A producer may not mark a batch LogAppendTime itself. Kafka refuses such a batch with
 *     INVALID_TIMESTAMP on a LogAppendTime topic, or when it carries no time (maxTimestamp -1);
 *     on a CreateTime topic it checks the batch's time (every record of such a batch reads as
 *     maxTimestamp) and stores the batch as CreateTime, the mark cleared. So does this module.
 *
 * A stamped or cleared batch is a copy: the caller's bytes (a producer's retry buffer, a
 * request) stay as they were. Checking bounds decodes the records, decompressing a compressed
 * batch on the calling thread (the check must run before the batch is staged, in call order);
 * only topics that set a bound pay that.
 */
import { SluiceError } from '../core/errors.js'
import { crc32c } from '../io/crc32c.js'
import { BatchAttribute, BatchOffset } from '../io/record-batch-header.js'
import { RecordBatchView } from '../io/record-batch-view.js'
import type { MessageTimestampType } from './topic-config.js'

/** The three topic configs involved, Kafka's names in camelCase. */
export interface TimestampPolicy {
  messageTimestampType: MessageTimestampType
  messageTimestampBeforeMaxMs: number
  messageTimestampAfterMaxMs: number
}

/** True when appends under `policy` need `applyTimestampPolicy` beyond the attribute check. */
export function timestampPolicyActive (policy: Readonly<TimestampPolicy>): boolean {
  return policy.messageTimestampType === 'LogAppendTime' ||
    policy.messageTimestampBeforeMaxMs < Number.MAX_SAFE_INTEGER ||
    policy.messageTimestampAfterMaxMs < Number.MAX_SAFE_INTEGER
}

/**
 * Applies `policy` to a validated batch (length, magic and CRC already checked) at time `now`.
 * Returns the batch to store: `batch` itself, a stamped copy under LogAppendTime, or a copy
 * with the producer's LogAppendTime mark cleared. Throws INVALID_TIMESTAMP.
 */
export function applyTimestampPolicy (batch: Uint8Array, view: DataView, policy: Readonly<TimestampPolicy>, now: number): Uint8Array {
  if ((view.getInt16(BatchOffset.attributes) & BatchAttribute.timestampTypeLogAppend) !== 0) {
    const maxTimestamp = Number(view.getBigInt64(BatchOffset.maxTimestamp))
    if (policy.messageTimestampType === 'LogAppendTime' || maxTimestamp === -1) {
      throw new SluiceError('INVALID_TIMESTAMP', 'a producer may not set the timestamp type of a batch to LogAppendTime')
    }
    checkTimestamp(maxTimestamp, 0, policy, now)
    return rewrittenHeader(batch, view.getInt16(BatchOffset.attributes) & ~BatchAttribute.timestampTypeLogAppend, maxTimestamp)
  }
  if (policy.messageTimestampType === 'LogAppendTime') return stampLogAppendTime(batch, now)
  checkCreateTimes(batch, policy, now)
  return batch
}

/** A copy of `batch` with `attributes` and `maxTimestamp`, its CRC recomputed. */
function rewrittenHeader (batch: Uint8Array, attributes: number, maxTimestamp: number): Uint8Array {
  const copy = new Uint8Array(batch)
  const view = new DataView(copy.buffer, copy.byteOffset, copy.byteLength)
  view.setInt16(BatchOffset.attributes, attributes)
  view.setBigInt64(BatchOffset.maxTimestamp, BigInt(maxTimestamp))
  view.setUint32(BatchOffset.crc, crc32c(copy.subarray(BatchOffset.attributes)))
  return copy
}

/** A copy of `batch` marked LogAppendTime with maxTimestamp `now`, its CRC recomputed. */
export function stampLogAppendTime (batch: Uint8Array, now: number): Uint8Array {
  const attributes = (batch[BatchOffset.attributes]! << 8) | batch[BatchOffset.attributes + 1]!
  return rewrittenHeader(batch, attributes | BatchAttribute.timestampTypeLogAppend, now)
}

function checkCreateTimes (batch: Uint8Array, policy: Readonly<TimestampPolicy>, now: number): void {
  if (policy.messageTimestampBeforeMaxMs >= Number.MAX_SAFE_INTEGER && policy.messageTimestampAfterMaxMs >= Number.MAX_SAFE_INTEGER) return
  const records = RecordBatchView.unchecked(batch).records()
  for (let index = 0; ; index++) {
    const record = records.nextRecord()
    if (record === undefined) return
    checkTimestamp(record.timestamp, index, policy, now)
  }
}

/** INVALID_TIMESTAMP when record `index`'s CreateTime lies outside the topic's bounds around `now`. */
function checkTimestamp (timestamp: number, index: number, policy: Readonly<TimestampPolicy>, now: number): void {
  if (timestamp === -1) return
  const earliest = policy.messageTimestampBeforeMaxMs >= Number.MAX_SAFE_INTEGER ? -Infinity : now - policy.messageTimestampBeforeMaxMs
  const latest = policy.messageTimestampAfterMaxMs >= Number.MAX_SAFE_INTEGER ? Infinity : now + policy.messageTimestampAfterMaxMs
  if (timestamp < earliest || timestamp > latest) {
    throw new SluiceError('INVALID_TIMESTAMP', `record ${index} has timestamp ${timestamp}, outside [${String(earliest)}, ${String(latest)}] ` +
      '(message.timestamp.before.max.ms / message.timestamp.after.max.ms)')
  }
}
