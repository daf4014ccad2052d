/**
 * Idempotent-producer state of one partition (Kafka's ProducerStateManager): per producer id,
 * the epoch and the metadata of its last 5 batches, so a retried batch is answered with the
 * offsets it got the first time instead of being written twice, and a batch that skips or
 * repeats sequence numbers is refused.
 *
 * Append checks for a batch with producerId >= 0 (not a control batch), in Kafka's order:
 *   1. duplicate: same epoch and a retained batch with exactly (firstSeq, lastSeq) -> success
 *      with the original baseOffset/lastOffset, nothing appended;
 *   2. epoch below the current one -> INVALID_PRODUCER_EPOCH;
 *   3. a new epoch must start at sequence 0 -> else OUT_OF_ORDER_SEQUENCE_NUMBER;
 *   4. same epoch: baseSequence = lastSequence + 1 (0 after INT32_MAX) -> else
 *      OUT_OF_ORDER_SEQUENCE_NUMBER.
 * A producer with no entry (never seen, expired after `producer.id.expiration.ms` without a
 * write, or whose batches all fell below the log start offset) is accepted at any sequence.
 *
 * In-flight appends. A producer pipelines up to 5 batches per partition, and the log resolves
 * an append only once it is written (or fdatasynced), so the next batch must be checked against
 * the sequence of one still in flight. Each accepted batch therefore takes a *reservation*,
 * synchronously, before `PartitionLog.append` is called; checks see committed batches plus live
 * reservations. When the append resolves, the reservation commits (with the real offsets); when
 * it rejects, the reservation is dropped. This is safe because of how the log fails:
 *   - a batch the log staged in the call itself (the normal case, detected by `logEndOffset`
 *     moving during the call) can only fail through a write or fdatasync failure, which rejects
 *     every batch staged after it as well, so no later batch of the producer survives it;
 *   - a staged batch that the log has already taken back (its offsets are at or past
 *     `logEndOffset`) no longer counts for the checks, even before its rejection arrives;
 *   - a batch the log did not stage at once (a roll or a repair is running, or it failed its
 *     own validation) closes the gate for its producer: that producer's next batches wait until
 *     it settled and are checked then, so a batch never enters the log behind a predecessor
 *     that might still be refused.
 * Acknowledged batches can also be taken back: a failed fdatasync under the 'interval' or
 * 'never' policy truncates the log to its last fdatasync, as a power loss would. The state
 * notices when the log end falls to or below its newest committed offset (at a check) or when
 * an append is given offsets already committed (at a commit), and forgets the batches at and
 * past that offset, so a retry of a lost batch is written again rather than answered with
 * offsets that no longer hold it.
 *
 * One narrow case remains: a failed fdatasync rejects staged batches before the log takes their
 * offsets back; a batch of the same producer that arrives in that window and then waits for the
 * log's repair is stored after its predecessor was refused. The state then follows the log (the
 * stored batch commits, as replay would see it), so state and log never disagree; the producer
 * learns of the gap when its retry of the refused batch gets OUT_OF_ORDER_SEQUENCE_NUMBER.
 *
 * Snapshot file `<offset, 20 digits>.snapshot` in the partition directory, Kafka's layout:
 *
 * | offset | size | field                                  |
 * |--------|------|----------------------------------------|
 * | 0      | 2    | version (int16) = 1                    |
 * | 2      | 4    | crc (uint32): CRC-32C of bytes 6..end  |
 * | 6      | 4    | entry count (int32)                    |
 * | 10     | 46*n | entries                                |
 *
 * Entry (46 bytes): producerId int64, epoch int16, lastSequence int32, lastOffset int64,
 * offsetDelta int32 (lastOffset - first offset of the last batch), timestamp int64,
 * coordinatorEpoch int32 (-1), currentTxnFirstOffset int64 (-1, no open transaction).
 * All big-endian. The snapshot at offset S holds the state of every batch below S. Like Kafka,
 * a snapshot keeps only each producer's last batch; older duplicates are recognised again once
 * replay has seen those batches.
 *
 * Snapshots are taken when the active segment rolls (as Kafka does), every SNAPSHOT_INTERVAL_MS
 * while the log moves, and on close; the newest two are kept. Open loads the newest valid
 * snapshot at or below the log end offset (corrupt ones and those past the end, left by a
 * truncating recovery, are deleted) and replays the batch headers from its offset to the high
 * watermark, so after an unclean shutdown replay covers at most what was appended since the
 * last roll or the last minute.
 *
 * Concurrency: single-threaded; one manager per open partition log, used by Engine.append only.
 */
