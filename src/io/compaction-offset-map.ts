/**
 * The cleaner's offset map: record key -> offset of the newest record with that key, built
 * over the dirty section of a compacted log and consulted while recopying segments.
 *
 * Why not Kafka's `SkimpyOffsetMap`: Kafka stores only an MD5 of each key and accepts that two
 * keys with equal digests would make the cleaner drop the older one's records. Here a lookup
 * compares the full key bytes, so a hash collision costs a probe, never a record.
 *
 * Why shared memory: the map is built once per cleaning and then read by every segment's
 * filtering, which may run on a worker thread (`io/tasks/compaction-task.ts`). All of it lives
 * in SharedArrayBuffers, so handing it to a worker is a pointer copy, not a clone.
 *
 * Layout (all in SharedArrayBuffers, sizes fixed at construction):
 *
 * | array      | type         | length     | content                                       |
 * |------------|--------------|------------|-----------------------------------------------|
 * | slots      | Int32Array   | 2^k        | entry index + 1, 0 = empty (open addressing)  |
 * | hashes     | Int32Array   | entriesMax | xxh32 of the key                              |
 * | keyStarts  | Int32Array   | entriesMax | byte position of the key in `arena`           |
 * | keyLengths | Int32Array   | entriesMax | key length in bytes                           |
 * | offsets    | Float64Array | entriesMax | newest offset of the key (a safe integer)     |
 * | arena      | Uint8Array   | keyBytesMax| key bytes, back to back                        |
 * | meta       | Float64Array | 3          | count, arenaUsed, latestOffset                 |
 *
 * Because the counters live in shared memory too, a worker thread can build the map (decoding
 * and decompressing the dirty section off the main thread) and the main thread sees the result
 * without a copy. One builder at a time: the cleaner runs one task per log and awaits it.
 * Invariants: slots has at least twice as many entries as `entriesMax` (load <= 0.5, so linear
 * probing stays short and always finds an empty slot); `count <= entriesMax`;
 * `arenaUsed <= keyBytesMax`. `latestOffset` is the map's coverage, set by the builder with
 * `cover` after each whole batch: every keyed record at or below it was put (or lies in the
 * already-deduplicated clean section), so "newest for its key" is decidable up to there.
 * Writers: one at a time (the builder); readers: any number once building is done.
 */
import { assert } from '../core/assert.js'
import { SluiceError } from '../core/errors.js'
import { xxhash32 } from './xxhash32.js'

export interface OffsetMapOptions {
  /** Distinct keys the map holds. Kafka bounds the same thing with `log.cleaner.dedupe.buffer.size`. @defaultValue 262144 */
  entriesMax?: number
  /** Total bytes of distinct keys the map holds. @defaultValue 16 MiB */
  keyBytesMax?: number
}

export const offsetMapDefaults = Object.freeze({ entriesMax: 262_144, keyBytesMax: 16 * 1024 * 1024 })

/** The map's memory, as it crosses to a worker (every buffer shared, nothing copied). */
export interface OffsetMapState {
  slots: Int32Array
  hashes: Int32Array
  keyStarts: Int32Array
  keyLengths: Int32Array
  offsets: Float64Array
  arena: Uint8Array
  /** [count, arenaUsed, latestOffset] */
  meta: Float64Array
}

const COUNT = 0
const ARENA_USED = 1
const LATEST_OFFSET = 2

const HASH_SEED = 0x5eed

export class OffsetMap {
  readonly #state: OffsetMapState
  readonly #mask: number

