/**
 * Where the group coordinator persists committed offsets and group metadata: the records of
 * the compacted internal topic `__consumer_offsets` (formats in offset-records.ts).
 *
 * Contract of an `OffsetStore`:
 * - `append(partition, records)` appends the records, in order, as one batch to partition
 *   `partition` of `__consumer_offsets`, and resolves when they are as durable as the store's
 *   policy promises (the log-backed store: appended with acks 'all'). Calls to one partition
 *   are applied in call order. A rejection means none of the records are visible.
 * - `load()` yields every record of every partition, each partition in offset order, as the
 *   coordinator replays them on start. The newest record of a key wins; a null value is a
 *   tombstone.
 *
 * The log-backed store appends a RecordBatch v2 built from these records (key, value,
 * timestamp; no headers, no compression) to the `__consumer_offsets` PartitionLog of that
 * partition, and loads by reading each partition from its log start offset to its end.
 *
 * `MemoryOffsetStore` keeps the records in arrays; it serves tests and `Sluice.open` with an
 * in-memory data directory. It compacts a partition when it passes `recordCountMax` records,
 * as the log cleaner would, so repeated commits stay bounded.
 */
import { SluiceError } from '../core/errors.js'

export interface OffsetStoreRecord {
  key: Uint8Array
  /** null is a tombstone. */
  value: Uint8Array | null
  /** Milliseconds since the epoch; the record's timestamp in the batch. */
  timestamp: number
}

export interface OffsetStore {
  append (partition: number, records: readonly OffsetStoreRecord[]): Promise<void>
  load (): AsyncIterable<OffsetStoreRecord>
}

export interface MemoryOffsetStoreOptions {
  /** Records one partition may hold before it is compacted. @defaultValue 100000 */
  recordCountMax?: number
}

export const memoryOffsetStoreDefaults = Object.freeze({ recordCountMax: 100_000 })

/** An explicit copy (Buffer#slice would return a view). */
function copyBytes (bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(bytes.byteLength)
  copy.set(bytes)
  return copy
}

function keyText (key: Uint8Array): string {
  let text = ''
  for (let index = 0; index < key.byteLength; index++) text += String.fromCharCode(key[index]!)
  return text
}

export class MemoryOffsetStore implements OffsetStore {
  readonly #partitions = new Map<number, OffsetStoreRecord[]>()
  readonly #recordCountMax: number

  constructor (options: MemoryOffsetStoreOptions = {}) {
    const recordCountMax = options.recordCountMax ?? memoryOffsetStoreDefaults.recordCountMax
    if (!Number.isInteger(recordCountMax) || recordCountMax < 1) {
      throw new SluiceError('SLUICE_INVALID_OPTION', `recordCountMax ${recordCountMax} must be an integer >= 1`)
    }
    this.#recordCountMax = recordCountMax
  }

  async append (partition: number, records: readonly OffsetStoreRecord[]): Promise<void> {
    let log = this.#partitions.get(partition)
    if (log === undefined) {
      log = []
      this.#partitions.set(partition, log)
    }
    const lengthBefore = log.length
    // Copies: the caller may reuse its buffers once the append resolves.
    for (const record of records) {
      log.push({ key: copyBytes(record.key), value: record.value === null ? null : copyBytes(record.value), timestamp: record.timestamp })
    }
    if (log.length <= this.#recordCountMax) return
    try {
      this.#compact(partition, log)
    } catch (error) {
      log.length = lengthBefore
      throw error
    }
  }

  /** Keeps the newest record per key and drops tombstones (nothing older remains to delete). */
  #compact (partition: number, log: OffsetStoreRecord[]): void {
    const newest = new Map<string, OffsetStoreRecord>()
    for (const record of log) {
      const text = keyText(record.key)
      newest.delete(text)
      newest.set(text, record)
    }
    const kept = [...newest.values()].filter((record) => record.value !== null)
    if (kept.length > this.#recordCountMax) {
      throw new SluiceError('SLUICE_BUFFER_FULL', `offsets partition ${partition} holds ${kept.length} live keys > ${this.#recordCountMax}`)
    }
    this.#partitions.set(partition, kept)
  }

  async * load (): AsyncIterable<OffsetStoreRecord> {
    const partitions = [...this.#partitions.keys()].sort((a, b) => a - b)
    for (const partition of partitions) {
      // A snapshot, so appends during the replay are not replayed twice.
      const log = [...(this.#partitions.get(partition) ?? [])]
      for (const record of log) yield record
    }
  }

  /** Records currently held in a partition (tests and diagnostics). */
  recordCount (partition: number): number {
    return this.#partitions.get(partition)?.length ?? 0
  }
}