import { assert } from '../core/assert.js'
import { SluiceError, isSluiceError } from '../core/errors.js'
import { crc32c } from '../io/crc32c.js'
import type { FileSystem } from '../io/file-system.js'
import { unlinkIfPresent, writeFileAtomic } from '../io/file-system.js'
import { BatchAttribute, BatchOffset, LOG_OVERHEAD, RECORD_BATCH_OVERHEAD } from '../io/record-batch-header.js'
import { dataViewOf, readInt64 } from './batch-scan.js'
import { parseSegmentFileName, segmentFileStem } from './layout.js'
import type { AppendResult, PartitionLog } from './partition-log.js'

/** Batches remembered per producer (Kafka's NUM_BATCHES_TO_RETAIN; clients keep <= 5 in flight). */
export const BATCHES_RETAINED = 5
export const SNAPSHOT_SUFFIX = '.snapshot'
export const SNAPSHOT_VERSION = 1
const SNAPSHOT_HEADER_BYTES = 10
const SNAPSHOT_ENTRY_BYTES = 46
/** Snapshots kept per partition: the newest and one before it, in case the newest is damaged. */
const SNAPSHOTS_KEPT = 2
/**
 * A snapshot is also taken when this long passed since the last one and the log moved, so the
 * replay after an unclean shutdown stays short even when segments are large and roll rarely
 * (Kafka's recovery-point checkpoint period).
 */
export const SNAPSHOT_INTERVAL_MS = 60_000
/** Bytes read per step of a replay. */
const REPLAY_READ_BYTES = 1024 * 1024
/** Commits between two sweeps of expired producers (bounds memory without a timer). */
const EXPIRY_SWEEP_COMMITS = 4096
const INT32_MAX = 0x7fffffff

/** `producer.id.expiration.ms`'s default: one day. */
export const PRODUCER_ID_EXPIRATION_MS_DEFAULT = 86_400_000

/** The header fields the checks use. */
export interface ProducerBatchHeader {
  producerId: number
  producerEpoch: number
  baseSequence: number
  lastOffsetDelta: number
  maxTimestamp: number
}

/** One remembered batch. */
export interface BatchMetadata {
  firstSeq: number
  lastSeq: number
  baseOffset: number
  lastOffset: number
  /** The batch's maxTimestamp (replay, snapshot) or the append time (live appends). */
  timestamp: number
}

/** The committed state of one producer. */
export interface ProducerStateEntry {
  producerId: number
  epoch: number
  /** Oldest first, at most BATCHES_RETAINED. */
  batches: BatchMetadata[]
  /** When the producer last wrote (ms); drives expiration. */
  lastTimestamp: number
  coordinatorEpoch: number
}

/** A batch accepted and handed to the log, not yet settled. */
export interface Reservation {
  readonly producerId: number
  readonly epoch: number
  readonly firstSeq: number
  readonly lastSeq: number
  readonly lastOffsetDelta: number
  /** Base offset the log assigned at staging; -1 while the log has not staged it. */
  stagedBase: number
  settled: boolean
  waiters: Array<() => void> | undefined
}

export type ProducerCheck =
  | { kind: 'append' }
  | { kind: 'duplicate', baseOffset: number, lastOffset: number, timestamp: number }
  /** An earlier batch of this producer is unsettled in a way the check cannot see past: retry after `settled`. */
  | { kind: 'wait', settled: Promise<void> }

export interface ProducerAppendResult extends AppendResult {
  /** Set when the batch was a retry of one already stored: the offsets are the original ones. */
  duplicate?: true
}

export interface ProducerStateOptions {
  /** Kafka: `producer.id.expiration.ms`. @defaultValue 86400000 */
  expirationMs?: number
  /** Milliseconds clock (tests). @defaultValue Date.now */
  clock?: () => number
}

/** What the state needs of a partition log to load and snapshot (a PartitionLog has it all). */
export interface ProducerStateLog {
  readonly highWatermark: number
  readonly logEndOffset: number
  readonly logStartOffset: number
  readonly directory: string
  readonly activeSegment: { readonly baseOffset: number }
  read: PartitionLog['read']
}

interface ProducerSlot {
  committed: ProducerStateEntry | undefined
  /** In append order. */
  inflight: Reservation[]
}

/** The sequence after `sequence + delta`, wrapping at INT32_MAX to 0 (Kafka's incrementSequence). */
export function incrementSequence (sequence: number, delta: number): number {
  return sequence > INT32_MAX - delta ? delta - (INT32_MAX - sequence) - 1 : sequence + delta
}