  private constructor (state: OffsetMapState) {
    this.#state = state
    this.#mask = state.slots.length - 1
    assert((state.slots.length & this.#mask) === 0, 'slot count must be a power of two')
  }

  /** An empty map sized by `options`. */
  static create (options: OffsetMapOptions = {}): OffsetMap {
    const entriesMax = options.entriesMax ?? offsetMapDefaults.entriesMax
    const keyBytesMax = options.keyBytesMax ?? offsetMapDefaults.keyBytesMax
    if (!Number.isInteger(entriesMax) || entriesMax < 1 || entriesMax > 2 ** 26) {
      throw new SluiceError('SLUICE_INVALID_OPTION', `offsetMap.entriesMax must be an integer in [1, 2^26], got ${String(entriesMax)}`)
    }
    if (!Number.isInteger(keyBytesMax) || keyBytesMax < 1 || keyBytesMax > 2 ** 31 - 1) {
      throw new SluiceError('SLUICE_INVALID_OPTION', `offsetMap.keyBytesMax must be an integer in [1, 2^31 - 1], got ${String(keyBytesMax)}`)
    }
    const meta = new Float64Array(new SharedArrayBuffer(3 * 8))
    meta[LATEST_OFFSET] = -1
    let slotCount = 2
    while (slotCount < entriesMax * 2) slotCount *= 2
    return new OffsetMap({
      slots: new Int32Array(new SharedArrayBuffer(slotCount * 4)),
      hashes: new Int32Array(new SharedArrayBuffer(entriesMax * 4)),
      keyStarts: new Int32Array(new SharedArrayBuffer(entriesMax * 4)),
      keyLengths: new Int32Array(new SharedArrayBuffer(entriesMax * 4)),
      offsets: new Float64Array(new SharedArrayBuffer(entriesMax * 8)),
      arena: new Uint8Array(new SharedArrayBuffer(keyBytesMax)),
      meta
    })
  }

  /** A read-only view of a map whose state arrived from another thread. */
  static fromState (state: OffsetMapState): OffsetMap {
    return new OffsetMap(state)
  }

  /** The state to pass to a worker (every array shared, nothing copied). */
  get state (): OffsetMapState { return this.#state }
  get size (): number { return this.#state.meta[COUNT]! }
  /** The map's coverage: records past it were not seen by the map and are always kept. */
  get latestOffset (): number { return this.#state.meta[LATEST_OFFSET]! }

  /** Extends the coverage to `offset` (never shrinks it). */
  cover (offset: number): void {
    const meta = this.#state.meta
    if (offset > meta[LATEST_OFFSET]!) meta[LATEST_OFFSET] = offset
  }

  /** Empties the map for reuse (the memory stays allocated: one map serves many cleanings). */
  clear (): void {
    const state = this.#state
    state.slots.fill(0)
    state.meta[COUNT] = 0
    state.meta[ARENA_USED] = 0
    state.meta[LATEST_OFFSET] = -1
  }

  /**
   * Records `offset` as the newest for `key`. Returns false (and changes nothing) when the key
   * is new and the map has no room for it: the caller ends the map's coverage there.
   */
  put (key: Uint8Array, offset: number): boolean {
    const state = this.#state
    const hash = xxhash32(key, HASH_SEED) | 0
    let slot = hash & this.#mask
    // Bounded: load <= 0.5, so an empty slot is met within slots.length probes.
    for (let probe = 0; probe <= this.#mask; probe++) {
      const entry = state.slots[slot]! - 1
      if (entry < 0) break
      if (state.hashes[entry] === hash && this.#keyEquals(entry, key)) {
        if (offset > state.offsets[entry]!) state.offsets[entry] = offset
        return true
      }
      slot = (slot + 1) & this.#mask
    }
    const meta = state.meta
    const count = meta[COUNT]!
    const arenaUsed = meta[ARENA_USED]!
    if (count >= state.offsets.length || arenaUsed + key.length > state.arena.length) return false
    const entry = count
    meta[COUNT] = count + 1
    state.hashes[entry] = hash
    state.keyStarts[entry] = arenaUsed
    state.keyLengths[entry] = key.length
    state.offsets[entry] = offset
    state.arena.set(key, arenaUsed)
    meta[ARENA_USED] = arenaUsed + key.length
    state.slots[slot] = entry + 1
    return true
  }

  /** The newest offset recorded for `key`, or -1 when the map has not seen it. */
  get (key: Uint8Array): number {
    const state = this.#state
    const hash = xxhash32(key, HASH_SEED) | 0
    let slot = hash & this.#mask
    for (let probe = 0; probe <= this.#mask; probe++) {
      const entry = state.slots[slot]! - 1
      if (entry < 0) return -1
      if (state.hashes[entry] === hash && this.#keyEquals(entry, key)) return state.offsets[entry]!
      slot = (slot + 1) & this.#mask
    }
    return -1
  }

  #keyEquals (entry: number, key: Uint8Array): boolean {
    const state = this.#state
    const length = state.keyLengths[entry]!
    if (length !== key.length) return false
    const start = state.keyStarts[entry]!
    const arena = state.arena
    for (let index = 0; index < length; index++) {
      if (arena[start + index] !== key[index]) return false
    }
    return true
  }
}
