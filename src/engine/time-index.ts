/**
 * Time index of one segment: timestamp -> relative offset, for ListOffsets by time.
 *
 * File layout (`<base>.timeindex`, Kafka's format, big-endian, no header, no checksum):
 *
 * | offset   | size | field                                                   |
 * |----------|------|---------------------------------------------------------|
 * | 12*i     | 8    | timestamp: int64 = max timestamp seen up to this entry    |
 * | 12*i + 8 | 4    | relativeOffset: int32 = last offset of the batch with it  |
 *
 * An entry (T, O) means "the greatest timestamp among offsets <= O is T". Timestamps strictly
 * increase; offsets do not decrease. The index is "full" one entry early, keeping the last slot
 * for the final entry written when the segment rolls (Kafka's `TimeIndex.isFull`).
 * Mirrored in memory like the offset index (SharedArrayBuffer, grows by doubling), preallocated
 * on disk, trimmed on roll and close, checked on load and rebuilt from the log when invalid.
 */
import { assert } from '../core/assert.js'
import { IndexMirror } from './index-mirror.js'

export const TIME_INDEX_ENTRY_BYTES = 12

export interface TimestampOffset {
  timestamp: number
  offset: number
}

export class TimeIndex extends IndexMirror {
  constructor (baseOffset: number, maxEntries: number) {
    super(baseOffset, maxEntries, TIME_INDEX_ENTRY_BYTES)
  }

  /** One slot stays free for the final entry on roll. */
  get isFull (): boolean { return this.count >= this.maxEntries - 1 }

  entryAt (index: number): TimestampOffset {
    assert(index >= 0 && index < this.count, 'time index entry out of range')
    const at = index * TIME_INDEX_ENTRY_BYTES
    return { timestamp: Number(this.view.getBigInt64(at)), offset: this.baseOffset + this.view.getInt32(at + 8) }
  }

  lastEntry (): TimestampOffset | undefined {
    return this.count === 0 ? undefined : this.entryAt(this.count - 1)
  }

  /**
   * Adds (timestamp, offset) if timestamp is greater than the last entry's. `final` may use the
   * reserved last slot (roll/close).
   */
  maybeAppend (timestamp: number, offset: number, final = false): void {
    if (timestamp <= 0) return // -1 means "no timestamp"; 0 marks the end of a preallocated file
    if (this.count >= this.maxEntries || (!final && this.isFull)) return
    const last = this.lastEntry()
    if (last !== undefined && timestamp <= last.timestamp) return
    if (last !== undefined) assert(offset >= last.offset, 'time index offsets must not decrease')
    const relative = offset - this.baseOffset
    assert(relative >= 0 && relative <= 0x7fffffff, 'relative offset out of int32 range')
    this.ensureCapacity(this.count + 1)
    const at = this.count * TIME_INDEX_ENTRY_BYTES
    this.view.setBigInt64(at, BigInt(timestamp))
    this.view.setInt32(at + 8, relative)
    this.count++
  }

  /** The greatest entry with timestamp <= target, or undefined (start at the segment's base). */
  lookup (target: number): TimestampOffset | undefined {
    if (this.count === 0 || Number(this.view.getBigInt64(0)) > target) return undefined
    let low = 0
    let high = this.count - 1
    while (low < high) {
      const middle = (low + high + 1) >>> 1
      if (Number(this.view.getBigInt64(middle * TIME_INDEX_ENTRY_BYTES)) <= target) low = middle
      else high = middle - 1
    }
    return this.entryAt(low)
  }

  /** Drops entries whose offset is >= `offset`. */
  truncateToOffset (offset: number): void {
    while (this.count > 0 && this.entryAt(this.count - 1).offset >= offset) this.count--
  }

  /**
   * Loads entries from file bytes. False when invalid for a segment whose offsets end before
   * `nextOffset`: bad length, timestamps not increasing, offsets decreasing or past the log.
   */
  load (bytes: Uint8Array, nextOffset: number): boolean {
    this.count = 0
    if (bytes.byteLength % TIME_INDEX_ENTRY_BYTES !== 0) return false
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    const total = Math.min(bytes.byteLength / TIME_INDEX_ENTRY_BYTES, this.maxEntries)
    let previousTimestamp = -Infinity
    let previousRelative = -1
    let count = 0
    for (; count < total; count++) {
      const at = count * TIME_INDEX_ENTRY_BYTES
      const timestamp = Number(view.getBigInt64(at))
      const relative = view.getInt32(at + 8)
      if (timestamp === 0 && relative === 0) break // preallocated zeros (a timestamp of 0 is never indexed)
      if (timestamp <= previousTimestamp || relative < previousRelative || relative < 0) return false
      if (this.baseOffset + relative >= nextOffset) return false
      previousTimestamp = timestamp
      previousRelative = relative
    }
    for (let at = count * TIME_INDEX_ENTRY_BYTES; at < bytes.byteLength; at += 4) {
      if (view.getInt32(at) !== 0) return false
    }
    this.ensureCapacity(count)
    this.memory.set(bytes.subarray(0, count * TIME_INDEX_ENTRY_BYTES), 0)
    this.count = count
    return true
  }

}