/** Kafka's decrementSequence: the sequence `delta` before `sequence`, wrapping. */
export function decrementSequence (sequence: number, delta: number): number {
  return sequence < delta ? INT32_MAX - (delta - sequence) + 1 : sequence - delta
}

function inSequence (lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === INT32_MAX)
}

/**
 * The producer fields of a batch when it takes part in idempotence (producerId >= 0, not a
 * control batch), else undefined. Malformed batches return undefined: the log refuses them.
 */
export function producerHeaderOf (batch: Uint8Array): ProducerBatchHeader | undefined {
  if (!(batch instanceof Uint8Array) || batch.byteLength < RECORD_BATCH_OVERHEAD) return undefined
  const view = dataViewOf(batch)
  if (view.getInt32(BatchOffset.producerId) < 0) return undefined
  if ((view.getInt16(BatchOffset.attributes) & BatchAttribute.control) !== 0) return undefined
  const producerId = readInt64(view, BatchOffset.producerId)
  const maxTimestamp = readInt64(view, BatchOffset.maxTimestamp)
  if (!Number.isSafeInteger(producerId) || !Number.isSafeInteger(maxTimestamp)) return undefined
  return {
    producerId,
    producerEpoch: view.getInt16(BatchOffset.producerEpoch),
    baseSequence: view.getInt32(BatchOffset.baseSequence),
    lastOffsetDelta: view.getInt32(BatchOffset.lastOffsetDelta),
    maxTimestamp
  }
}

export class ProducerStateManager {
  readonly expirationMs: number
  private readonly clock: () => number
  private readonly producers = new Map<number, ProducerSlot>()
  private commitsSinceSweep = 0
  /** Largest lastOffset in the committed state; a log end at or below it means the log was truncated. */
  private committedOffsetMax = -1
  /** Offset of the newest snapshot on disk, -1 when none. */
  private snapshotOffset = -1
  private snapshotRunning: Promise<void> | undefined
  /** Base offset of the active segment when last looked at (a change means a roll). */
  private segmentBase = -1
  /** Set by `clear` (partition deleted): no snapshot may be written any more. */
  private cleared = false
  /** When the last snapshot was started (or the state loaded). */
  private lastSnapshotMs: number

  constructor (options: ProducerStateOptions = {}) {
    const expirationMs = options.expirationMs ?? PRODUCER_ID_EXPIRATION_MS_DEFAULT
    if (!Number.isSafeInteger(expirationMs) || expirationMs < 1) {
      throw new SluiceError('SLUICE_INVALID_OPTION', `producerIdExpirationMs must be an integer >= 1, got ${String(expirationMs)}`)
    }
    this.expirationMs = expirationMs
    this.clock = options.clock ?? Date.now
    this.lastSnapshotMs = this.clock()
  }

  /** Producers with committed state. */
  get producerCount (): number {
    let count = 0
    for (const slot of this.producers.values()) if (slot.committed !== undefined) count++
    return count
  }

  /** Committed state of a producer (a copy), or undefined. */
  entry (producerId: number): ProducerStateEntry | undefined {
    const committed = this.producers.get(producerId)?.committed
    return committed === undefined ? undefined : { ...committed, batches: committed.batches.map((batch) => ({ ...batch })) }
  }

  /** Every committed entry (copies), in producer id order. */
  entries (): ProducerStateEntry[] {
    return [...this.producers.keys()].sort((a, b) => a - b).map((id) => this.entry(id)).filter((entry) => entry !== undefined)
  }

  /** Largest producer id with committed state, -1 when none. */
  get maxProducerId (): number {
    let max = -1
    for (const [id, slot] of this.producers) if (slot.committed !== undefined && id > max) max = id
    return max
  }

  // ---- checks -----------------------------------------------------------------------------

