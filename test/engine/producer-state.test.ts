import { describe, expect, test } from 'vitest'
import { FaultyFileSystem } from '../support/faulty-fs.js'
import { crc32c } from '../../src/io/crc32c.js'
import {
  BATCHES_RETAINED, ProducerStateManager, SNAPSHOT_INTERVAL_MS, decodeSnapshot, decrementSequence, encodeSnapshot, incrementSequence, producerHeaderOf
} from '../../src/engine/producer-state.js'
import type { ProducerBatchHeader, ProducerCheck } from '../../src/engine/producer-state.js'
import { encodeRecordBatch } from '../../src/io/record-batch-encoder.js'

const INT32_MAX = 0x7fffffff

function header (producerId: number, producerEpoch: number, baseSequence: number, records = 1): ProducerBatchHeader {
  return { producerId, producerEpoch, baseSequence, lastOffsetDelta: records - 1, maxTimestamp: Date.now() }
}

/** A simulated log end for the manager: check, reserve, stage and commit at the next offsets. */
class Harness {
  logEnd = 0
  constructor (readonly state: ProducerStateManager) {}

  check (input: ProducerBatchHeader): ProducerCheck { return this.state.check(input, this.logEnd) }

  /** Appends when the check says so; returns the decision. */
  append (input: ProducerBatchHeader): ProducerCheck {
    const decision = this.check(input)
    if (decision.kind !== 'append') return decision
    const reservation = this.state.reserve(input)
    reservation.stagedBase = this.logEnd
    const baseOffset = this.logEnd
    this.logEnd += input.lastOffsetDelta + 1
    this.state.commit(reservation, { baseOffset, lastOffset: baseOffset + input.lastOffsetDelta })
    return decision
  }
}

function harness (clock?: () => number, expirationMs?: number): Harness {
  return new Harness(new ProducerStateManager({ ...(clock === undefined ? {} : { clock }), ...(expirationMs === undefined ? {} : { expirationMs }) }))
}

