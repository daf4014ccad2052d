/**
 * Reading batch headers out of stored or received bytes, and the validity test recovery uses.
 *
 * A stored batch is valid when: at least 61 bytes are present for the header; `batchLength + 12`
 * bytes are present; magic is 2; the CRC-32C over [21, end) matches; `lastOffsetDelta >= 0`;
 * its baseOffset is a safe integer not below the offset that follows the previous batch. The
 * last rule matters because baseOffset is not covered by the CRC: a flipped bit there must not
 * make offsets go backwards. Everything is big-endian (see io/record-batch-header.ts).
 */
import { BatchOffset, CURRENT_MAGIC, LOG_OVERHEAD, RECORD_BATCH_OVERHEAD } from '../io/record-batch-header.js'
import { crc32c } from '../io/crc32c.js'

/** Result of inspecting the bytes at a position. */
export const BatchCheck = Object.freeze({
  /** Fewer bytes than the batch needs are present (a torn tail, or the read window ends). */
  incomplete: 0,
  /** The bytes cannot be a valid batch (length, magic, CRC or offset check failed). */
  invalid: -1
})

/** int64 big-endian as a number; NaN when it is not a safe integer. */
export function readInt64 (view: DataView, at: number): number {
  const high = view.getInt32(at)
  const low = view.getUint32(at + 4)
  const value = high * 0x100000000 + low
  return Number.isSafeInteger(value) ? value : Number.NaN
}

export function writeInt64 (view: DataView, at: number, value: number): void {
  view.setInt32(at, Math.floor(value / 0x100000000))
  view.setUint32(at + 4, value >>> 0)
}

/**
 * Total size of the valid batch at `at` within `bytes[at, end)`, or `BatchCheck.incomplete`
 * (not enough bytes yet), or `BatchCheck.invalid`. `minimumBaseOffset` is the offset that must
 * not be undercut (the previous batch's lastOffset + 1); `maximumLastOffset` the largest offset
 * the segment can hold (the CRC does not cover the base offset, so a flipped bit there must be
 * caught by its range). `checkCrc` false skips the checksum (used only where the bytes were
 * verified before, e.g. locating a batch for a read).
 */
export function checkBatchAt (
  view: DataView, bytes: Uint8Array, at: number, end: number, minimumBaseOffset: number, checkCrc: boolean,
  maximumLastOffset = Number.MAX_SAFE_INTEGER
): number {
  if (end - at < LOG_OVERHEAD) return BatchCheck.incomplete
  const batchLength = view.getInt32(at + BatchOffset.batchLength)
  const size = batchLength + LOG_OVERHEAD
  if (batchLength < RECORD_BATCH_OVERHEAD - LOG_OVERHEAD) return BatchCheck.invalid
  if (end - at < RECORD_BATCH_OVERHEAD) return BatchCheck.incomplete
  if (view.getInt8(at + BatchOffset.magic) !== CURRENT_MAGIC) return BatchCheck.invalid
  const baseOffset = readInt64(view, at + BatchOffset.baseOffset)
  if (!(baseOffset >= minimumBaseOffset)) return BatchCheck.invalid
  if (view.getInt32(at + BatchOffset.lastOffsetDelta) < 0) return BatchCheck.invalid
  const lastOffset = baseOffset + view.getInt32(at + BatchOffset.lastOffsetDelta)
  if (!Number.isSafeInteger(lastOffset) || lastOffset > maximumLastOffset) return BatchCheck.invalid
  if (end - at < size) return BatchCheck.incomplete
  if (checkCrc) {
    const stored = view.getUint32(at + BatchOffset.crc)
    if (crc32c(bytes.subarray(at + BatchOffset.attributes, at + size)) !== stored) return BatchCheck.invalid
  }
  return size
}

export function batchBaseOffset (view: DataView, at: number): number {
  return readInt64(view, at + BatchOffset.baseOffset)
}

export function batchLastOffset (view: DataView, at: number): number {
  return readInt64(view, at + BatchOffset.baseOffset) + view.getInt32(at + BatchOffset.lastOffsetDelta)
}

export function batchMaxTimestamp (view: DataView, at: number): number {
  return readInt64(view, at + BatchOffset.maxTimestamp)
}

export function batchSize (view: DataView, at: number): number {
  return view.getInt32(at + BatchOffset.batchLength) + LOG_OVERHEAD
}

export function dataViewOf (bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