  /**
   * Decides what to do with an idempotent batch (no side effects). `logEndOffset` lets it
   * discount reservations the log has already rolled back. Throws INVALID_RECORD,
   * INVALID_PRODUCER_EPOCH or OUT_OF_ORDER_SEQUENCE_NUMBER.
   */
  check (header: ProducerBatchHeader, logEndOffset = Number.MAX_SAFE_INTEGER): ProducerCheck {
    const { producerId, producerEpoch, baseSequence, lastOffsetDelta } = header
    if (producerEpoch < 0 || baseSequence < 0 || lastOffsetDelta < 0) {
      throw new SluiceError('INVALID_RECORD', `idempotent batch of producer ${producerId} has epoch ${producerEpoch}, baseSequence ${baseSequence}, lastOffsetDelta ${lastOffsetDelta}`)
    }
    if (logEndOffset <= this.committedOffsetMax) this.truncateTail(logEndOffset)
    const slot = this.slot(producerId)
    const lastSeq = incrementSequence(baseSequence, lastOffsetDelta)
    let tail: { epoch: number, lastSeq: number } | undefined
    if (slot !== undefined) {
      const committed = slot.committed
      // One pass over the (at most a few) live reservations, without allocating: the gate (a
      // batch not staged yet may still be refused), a twin in flight, and the newest one.
      let newest: Reservation | undefined
      let twin: Reservation | undefined
      for (const reservation of slot.inflight) {
        if (rolledBack(reservation, logEndOffset)) continue
        if (reservation.stagedBase < 0) return { kind: 'wait', settled: settledPromise(reservation) }
        if (reservation.epoch === producerEpoch && reservation.firstSeq === baseSequence && reservation.lastSeq === lastSeq) twin = reservation
        newest = reservation
      }
      if (committed !== undefined && committed.epoch === producerEpoch) {
        for (const batch of committed.batches) {
          if (batch.firstSeq === baseSequence && batch.lastSeq === lastSeq) return { kind: 'duplicate', baseOffset: batch.baseOffset, lastOffset: batch.lastOffset, timestamp: batch.timestamp }
        }
      }
      if (twin !== undefined) return { kind: 'wait', settled: settledPromise(twin) }
      if (newest !== undefined) tail = { epoch: newest.epoch, lastSeq: newest.lastSeq }
      else if (committed !== undefined) tail = { epoch: committed.epoch, lastSeq: committed.batches[committed.batches.length - 1]?.lastSeq ?? -1 }
    }
    if (tail === undefined) return { kind: 'append' }
    if (producerEpoch < tail.epoch) {
      throw new SluiceError('INVALID_PRODUCER_EPOCH', `producer ${producerId} has epoch ${producerEpoch}, older than the current epoch ${tail.epoch}`)
    }
    if (producerEpoch > tail.epoch) {
      if (baseSequence !== 0) {
        throw new SluiceError('OUT_OF_ORDER_SEQUENCE_NUMBER', `new epoch ${producerEpoch} of producer ${producerId} starts at sequence ${baseSequence}, expected 0`)
      }
      return { kind: 'append' }
    }
    if (!inSequence(tail.lastSeq, baseSequence)) {
      throw new SluiceError('OUT_OF_ORDER_SEQUENCE_NUMBER', `producer ${producerId} epoch ${producerEpoch} sent sequence ${baseSequence}, expected ${incrementSequence(tail.lastSeq, 1)}`)
    }
    return { kind: 'append' }
  }

  /** Records a batch that passed `check` as in flight; call synchronously after it. */
  reserve (header: ProducerBatchHeader): Reservation {
    let slot = this.producers.get(header.producerId)
    if (slot === undefined) {
      slot = { committed: undefined, inflight: [] }
      this.producers.set(header.producerId, slot)
    }
    const reservation: Reservation = {
      producerId: header.producerId,
      epoch: header.producerEpoch,
      firstSeq: header.baseSequence,
      lastSeq: incrementSequence(header.baseSequence, header.lastOffsetDelta),
      lastOffsetDelta: header.lastOffsetDelta,
      stagedBase: -1,
      settled: false,
      waiters: undefined
    }
    slot.inflight.push(reservation)
    return reservation
  }

  /** The append resolved: the reservation becomes committed state with its real offsets. */
  commit (reservation: Reservation, offsets: { baseOffset: number, lastOffset: number, logAppendTime?: number }): void {
    if (!this.release(reservation)) return
    // Offsets handed out again: the log took back acknowledged batches (a failed fdatasync
    // under the 'interval' or 'never' policy), so the state forgets them too.
    if (offsets.baseOffset <= this.committedOffsetMax && this.overlapsCommitted(offsets.baseOffset, offsets.lastOffset)) this.truncateTail(offsets.baseOffset)
    // On a LogAppendTime topic, the time the log stamped: what a replay of the batch reads back,
    // what a snapshot keeps (it stores the producer's last time) and what a duplicate is answered with.
    const time = offsets.logAppendTime !== undefined && offsets.logAppendTime >= 0 ? offsets.logAppendTime : this.clock()
    this.apply(reservation.producerId, reservation.epoch, {
      firstSeq: reservation.firstSeq,
      lastSeq: reservation.lastSeq,
      baseOffset: offsets.baseOffset,
      lastOffset: offsets.lastOffset,
      timestamp: time
    }, time)
    if (++this.commitsSinceSweep >= EXPIRY_SWEEP_COMMITS) this.removeExpired()
  }