describe('ProducerStateManager checks (Kafka 4.2 order)', () => {
  test('an unknown producer is accepted at any sequence, then sequences must follow on', () => {
    const h = harness()
    expect(h.append(header(7, 0, 42, 3)).kind).toBe('append')
    expect(h.append(header(7, 0, 45, 2)).kind).toBe('append')
    expect(() => h.check(header(7, 0, 48))).toThrow(expect.objectContaining({ code: 'OUT_OF_ORDER_SEQUENCE_NUMBER', kafkaCode: 45 }))
    expect(() => h.check(header(7, 0, 46))).toThrow(expect.objectContaining({ code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' }))
    expect(h.check(header(7, 0, 47)).kind).toBe('append')
  })

  test('a duplicate answers the original offsets, for each of the last 5 batches only', () => {
    const h = harness()
    for (let batch = 0; batch < 7; batch++) h.append(header(1, 0, batch * 2, 2))
    // Batches at offsets 0-1, 2-3, ... 12-13; the last five are batches 2..6.
    for (let batch = 2; batch < 7; batch++) {
      expect(h.check(header(1, 0, batch * 2, 2))).toMatchObject({ kind: 'duplicate', baseOffset: batch * 2, lastOffset: batch * 2 + 1 })
    }
    expect(BATCHES_RETAINED).toBe(5)
    // Older than the window: no longer recognised, and out of sequence.
    expect(() => h.check(header(1, 0, 2, 2))).toThrow(expect.objectContaining({ code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' }))
    // Same first sequence but a different last one is not a duplicate.
    expect(() => h.check(header(1, 0, 12, 1))).toThrow(expect.objectContaining({ code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' }))
  })

  test('duplicate is checked before the epoch and sequence rules', () => {
    const h = harness()
    h.append(header(3, 2, 0, 1))
    expect(h.check(header(3, 2, 0, 1)).kind).toBe('duplicate')
  })

  test('an older epoch is fenced with INVALID_PRODUCER_EPOCH', () => {
    const h = harness()
    h.append(header(5, 3, 0))
    expect(() => h.check(header(5, 2, 1))).toThrow(expect.objectContaining({ code: 'INVALID_PRODUCER_EPOCH', kafkaCode: 47 }))
  })

  test('a new epoch must start at sequence 0', () => {
    const h = harness()
    h.append(header(5, 0, 0, 10))
    expect(() => h.check(header(5, 1, 10))).toThrow(expect.objectContaining({ code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' }))
    expect(h.append(header(5, 1, 0)).kind).toBe('append')
    // The new epoch's batches replace the old ones: a retry of an old-epoch batch is fenced.
    expect(() => h.check(header(5, 0, 0, 10))).toThrow(expect.objectContaining({ code: 'INVALID_PRODUCER_EPOCH' }))
    expect(h.check(header(5, 1, 1)).kind).toBe('append')
  })

  test('sequences wrap from INT32_MAX to 0', () => {
    expect(incrementSequence(INT32_MAX, 1)).toBe(0)
    expect(incrementSequence(INT32_MAX - 1, 3)).toBe(1)
    expect(decrementSequence(1, 3)).toBe(INT32_MAX - 1)
    const h = harness()
    h.append(header(9, 0, INT32_MAX - 2, 3)) // sequences MAX-2 .. MAX
    expect(h.check(header(9, 0, INT32_MAX + 1 - 0x80000000)).kind).toBe('append')
    expect(() => h.check(header(9, 0, 1))).toThrow(expect.objectContaining({ code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' }))
    // A batch spanning the wrap: MAX-1, MAX, 0, 1.
    const w = harness()
    w.append(header(9, 0, INT32_MAX - 1, 4))
    expect(w.state.entry(9)!.batches[0]!.lastSeq).toBe(1)
    expect(w.check(header(9, 0, INT32_MAX - 1, 4)).kind).toBe('duplicate')
    expect(w.check(header(9, 0, 2)).kind).toBe('append')
  })

  test('idempotent batches with a negative epoch or sequence are INVALID_RECORD', () => {
    const h = harness()
    expect(() => h.check(header(1, -1, 0))).toThrow(expect.objectContaining({ code: 'INVALID_RECORD' }))
    expect(() => h.check(header(1, 0, -1))).toThrow(expect.objectContaining({ code: 'INVALID_RECORD' }))
  })

  test('producers are independent', () => {
    const h = harness()
    h.append(header(1, 0, 0))
    h.append(header(2, 0, 100))
    expect(h.check(header(1, 0, 1)).kind).toBe('append')
    expect(h.check(header(2, 0, 101)).kind).toBe('append')
  })

  test('an idle producer expires after producer.id.expiration.ms and is then accepted at any sequence', () => {
    let now = 1_000_000
    const h = harness(() => now, 60_000)
    h.append(header(4, 0, 0, 5))
    now += 59_999
    expect(() => h.check(header(4, 0, 9))).toThrow(expect.objectContaining({ code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' }))
    expect(h.state.producerCount).toBe(1)
    now += 1
    expect(h.check(header(4, 0, 9)).kind).toBe('append')
    expect(h.state.producerCount).toBe(0)
    // A sweep drops expired producers without touching them.
    h.append(header(6, 0, 0))
    now += 60_000
    h.state.removeExpired()
    expect(h.state.producerCount).toBe(0)
  })

  test('a log end at or below committed batches (the log was truncated) drops them before the check', () => {
    const h = harness()
    h.append(header(1, 0, 0, 2)) // offsets 0-1
    h.append(header(2, 0, 0, 2)) // offsets 2-3
    h.append(header(1, 0, 2, 2)) // offsets 4-5
    // The log was cut back to offset 4: producer 1's last batch is gone, producer 2 is intact.
    expect(h.state.check(header(1, 0, 2, 2), 4).kind).toBe('append')
    expect(h.state.entry(1)!.batches.map((batch) => batch.lastSeq)).toEqual([1])
    expect(h.state.entry(2)!.batches.map((batch) => batch.lastSeq)).toEqual([1])
    // Cut below everything of producer 2: it becomes unknown.
    h.state.truncateTail(2)
    expect(h.state.entry(2)).toBeUndefined()
  })

  test('a commit on offsets another batch holds means the log was truncated; commits merely out of order do not', () => {
    const state = new ProducerStateManager()
    const first = state.reserve(header(1, 0, 0))
    const second = state.reserve(header(2, 0, 0))
    first.stagedBase = 0
    second.stagedBase = 1
    state.commit(second, { baseOffset: 1, lastOffset: 1 })
    state.commit(first, { baseOffset: 0, lastOffset: 0 })
    expect(state.entries().map((entry) => entry.batches[0]!.lastOffset)).toEqual([0, 1])
    // Producer 3 is given offset 1 again: the log lost producer 2's batch there.
    const third = state.reserve(header(3, 0, 0))
    third.stagedBase = 1
    state.commit(third, { baseOffset: 1, lastOffset: 1 })
    expect(state.entry(2)).toBeUndefined()
    expect(state.entries().map((entry) => entry.producerId)).toEqual([1, 3])
  })

  test('producers whose batches all fell below the log start offset are forgotten', () => {
    const h = harness()
    h.append(header(1, 0, 0, 10))
    h.append(header(2, 0, 0, 10))
    h.state.truncateHead(10)
    expect(h.state.entry(1)).toBeUndefined()
    expect(h.state.entry(2)).toBeDefined()
  })
})

describe('ProducerStateManager reservations (pipelined appends)', () => {
  test('the next in-flight batch is checked against the reserved sequence', () => {
    const state = new ProducerStateManager()
    const first = state.reserve(header(1, 0, 0, 3))
    first.stagedBase = 0
    expect(state.check(header(1, 0, 3), 3).kind).toBe('append')
    // A retry of the batch in flight waits for its outcome; a different batch is out of order.
    expect(state.check(header(1, 0, 0, 3), 3).kind).toBe('wait')
    expect(() => state.check(header(1, 0, 0), 3)).toThrow(expect.objectContaining({ code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' }))
    expect(() => state.check(header(1, 0, 4), 3)).toThrow(expect.objectContaining({ code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' }))
  })

  test('an aborted reservation is rolled back, and the later ones of the producer no longer chain on it', () => {
    const state = new ProducerStateManager()
    const first = state.reserve(header(1, 0, 0, 2))
    first.stagedBase = 0
    state.commit(first, { baseOffset: 0, lastOffset: 1 })
    const second = state.reserve(header(1, 0, 2, 2))
    second.stagedBase = 2
    state.abort(second)
    expect(state.check(header(1, 0, 2, 2), 2).kind).toBe('append')
    expect(() => state.check(header(1, 0, 4), 2)).toThrow(expect.objectContaining({ code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' }))
    expect(state.entry(1)!.batches.map((batch) => batch.lastSeq)).toEqual([1])
  })

  test('a staged reservation the log already took back (past the log end) does not count', () => {
    const state = new ProducerStateManager()
    state.update(header(1, 0, 0, 2), 0)
    const second = state.reserve(header(1, 0, 2, 2))
    second.stagedBase = 2
    expect(() => state.check(header(1, 0, 2), 4)).toThrow(expect.objectContaining({ code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' }))
    // The log rolled back to offset 2 (write failure) before the rejection arrived.
    expect(state.check(header(1, 0, 2, 2), 2).kind).toBe('append')
    expect(() => state.check(header(1, 0, 4), 2)).toThrow(expect.objectContaining({ code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' }))
  })

  test('a batch the log has not staged closes the gate until it settles', async () => {
    const state = new ProducerStateManager()
    state.update(header(1, 0, 0), 0)
    const first = state.reserve(header(1, 0, 1))
    const decision = state.check(header(1, 0, 2), 1)
    expect(decision.kind).toBe('wait')
    let woke = false
    void (decision as { settled: Promise<void> }).settled.then(() => { woke = true })
    await Promise.resolve()
    expect(woke).toBe(false)
    state.abort(first)
    await Promise.resolve()
    expect(woke).toBe(true)
    expect(() => state.check(header(1, 0, 2), 1)).toThrow(expect.objectContaining({ code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' }))
    // Other producers are not held by that gate.
    state.reserve(header(1, 0, 1))
    expect(state.check(header(1, 0, 2), 1).kind).toBe('wait')
    expect(state.check(header(2, 0, 0), 1).kind).toBe('append')
  })

  test('the snapshot offset stops below batches still in flight', () => {
    const state = new ProducerStateManager()
    const first = state.reserve(header(1, 0, 0, 2))
    first.stagedBase = 10
    expect(state.consistentOffset({ highWatermark: 12, logEndOffset: 12 })).toBe(10)
    state.commit(first, { baseOffset: 10, lastOffset: 11 })
    expect(state.consistentOffset({ highWatermark: 12, logEndOffset: 12 })).toBe(12)
  })
})

describe('replay', () => {
  test('update applies log batches without checks and skips ranges already applied', () => {
    const state = new ProducerStateManager()
    state.update(header(1, 0, 0, 2), 0)
    state.update(header(1, 0, 5, 1), 2) // a gap in the log: the state follows the log
    state.update(header(1, 0, 5, 1), 2)
    expect(state.entry(1)!.batches.map((batch) => [batch.firstSeq, batch.lastOffset])).toEqual([[0, 1], [5, 2]])
  })

  test('producerHeaderOf reads idempotent batches only', () => {
    const idempotent = encodeRecordBatch({ producerId: 12, producerEpoch: 3, baseSequence: 40, records: [{ key: null, value: 'a' }, { key: null, value: 'b' }] })
    expect(producerHeaderOf(idempotent)).toMatchObject({ producerId: 12, producerEpoch: 3, baseSequence: 40, lastOffsetDelta: 1 })
    // kafkajs writes epoch 0 and sequence 0 without a producer id: not idempotent.
    const plain = encodeRecordBatch({ producerId: -1, producerEpoch: 0, baseSequence: 0, records: [{ key: null, value: 'a' }] })
    expect(producerHeaderOf(plain)).toBeUndefined()
    expect(producerHeaderOf(new Uint8Array(10))).toBeUndefined()
  })
})

describe('snapshot codec', () => {
  const entries = [
    { producerId: 1, epoch: 0, batches: [{ firstSeq: 0, lastSeq: 4, baseOffset: 0, lastOffset: 4, timestamp: 1 }, { firstSeq: 5, lastSeq: 9, baseOffset: 20, lastOffset: 24, timestamp: 2 }], lastTimestamp: 1_700_000_000_123, coordinatorEpoch: -1 },
    { producerId: 2 ** 40, epoch: 7, batches: [{ firstSeq: INT32_MAX, lastSeq: 2, baseOffset: 100, lastOffset: 103, timestamp: 3 }], lastTimestamp: 5, coordinatorEpoch: -1 }
  ]

  test('Kafka layout: version 1, CRC-32C of bytes 6.., count, 46-byte entries', () => {
    const bytes = encodeSnapshot(entries)
    expect(bytes.byteLength).toBe(10 + 2 * 46)
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    expect(view.getInt16(0)).toBe(1)
    expect(view.getUint32(2)).toBe(crc32c(bytes.subarray(6)))
    expect(view.getInt32(6)).toBe(2)
    // First entry: producerId, epoch, lastSequence, lastOffset, offsetDelta, timestamp, coordinatorEpoch, currentTxnFirstOffset.
    expect(view.getBigInt64(10)).toBe(1n)
    expect(view.getInt16(18)).toBe(0)
    expect(view.getInt32(20)).toBe(9)
    expect(view.getBigInt64(24)).toBe(24n)
    expect(view.getInt32(32)).toBe(4)
    expect(view.getBigInt64(36)).toBe(1_700_000_000_123n)
    expect(view.getInt32(44)).toBe(-1)
    expect(view.getBigInt64(48)).toBe(-1n)
  })

  test('decode(encode) keeps each producer with its newest batch', () => {
    const decoded = decodeSnapshot(encodeSnapshot(entries))
    expect(decoded).toEqual([
      { producerId: 1, epoch: 0, batches: [{ firstSeq: 5, lastSeq: 9, baseOffset: 20, lastOffset: 24, timestamp: 1_700_000_000_123 }], lastTimestamp: 1_700_000_000_123, coordinatorEpoch: -1 },
      { producerId: 2 ** 40, epoch: 7, batches: [{ firstSeq: INT32_MAX, lastSeq: 2, baseOffset: 100, lastOffset: 103, timestamp: 5 }], lastTimestamp: 5, coordinatorEpoch: -1 }
    ])
    expect(decodeSnapshot(encodeSnapshot([]))).toEqual([])
  })

  test('a flipped bit, a wrong version or a wrong length is SLUICE_CORRUPT_SEGMENT', () => {
    const bytes = encodeSnapshot(entries)
    for (const position of [6, 10, 30, bytes.byteLength - 1]) {
      const damaged = bytes.slice()
      damaged[position]! ^= 0x01
      expect(() => decodeSnapshot(damaged)).toThrow(expect.objectContaining({ code: 'SLUICE_CORRUPT_SEGMENT' }))
    }
    const version = bytes.slice()
    version[1] = 2
    expect(() => decodeSnapshot(version)).toThrow(expect.objectContaining({ code: 'SLUICE_CORRUPT_SEGMENT' }))
    expect(() => decodeSnapshot(bytes.subarray(0, bytes.byteLength - 46))).toThrow(expect.objectContaining({ code: 'SLUICE_CORRUPT_SEGMENT' }))
    expect(() => decodeSnapshot(bytes.subarray(0, 4))).toThrow(expect.objectContaining({ code: 'SLUICE_CORRUPT_SEGMENT' }))
  })
})

describe('snapshot files', () => {
  test('a snapshot is due after a roll or after the interval when the log moved; the newest two are kept', async () => {
    let now = 1_000_000
    const state = new ProducerStateManager({ clock: () => now })
    const fs = new FaultyFileSystem()
    await fs.mkdir('/p/t-0')
    const log = { highWatermark: 0, logEndOffset: 0, logStartOffset: 0, directory: '/p/t-0', activeSegment: { baseOffset: 0 } }
    expect(state.snapshotDue(log)).toBe(false) // first look: remembers the segment
    state.update({ ...header(1, 0, 0, 3), maxTimestamp: now }, 0)
    log.highWatermark = log.logEndOffset = 3
    expect(state.snapshotDue(log)).toBe(false)
    log.activeSegment = { baseOffset: 3 }
    expect(state.snapshotDue(log)).toBe(true)
    await state.writeSnapshot(fs, log)
    expect(await fs.readdir('/p/t-0')).toEqual(['00000000000000000003.snapshot'])
    expect(state.snapshotDue(log)).toBe(false)
    for (const end of [5, 9]) {
      state.update({ ...header(1, 0, end - 2, 2), maxTimestamp: now }, end - 2)
      log.highWatermark = log.logEndOffset = end
      now += SNAPSHOT_INTERVAL_MS - 1
      expect(state.snapshotDue(log)).toBe(false)
      now += 1
      expect(state.snapshotDue(log)).toBe(true)
      await state.writeSnapshot(fs, log)
    }
    expect((await fs.readdir('/p/t-0')).sort()).toEqual(['00000000000000000005.snapshot', '00000000000000000009.snapshot'])
    // Nothing moved: not due, and a second write at the same offset is skipped.
    now += SNAPSHOT_INTERVAL_MS
    expect(state.snapshotDue(log)).toBe(false)

    const loaded = new ProducerStateManager({ clock: () => now })
    const result = await loaded.load(fs, { ...log, read: async () => { throw new Error('nothing to replay') } })
    expect(result).toEqual({ snapshotOffset: 9, replayedBatches: 0 })
    expect(loaded.entry(1)!.batches).toEqual([{ firstSeq: 7, lastSeq: 8, baseOffset: 7, lastOffset: 8, timestamp: now - 2 * SNAPSHOT_INTERVAL_MS }])
  })

  test('a cleared state (deleted partition) writes no snapshot', async () => {
    const state = new ProducerStateManager()
    const fs = new FaultyFileSystem()
    await fs.mkdir('/p/t-0')
    state.update(header(1, 0, 0), 0)
    state.clear()
    await state.writeSnapshot(fs, { highWatermark: 1, logEndOffset: 1, logStartOffset: 0, directory: '/p/t-0' })
    expect(await fs.readdir('/p/t-0')).toEqual([])
  })
})
