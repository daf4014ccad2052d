/**
 * The in-memory mirror both segment indexes keep (offset index, time index): fixed-size
 * entries in a SharedArrayBuffer, so a worker can binary-search them without a copy. The
 * mirror starts small and grows by doubling up to `maxEntries`, so an idle partition costs a
 * few hundred bytes; `release` gives the memory back when the index cache evicts it. The
 * subclasses own the entry layout, ordering rules and file checks.
 */
import { assert } from '../core/assert.js'

const INITIAL_CAPACITY_ENTRIES = 64

export abstract class IndexMirror {
  protected memory: Uint8Array
  protected view: DataView
  protected count = 0

  constructor (readonly baseOffset: number, readonly maxEntries: number, private readonly entryBytes: number) {
    assert(maxEntries >= 2, 'an index needs room for entries')
    this.memory = IndexMirror.allocate(Math.min(INITIAL_CAPACITY_ENTRIES, maxEntries) * entryBytes)
    this.view = new DataView(this.memory.buffer)
  }

  private static allocate (bytes: number): Uint8Array {
    return new Uint8Array(new SharedArrayBuffer(bytes))
  }

  get entries (): number { return this.count }
  /** Bytes of the valid entries (what a trimmed file holds). */
  get sizeBytes (): number { return this.count * this.entryBytes }
  /** Bytes of memory the mirror holds. */
  get memoryBytes (): number { return this.memory.byteLength }

  /** Keeps the first `entries` entries. */
  truncateToEntries (entries: number): void {
    assert(entries >= 0 && entries <= this.count, 'truncate beyond index end')
    this.count = entries
  }

  clear (): void { this.count = 0 }

  /** Drops every entry and gives the mirror's memory back (a small buffer remains). */
  release (): void {
    this.count = 0
    this.memory = IndexMirror.allocate(Math.min(INITIAL_CAPACITY_ENTRIES, this.maxEntries) * this.entryBytes)
    this.view = new DataView(this.memory.buffer)
  }

  /** The encoded entries [fromEntry, entries) as a view of the mirror (for writing to the file). */
  bytes (fromEntry = 0): Uint8Array {
    return this.memory.subarray(fromEntry * this.entryBytes, this.count * this.entryBytes)
  }

  protected ensureCapacity (entries: number): void {
    const capacity = this.memory.byteLength / this.entryBytes
    if (entries <= capacity) return
    let next = capacity
    while (next < entries) next *= 2
    next = Math.min(next, this.maxEntries)
    const grown = IndexMirror.allocate(next * this.entryBytes)
    grown.set(this.memory.subarray(0, this.count * this.entryBytes))
    this.memory = grown
    this.view = new DataView(grown.buffer)
  }
}