  /** The append rejected: the reservation is dropped. */
  abort (reservation: Reservation): void {
    if (!this.release(reservation)) return
    const slot = this.producers.get(reservation.producerId)
    if (slot !== undefined && slot.committed === undefined && slot.inflight.length === 0) this.producers.delete(reservation.producerId)
  }

  /**
   * Applies a batch read from the log (replay) or appended without a reservation: no checks,
   * the state follows the log. Batches at or below the producer's newest known offset are
   * skipped, so replaying a range twice changes nothing.
   */
  update (header: ProducerBatchHeader, baseOffset: number): void {
    const lastOffset = baseOffset + header.lastOffsetDelta
    this.apply(header.producerId, header.producerEpoch, {
      firstSeq: header.baseSequence,
      lastSeq: incrementSequence(header.baseSequence, header.lastOffsetDelta),
      baseOffset,
      lastOffset,
      timestamp: header.maxTimestamp
    }, header.maxTimestamp)
  }

  private apply (producerId: number, epoch: number, batch: BatchMetadata, lastTimestamp: number): void {
    let slot = this.producers.get(producerId)
    if (slot === undefined) {
      slot = { committed: undefined, inflight: [] }
      this.producers.set(producerId, slot)
    }
    let entry = slot.committed
    if (entry === undefined) {
      entry = { producerId, epoch, batches: [], lastTimestamp, coordinatorEpoch: -1 }
      slot.committed = entry
    }
    const newest = entry.batches[entry.batches.length - 1]
    if (newest !== undefined && batch.lastOffset <= newest.lastOffset) return
    if (epoch !== entry.epoch) {
      entry.epoch = epoch
      entry.batches = []
    }
    entry.batches.push(batch)
    if (entry.batches.length > BATCHES_RETAINED) entry.batches.shift()
    if (batch.lastOffset > this.committedOffsetMax) this.committedOffsetMax = batch.lastOffset
    entry.lastTimestamp = Math.max(entry.lastTimestamp, lastTimestamp)
  }

  private release (reservation: Reservation): boolean {
    if (reservation.settled) return false
    reservation.settled = true
    const slot = this.producers.get(reservation.producerId)
    if (slot !== undefined) {
      const at = slot.inflight.indexOf(reservation)
      if (at >= 0) slot.inflight.splice(at, 1)
    }
    const waiters = reservation.waiters
    reservation.waiters = undefined
    if (waiters !== undefined) for (const wake of waiters) wake()
    return true
  }

  /** The slot of a producer, after dropping its committed state if it expired. */
  private slot (producerId: number): ProducerSlot | undefined {
    const slot = this.producers.get(producerId)
    if (slot?.committed !== undefined && slot.inflight.length === 0 && this.isExpired(slot.committed)) {
      this.producers.delete(producerId)
      return undefined
    }
    return slot
  }

  private isExpired (entry: ProducerStateEntry): boolean {
    return this.clock() - entry.lastTimestamp >= this.expirationMs
  }

  /** Drops producers idle for `producer.id.expiration.ms` (never one with a batch in flight). */
  removeExpired (): void {
    this.commitsSinceSweep = 0
    for (const [producerId, slot] of this.producers) {
      if (slot.inflight.length === 0 && (slot.committed === undefined || this.isExpired(slot.committed))) this.producers.delete(producerId)
    }
  }

  /** Drops producers whose newest batch is below the log start offset (retention removed it), as Kafka does. */
  truncateHead (logStartOffset: number): void {
    for (const [producerId, slot] of this.producers) {
      const newest = slot.committed?.batches[slot.committed.batches.length - 1]
      if (slot.inflight.length === 0 && newest !== undefined && newest.lastOffset < logStartOffset) this.producers.delete(producerId)
    }
  }

  /** True when a committed batch claims an offset in [baseOffset, lastOffset] (rare path: a full scan). */
  private overlapsCommitted (baseOffset: number, lastOffset: number): boolean {
    for (const slot of this.producers.values()) {
      for (const batch of slot.committed?.batches ?? []) {
        if (batch.lastOffset >= baseOffset && batch.baseOffset <= lastOffset) return true
      }
    }
    return false
  }

