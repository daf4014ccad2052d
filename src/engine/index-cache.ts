/**
 * Bounds the memory of index mirrors across every log of an engine. The active segment of each
 * log keeps its indexes in memory (appends write them); older segments load theirs on first
 * lookup, and this cache unloads the least recently used ones beyond `maxSegments`, so reading
 * old data of many partitions does not grow memory without bound. An unloaded segment reloads
 * (and re-checks) its index files on its next lookup.
 */
import type { Segment } from './segment.js'

export class SegmentIndexCache {
  /** Insertion order is recency order. */
  private readonly loaded = new Set<Segment>()

  constructor (readonly maxSegments: number) {}

  get size (): number { return this.loaded.size }

  /** Records a lookup in `segment`'s indexes; unloads the coldest segments beyond the bound. */
  touch (segment: Segment): void {
    this.loaded.delete(segment)
    this.loaded.add(segment)
    // Bounded: each round removes one entry.
    while (this.loaded.size > this.maxSegments) {
      const coldest = this.loaded.values().next().value as Segment
      this.loaded.delete(coldest)
      coldest.unloadIndexes()
    }
  }

  /** Forgets a segment (deleted or replaced). */
  forget (segment: Segment): void { this.loaded.delete(segment) }
}
