/**
 * Sparse offset index of one segment: relative offset -> byte position in the segment's `.log`.
 *
 * File layout (`<base>.index`, Kafka's format, big-endian, no header, no checksum):
 *
 * | offset  | size | field                                               |
 * |---------|------|-----------------------------------------------------|
 * | 8*i     | 4    | relativeOffset: int32 = batch lastOffset - base      |
 * | 8*i + 4 | 4    | position: int32 = byte position of that batch's start |
 *
 * Entries are strictly increasing in both fields. The active segment's file is preallocated to
 * `segment.index.bytes` (a sparse file, zeros past the last entry) and trimmed to `entries * 8`
 * when the segment rolls or the log closes. Because the first batch of a segment is never
 * indexed (Kafka indexes only after `index.interval.bytes` of log), every real entry has a
 * position > 0, so the first all-zero entry marks the end of an untrimmed file.
 *
 * The whole index is mirrored in memory in a SharedArrayBuffer (so a worker can binary-search it
 * without a copy); the mirror grows by doubling up to `maxEntries`, so idle partitions cost
 * little memory. The mirror is the truth while the log is open; the file is written from it
 * (see segment.ts) and is only trusted on open after checks (`load`). There is no checksum: a
 * segment past the recovery point is always re-indexed from its log on unclean shutdown, and a
 * file that fails the checks is rebuilt.
 */
import { assert } from '../core/assert.js'
import { IndexMirror } from './index-mirror.js'

export const OFFSET_INDEX_ENTRY_BYTES = 8

export interface OffsetPosition {
  offset: number
  position: number
}

export class OffsetIndex extends IndexMirror {
  constructor (baseOffset: number, maxEntries: number) {
    super(baseOffset, maxEntries, OFFSET_INDEX_ENTRY_BYTES)
  }

  get isFull (): boolean { return this.count >= this.maxEntries }

  /** The last entry, or the segment start when empty. */
  lastEntry (): OffsetPosition {
    if (this.count === 0) return { offset: this.baseOffset, position: 0 }
    return this.entryAt(this.count - 1)
  }

  entryAt (index: number): OffsetPosition {
    assert(index >= 0 && index < this.count, 'offset index entry out of range')
    const at = index * OFFSET_INDEX_ENTRY_BYTES
    return { offset: this.baseOffset + this.view.getInt32(at), position: this.view.getInt32(at + 4) }
  }

  /** Adds an entry; offsets and positions must grow strictly. */
  append (offset: number, position: number): void {
    assert(!this.isFull, 'offset index full')
    const relative = offset - this.baseOffset
    assert(relative >= 0 && relative <= 0x7fffffff, 'relative offset out of int32 range')
    assert(position > 0 && position <= 0x7fffffff, 'index position out of range')
    if (this.count > 0) {
      const last = this.lastEntry()
      assert(offset > last.offset, 'offset index offsets must increase')
      assert(position > last.position, 'offset index positions must increase')
    }
    this.ensureCapacity(this.count + 1)
    const at = this.count * OFFSET_INDEX_ENTRY_BYTES
    this.view.setInt32(at, relative)
    this.view.setInt32(at + 4, position)
    this.count++
  }

  /**
   * The greatest entry whose offset is <= `target`, or the segment start (position 0) when
   * there is none. The batch containing `target` starts at or after the returned position.
   */
  lookup (target: number): OffsetPosition {
    const index = this.floorIndex(target)
    return index < 0 ? { offset: this.baseOffset, position: 0 } : this.entryAt(index)
  }

  /** Drops every entry with offset >= `offset` (log truncation). */
  truncateToOffset (offset: number): void {
    this.count = this.floorIndex(offset - 1) + 1
  }

  /** Drops every entry whose position is >= `position`. */
  truncateToPosition (position: number): void {
    let low = 0
    let high = this.count
    while (low < high) {
      const middle = (low + high) >>> 1
      if (this.view.getInt32(middle * OFFSET_INDEX_ENTRY_BYTES + 4) < position) low = middle + 1
      else high = middle
    }
    this.count = low
  }

  /**
   * Loads entries from file bytes (trimmed or preallocated). Returns false when the bytes are
   * not a valid index for a log of `logSize` bytes (caller rebuilds from the log): length not a
   * multiple of 8, offsets or positions not increasing, a position beyond the log.
   */
  load (bytes: Uint8Array, logSize: number): boolean {
    this.count = 0
    if (bytes.byteLength % OFFSET_INDEX_ENTRY_BYTES !== 0) return false
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    const total = Math.min(bytes.byteLength / OFFSET_INDEX_ENTRY_BYTES, this.maxEntries)
    let previousRelative = -1
    let previousPosition = 0
    let count = 0
    for (; count < total; count++) {
      const relative = view.getInt32(count * OFFSET_INDEX_ENTRY_BYTES)
      const position = view.getInt32(count * OFFSET_INDEX_ENTRY_BYTES + 4)
      if (relative === 0 && position === 0) break // preallocated zeros: end of entries
      if (relative <= previousRelative || position <= previousPosition || position >= logSize) return false
      previousRelative = relative
      previousPosition = position
    }
    // Past the first zero entry everything must be zero, or the file is not ours.
    for (let at = count * OFFSET_INDEX_ENTRY_BYTES; at < bytes.byteLength; at += 4) {
      if (view.getInt32(at) !== 0) return false
    }
    this.ensureCapacity(count)
    this.memory.set(bytes.subarray(0, count * OFFSET_INDEX_ENTRY_BYTES), 0)
    this.count = count
    return true
  }


  /** Index of the greatest entry with offset <= target, or -1. */
  private floorIndex (target: number): number {
    const relative = target - this.baseOffset
    if (this.count === 0 || relative < this.view.getInt32(0)) return -1
    let low = 0
    let high = this.count - 1
    while (low < high) {
      const middle = (low + high + 1) >>> 1
      if (this.view.getInt32(middle * OFFSET_INDEX_ENTRY_BYTES) <= relative) low = middle
      else high = middle - 1
    }
    return low
  }

}