  /**
   * Forgets batches at or past `offset` (the log was truncated there); a producer left with no
   * batch becomes unknown, as after Kafka's truncation below all of its batches.
   */
  truncateTail (offset: number): void {
    for (const [producerId, slot] of this.producers) {
      const committed = slot.committed
      if (committed === undefined) continue
      committed.batches = committed.batches.filter((batch) => batch.lastOffset < offset)
      if (committed.batches.length === 0) {
        slot.committed = undefined
        if (slot.inflight.length === 0) this.producers.delete(producerId)
      }
    }
    this.committedOffsetMax = Math.min(this.committedOffsetMax, offset - 1)
  }

  /** Forgets everything (the partition was deleted). Waiters of reservations are released. */
  clear (): void {
    this.cleared = true
    for (const slot of this.producers.values()) for (const reservation of [...slot.inflight]) this.release(reservation)
    this.producers.clear()
  }

  // ---- snapshots ----------------------------------------------------------------------------

  /**
   * The offset a snapshot taken now describes: every batch below it is in the committed state,
   * none at or above it (batches in flight are above it or not yet staged).
   */
  consistentOffset (log: Pick<PartitionLog, 'highWatermark' | 'logEndOffset'>): number {
    let offset = Math.min(log.highWatermark, log.logEndOffset)
    for (const slot of this.producers.values()) {
      for (const reservation of slot.inflight) if (reservation.stagedBase >= 0 && reservation.stagedBase < offset) offset = reservation.stagedBase
    }
    return offset
  }

  /**
   * True when a snapshot should be taken after this append: the log rolled since the last call
   * (as Kafka snapshots at a roll), or SNAPSHOT_INTERVAL_MS passed and the log moved since the
   * last snapshot. Cheap enough to ask after every append.
   */
  snapshotDue (log: Pick<ProducerStateLog, 'activeSegment' | 'highWatermark'>): boolean {
    const base = log.activeSegment.baseOffset
    if (this.segmentBase !== base) {
      const rolled = this.segmentBase >= 0
      this.segmentBase = base
      if (rolled) return true
    }
    return this.clock() - this.lastSnapshotMs >= SNAPSHOT_INTERVAL_MS && log.highWatermark !== this.snapshotOffset
  }

  /**
   * Writes `<offset>.snapshot` for the current committed state (atomically: temporary file,
   * fdatasync, rename, directory fsync) and deletes all but the newest two. Skipped when the
   * newest snapshot already describes this offset, or when there is nothing a snapshot would
   * save (no producers and nothing to replay). One write at a time per partition.
   */
  async writeSnapshot (fs: FileSystem, log: Pick<ProducerStateLog, 'highWatermark' | 'logEndOffset' | 'logStartOffset' | 'directory'>): Promise<void> {
    while (this.snapshotRunning !== undefined) await this.snapshotRunning
    if (this.cleared) return
    this.lastSnapshotMs = this.clock()
    const offset = this.consistentOffset(log)
    if (offset === this.snapshotOffset) return
    this.truncateHead(log.logStartOffset)
    this.removeExpired()
    const entries = this.entries()
    if (entries.length === 0 && this.snapshotOffset < 0 && offset <= log.logStartOffset) return
    const bytes = encodeSnapshot(entries)
    this.snapshotRunning = (async () => {
      await writeFileAtomic(fs, `${log.directory}/${snapshotFileName(offset)}`, bytes)
      this.snapshotOffset = Math.max(this.snapshotOffset, offset)
      const offsets = (await listSnapshots(fs, log.directory)).sort((a, b) => b - a)
      for (const old of offsets.slice(SNAPSHOTS_KEPT)) await unlinkIfPresent(fs, `${log.directory}/${snapshotFileName(old)}`)
    })().finally(() => { this.snapshotRunning = undefined })
    await this.snapshotRunning
  }

  /** Resolves when no snapshot write is running. */
  async idle (): Promise<void> {
    while (this.snapshotRunning !== undefined) await this.snapshotRunning.catch(() => {})
  }

  /**
   * Loads the newest valid snapshot at or below the log end offset, deletes snapshots past the
   * end or corrupt, and replays batch headers from the snapshot's offset (or the log start) to
   * the high watermark. Call once, before the first append.
   */
  async load (fs: FileSystem, log: ProducerStateLog): Promise<{ snapshotOffset: number, replayedBatches: number }> {
    this.segmentBase = log.activeSegment.baseOffset
    const offsets = (await listSnapshots(fs, log.directory)).sort((a, b) => b - a)
    let loaded = -1
    for (const offset of offsets) {
      const path = `${log.directory}/${snapshotFileName(offset)}`
      if (offset > log.logEndOffset) {
        // Describes batches recovery truncated away: it must never be loaded.
        await unlinkIfPresent(fs, path)
        continue
      }
      if (loaded >= 0) continue // an older one, kept as a fallback
      let entries: ProducerStateEntry[]
      try {
        entries = decodeSnapshot(await fs.readFile(path), path)
      } catch (error) {
        if (!isSluiceError(error, 'SLUICE_CORRUPT_SEGMENT')) throw error
        await unlinkIfPresent(fs, path)
        continue
      }
      for (const entry of entries) {
        this.producers.set(entry.producerId, { committed: entry, inflight: [] })
        this.committedOffsetMax = Math.max(this.committedOffsetMax, entry.batches[entry.batches.length - 1]!.lastOffset)
      }
      loaded = offset
    }
    this.snapshotOffset = loaded
    this.truncateHead(log.logStartOffset)
    let replayed = 0
    let offset = Math.max(loaded, log.logStartOffset, 0)
    const start = offset
    // Bounded: every round advances `offset` past at least one batch or stops.
    while (offset < log.highWatermark) {
      const { records } = await log.read(offset, { maxBytes: REPLAY_READ_BYTES })
      if (records.byteLength === 0) break
      const view = dataViewOf(records)
      let at = 0
      let next = offset
      while (at + RECORD_BATCH_OVERHEAD <= records.byteLength) {
        const size = view.getInt32(at + BatchOffset.batchLength) + LOG_OVERHEAD
        if (size < RECORD_BATCH_OVERHEAD || at + size > records.byteLength) break
        const baseOffset = readInt64(view, at + BatchOffset.baseOffset)
        const lastOffset = baseOffset + view.getInt32(at + BatchOffset.lastOffsetDelta)
        if (lastOffset >= start) {
          const header = producerHeaderOf(records.subarray(at, at + RECORD_BATCH_OVERHEAD))
          if (header !== undefined && header.producerEpoch >= 0 && header.baseSequence >= 0) {
            this.update(header, baseOffset)
            replayed++
          }
        }
        next = Math.max(next, lastOffset + 1)
        at += size
      }
      if (next <= offset) break
      offset = next
    }
    return { snapshotOffset: loaded, replayedBatches: replayed }
  }
}

function rolledBack (reservation: Reservation, logEndOffset: number): boolean {
  return reservation.stagedBase >= 0 && reservation.stagedBase + reservation.lastOffsetDelta >= logEndOffset
}

function settledPromise (reservation: Reservation): Promise<void> {
  if (reservation.settled) return Promise.resolve()
  return new Promise((resolve) => { (reservation.waiters ??= []).push(resolve) })
}

// ---- the append path --------------------------------------------------------------------------

/** Rounds of waiting for an earlier in-flight batch before giving up (each waits for one to settle). */
const WAIT_ROUNDS_MAX = 64

/**
 * Appends an idempotent batch through the producer state: answers duplicates with their
 * original offsets, refuses out-of-order or fenced batches before they reach the log, and
 * keeps the state in step with the log (see the module comment for the in-flight rules).
 */
export async function appendIdempotent (
  log: PartitionLog, state: ProducerStateManager, batch: Uint8Array, header: ProducerBatchHeader
): Promise<ProducerAppendResult> {
  for (let round = 0; ; round++) {
    const decision = state.check(header, log.logEndOffset)
    if (decision.kind === 'duplicate') {
      return {
        baseOffset: decision.baseOffset,
        lastOffset: decision.lastOffset,
        // Kafka answers a retry with the stored batch's time; on a LogAppendTime topic the stamp.
        logAppendTime: log.messageTimestampType === 'LogAppendTime' ? decision.timestamp : -1,
        logStartOffset: log.logStartOffset,
        durability: decision.lastOffset < log.recoveryPoint ? 'flushed' : 'written',
        duplicate: true
      }
    }
    if (decision.kind === 'append') break
    if (round >= WAIT_ROUNDS_MAX) {
      throw new SluiceError('SLUICE_TIMEOUT', `producer ${header.producerId} has too many batches waiting on each other; retry`)
    }
    await decision.settled
  }
  const reservation = state.reserve(header)
  const before = log.logEndOffset
  const pending = log.append(batch)
  // Staged in the call itself: the log moved its end by exactly this batch.
  if (log.logEndOffset === before + header.lastOffsetDelta + 1) reservation.stagedBase = before
  let result: AppendResult
  try {
    result = await pending
  } catch (error) {
    state.abort(reservation)
    throw error
  }
  assert(result.lastOffset - result.baseOffset === header.lastOffsetDelta, 'append result spans the batch')
  state.commit(reservation, result)
  return result
}

// ---- snapshot codec ---------------------------------------------------------------------------

export function snapshotFileName (offset: number): string {
  return `${segmentFileStem(offset)}${SNAPSHOT_SUFFIX}`
}

async function listSnapshots (fs: FileSystem, directory: string): Promise<number[]> {
  const names = await fs.readdir(directory)
  return names.map((name) => parseSegmentFileName(name, SNAPSHOT_SUFFIX)).filter((offset): offset is number => offset !== undefined)
}

function setInt64 (view: DataView, at: number, value: number): void {
  view.setBigInt64(at, BigInt(value))
}

function getInt64 (view: DataView, at: number, path: string): number {
  const value = Number(view.getBigInt64(at))
  if (!Number.isSafeInteger(value)) throw new SluiceError('SLUICE_CORRUPT_SEGMENT', `snapshot field at byte ${at} is out of range`, { file: path, position: at })
  return value
}

/** Encodes committed entries; each keeps its newest batch, as Kafka's snapshots do. */
export function encodeSnapshot (entries: readonly ProducerStateEntry[]): Uint8Array {
  const withBatches = entries.filter((entry) => entry.batches.length > 0)
  const bytes = new Uint8Array(SNAPSHOT_HEADER_BYTES + withBatches.length * SNAPSHOT_ENTRY_BYTES)
  const view = dataViewOf(bytes)
  view.setInt16(0, SNAPSHOT_VERSION)
  view.setInt32(6, withBatches.length)
  let at = SNAPSHOT_HEADER_BYTES
  for (const entry of withBatches) {
    const last = entry.batches[entry.batches.length - 1]!
    setInt64(view, at, entry.producerId)
    view.setInt16(at + 8, entry.epoch)
    view.setInt32(at + 10, last.lastSeq)
    setInt64(view, at + 14, last.lastOffset)
    view.setInt32(at + 22, last.lastOffset - last.baseOffset)
    setInt64(view, at + 26, entry.lastTimestamp)
    view.setInt32(at + 34, entry.coordinatorEpoch)
    setInt64(view, at + 38, -1)
    at += SNAPSHOT_ENTRY_BYTES
  }
  view.setUint32(2, crc32c(bytes.subarray(6)))
  return bytes
}

/** Decodes a snapshot; SLUICE_CORRUPT_SEGMENT on a wrong version, length or CRC. */
export function decodeSnapshot (bytes: Uint8Array, path = 'snapshot'): ProducerStateEntry[] {
  const corrupt = (why: string, position = 0): SluiceError => new SluiceError('SLUICE_CORRUPT_SEGMENT', `producer snapshot ${path}: ${why}`, { file: path, position })
  if (bytes.byteLength < SNAPSHOT_HEADER_BYTES) throw corrupt(`${bytes.byteLength} bytes is shorter than the header`)
  const view = dataViewOf(bytes)
  const version = view.getInt16(0)
  if (version !== SNAPSHOT_VERSION) throw corrupt(`version ${version} is not ${SNAPSHOT_VERSION}`)
  if (crc32c(bytes.subarray(6)) !== view.getUint32(2)) throw corrupt('CRC-32C does not match', 2)
  const count = view.getInt32(6)
  if (count < 0 || bytes.byteLength !== SNAPSHOT_HEADER_BYTES + count * SNAPSHOT_ENTRY_BYTES) throw corrupt(`entry count ${count} does not match ${bytes.byteLength} bytes`, 6)
  const entries: ProducerStateEntry[] = []
  let at = SNAPSHOT_HEADER_BYTES
  for (let index = 0; index < count; index++) {
    const producerId = getInt64(view, at, path)
    const epoch = view.getInt16(at + 8)
    const lastSeq = view.getInt32(at + 10)
    const lastOffset = getInt64(view, at + 14, path)
    const offsetDelta = view.getInt32(at + 22)
    const timestamp = getInt64(view, at + 26, path)
    const coordinatorEpoch = view.getInt32(at + 34)
    if (producerId < 0 || lastSeq < 0 || offsetDelta < 0 || lastOffset - offsetDelta < 0) throw corrupt(`entry ${index} has impossible fields`, at)
    entries.push({
      producerId,
      epoch,
      batches: [{ firstSeq: decrementSequence(lastSeq, offsetDelta), lastSeq, baseOffset: lastOffset - offsetDelta, lastOffset, timestamp }],
      lastTimestamp: timestamp,
      coordinatorEpoch
    })
    at += SNAPSHOT_ENTRY_BYTES
  }
  return entries
}
