import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fc, test as propertyTest } from '@fast-check/vitest'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { Engine } from '../../src/engine/engine.js'
import type { EngineOptions } from '../../src/engine/engine.js'
import { PRODUCER_ID_BLOCK_SIZE } from '../../src/engine/producer-id-manager.js'
import { ProducerStateManager, encodeSnapshot, snapshotFileName } from '../../src/engine/producer-state.js'
import { encodeRecordBatch } from '../../src/io/record-batch-encoder.js'
import { batchesIn } from '../../src/io/record-batch-view.js'
import { FaultyFileSystem } from '../support/faulty-fs.js'

let dataDir: string
beforeEach(async () => { dataDir = await mkdtemp(join(tmpdir(), 'sluice-idempotence-')) })
afterEach(async () => { await rm(dataDir, { recursive: true, force: true }) })

interface BatchSpec { producerId: number, epoch?: number, sequence: number, values: string[] }

function batch ({ producerId, epoch = 0, sequence, values }: BatchSpec): Buffer {
  return encodeRecordBatch({ producerId, producerEpoch: epoch, baseSequence: sequence, records: values.map((value) => ({ key: null, value })) })
}

async function storedValues (engine: Engine, topic: string, partition = 0): Promise<string[]> {
  const values: string[] = []
  let offset = engine.partitionLog(topic, partition).logStartOffset
  for (;;) {
    const { records, highWatermark } = await engine.read(topic, partition, offset)
    if (records.byteLength === 0) break
    for (const stored of batchesIn(records)) {
      for (const record of stored) values.push(Buffer.from(record.value!).toString())
      offset = stored.nextOffset
    }
    if (offset >= highWatermark) break
  }
  return values
}

/** The state a fresh replay of the whole log gives (no snapshot), per producer: [epoch, lastSeq, lastOffset]. */
async function replayedState (engine: Engine, topic: string, partition = 0): Promise<Array<[number, number, number, number]>> {
  const log = engine.partitionLog(topic, partition)
  const fresh = new ProducerStateManager()
  // A file system that lists no snapshots: everything is replayed from the log.
  const noSnapshots = { ...engine.options.fs, readdir: async () => [] }
  await fresh.load(noSnapshots, { ...pick(log), directory: log.directory, read: log.read.bind(log) })
  return summary(fresh)
}

function pick (log: ReturnType<Engine['partitionLog']>): { highWatermark: number, logEndOffset: number, logStartOffset: number, activeSegment: { baseOffset: number } } {
  return { highWatermark: log.highWatermark, logEndOffset: log.logEndOffset, logStartOffset: log.logStartOffset, activeSegment: log.activeSegment }
}

function summary (state: ProducerStateManager): Array<[number, number, number, number]> {
  return state.entries().map((entry) => {
    const last = entry.batches[entry.batches.length - 1]!
    return [entry.producerId, entry.epoch, last.lastSeq, last.lastOffset]
  })
}

async function open (options: Partial<EngineOptions> = {}): Promise<Engine> {
  return await Engine.open({ dataDir, offsetsTopicPartitions: 1, ...options })
}

describe('idempotent appends through the engine', () => {
  test('the same batch appended twice is written once; the retry answers the original offsets', async () => {
    const engine = await open()
    await engine.createTopic('t')
    await engine.append('t', 0, batch({ producerId: -1, sequence: -1, values: ['before'] }))
    const first = await engine.append('t', 0, batch({ producerId: 7, sequence: 0, values: ['a', 'b'] }))
    const retry = await engine.append('t', 0, batch({ producerId: 7, sequence: 0, values: ['a', 'b'] }))
    expect(first).toMatchObject({ baseOffset: 1, lastOffset: 2 })
    expect(first.duplicate).toBeUndefined()
    expect(retry).toMatchObject({ baseOffset: 1, lastOffset: 2, duplicate: true })
    expect(engine.partitionLog('t', 0).highWatermark).toBe(3)
    expect(await storedValues(engine, 't')).toEqual(['before', 'a', 'b'])
    await engine.close()
  })

  test('a retry issued while the original is still in flight waits and answers its offsets', async () => {
    const engine = await open({ flush: 'always' })
    await engine.createTopic('t')
    const spec = { producerId: 3, sequence: 0, values: ['x'] }
    const [original, retry] = await Promise.all([engine.append('t', 0, batch(spec)), engine.append('t', 0, batch(spec))])
    expect(original).toMatchObject({ baseOffset: 0, lastOffset: 0 })
    expect(retry).toMatchObject({ baseOffset: 0, lastOffset: 0, duplicate: true, durability: 'flushed' })
    expect(await storedValues(engine, 't')).toEqual(['x'])
    await engine.close()
  })

  test('batches without a producer id are never deduplicated (kafkajs writes epoch 0, sequence 0 there)', async () => {
    const engine = await open()
    await engine.createTopic('t')
    const plain = encodeRecordBatch({ producerId: -1, producerEpoch: 0, baseSequence: 0, records: [{ key: null, value: 'p' }] })
    await engine.append('t', 0, plain)
    await engine.append('t', 0, plain)
    expect(await storedValues(engine, 't')).toEqual(['p', 'p'])
    expect(engine.producerState('t', 0)!.producerCount).toBe(0)
    await engine.close()
  })

  test('an out-of-order sequence is refused with OUT_OF_ORDER_SEQUENCE_NUMBER and nothing is stored', async () => {
    const engine = await open()
    await engine.createTopic('t')
    await engine.append('t', 0, batch({ producerId: 1, sequence: 0, values: ['a', 'b'] }))
    await expect(engine.append('t', 0, batch({ producerId: 1, sequence: 3, values: ['gap'] }))).rejects.toMatchObject({ code: 'OUT_OF_ORDER_SEQUENCE_NUMBER', kafkaCode: 45 })
    await expect(engine.append('t', 0, batch({ producerId: 1, sequence: 1, values: ['overlap'] }))).rejects.toMatchObject({ code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' })
    expect(engine.partitionLog('t', 0).logEndOffset).toBe(2)
    await engine.append('t', 0, batch({ producerId: 1, sequence: 2, values: ['c'] }))
    expect(await storedValues(engine, 't')).toEqual(['a', 'b', 'c'])
    await engine.close()
  })

  test('an older epoch is fenced with INVALID_PRODUCER_EPOCH; a new epoch starts at sequence 0', async () => {
    const engine = await open()
    await engine.createTopic('t')
    await engine.append('t', 0, batch({ producerId: 2, epoch: 0, sequence: 0, values: ['a'] }))
    await expect(engine.append('t', 0, batch({ producerId: 2, epoch: 1, sequence: 1, values: ['b'] }))).rejects.toMatchObject({ code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' })
    await engine.append('t', 0, batch({ producerId: 2, epoch: 1, sequence: 0, values: ['b'] }))
    await expect(engine.append('t', 0, batch({ producerId: 2, epoch: 0, sequence: 1, values: ['zombie'] }))).rejects.toMatchObject({ code: 'INVALID_PRODUCER_EPOCH', kafkaCode: 47 })
    expect(await storedValues(engine, 't')).toEqual(['a', 'b'])
    await engine.close()
  })

  test('an idle producer expires after producerIdExpirationMs and may then resume at any sequence', async () => {
    const engine = await open({ producerIdExpirationMs: 500 })
    await engine.createTopic('t')
    await engine.append('t', 0, batch({ producerId: 4, sequence: 0, values: ['a'] }))
    await expect(engine.append('t', 0, batch({ producerId: 4, sequence: 9, values: ['b'] }))).rejects.toMatchObject({ code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' })
    await new Promise((resolve) => setTimeout(resolve, 600))
    await engine.append('t', 0, batch({ producerId: 4, sequence: 9, values: ['b'] }))
    expect(await storedValues(engine, 't')).toEqual(['a', 'b'])
    await engine.close()
    await expect(Engine.open({ dataDir, producerIdExpirationMs: 0 })).rejects.toMatchObject({ code: 'SLUICE_INVALID_OPTION' })
  })

  test('a deleted topic drops its producer state', async () => {
    const engine = await open()
    await engine.createTopic('t')
    await engine.append('t', 0, batch({ producerId: 5, sequence: 0, values: ['a'] }))
    await engine.deleteTopic('t')
    expect(engine.producerState('t', 0)).toBeUndefined()
    await engine.createTopic('t')
    // The new topic knows nothing of producer 5: the old sequence 0 is new data there.
    const again = await engine.append('t', 0, batch({ producerId: 5, sequence: 0, values: ['a'] }))
    expect(again.duplicate).toBeUndefined()
    expect(await storedValues(engine, 't')).toEqual(['a'])
    await engine.close()
  })
})

describe('producer state across restarts', () => {
  test('duplicates are still detected after close and reopen (from the snapshot)', async () => {
    let engine = await open()
    await engine.createTopic('t')
    for (let index = 0; index < 7; index++) await engine.append('t', 0, batch({ producerId: 9, sequence: index, values: [`v${index}`] }))
    await engine.close()
    const names = await readdir(join(dataDir, 't-0'))
    expect(names).toContain(snapshotFileName(7))

    engine = await open()
    expect(engine.producerState('t', 0)!.entry(9)!.batches).toHaveLength(1)
    const retry = await engine.append('t', 0, batch({ producerId: 9, sequence: 6, values: ['v6'] }))
    expect(retry).toMatchObject({ baseOffset: 6, lastOffset: 6, duplicate: true })
    await expect(engine.append('t', 0, batch({ producerId: 9, sequence: 8, values: ['gap'] }))).rejects.toMatchObject({ code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' })
    await engine.append('t', 0, batch({ producerId: 9, sequence: 7, values: ['v7'] }))
    expect(await storedValues(engine, 't')).toEqual(['v0', 'v1', 'v2', 'v3', 'v4', 'v5', 'v6', 'v7'])
    await engine.close()
  })

  test('after an unclean shutdown the state is rebuilt by replaying the log', async () => {
    const disk = new FaultyFileSystem()
    const first = await Engine.open({ dataDir: '/data', fs: disk.process(), flush: 'always', offsetsTopicPartitions: 1 })
    await first.createTopic('t')
    for (let index = 0; index < 4; index++) await first.append('t', 0, batch({ producerId: 11, sequence: index * 2, values: [`a${index}`, `b${index}`] }))
    disk.crash() // no close: no snapshot, no clean-shutdown marker
    await first.close().catch(() => {})

    const second = await Engine.open({ dataDir: '/data', fs: disk.process(), flush: 'always', offsetsTopicPartitions: 1 })
    expect((await disk.readdir('/data/t-0')).filter((name) => name.endsWith('.snapshot'))).toEqual([])
    // The last five batches are known again: every one of the four is answered, not rewritten.
    for (let index = 0; index < 4; index++) {
      const retry = await second.append('t', 0, batch({ producerId: 11, sequence: index * 2, values: [`a${index}`, `b${index}`] }))
      expect(retry).toMatchObject({ baseOffset: index * 2, lastOffset: index * 2 + 1, duplicate: true })
    }
    await second.append('t', 0, batch({ producerId: 11, sequence: 8, values: ['c'] }))
    expect(second.partitionLog('t', 0).highWatermark).toBe(9)
    await second.close()
  })

  test('a copy of an open data directory (unclean) recovers duplicates by replay after its last snapshot', async () => {
    const engine = await open({ flush: 'always' })
    await engine.createTopic('t', { configs: { 'segment.bytes': '400' } })
    for (let index = 0; index < 8; index++) await engine.append('t', 0, batch({ producerId: 12, sequence: index, values: [`value-${index}`.padEnd(80, '.')] }))
    // Rolls took snapshots in the background; let them land, then copy the directory while open.
    await new Promise((resolve) => setTimeout(resolve, 50))
    const snapshots = (await readdir(join(dataDir, 't-0'))).filter((name) => name.endsWith('.snapshot'))
    expect(snapshots.length).toBeGreaterThan(0)
    expect(snapshots.length).toBeLessThanOrEqual(2)
    const copy = `${dataDir}-copy`
    await rm(copy, { recursive: true, force: true })
    const { cp } = await import('node:fs/promises')
    await cp(dataDir, copy, { recursive: true })
    await engine.close()
    // The copy stands for the directory after a machine crash: its lock holder is gone.
    await rm(join(copy, '.lock'), { force: true })

    const reopened = await Engine.open({ dataDir: copy, offsetsTopicPartitions: 1 })
    try {
      expect(reopened.logs.wasCleanShutdown).toBe(false)
      // The snapshot keeps each producer's last batch (Kafka's format); replay adds the batches after it.
      const snapshotOffsets = (await readdir(join(copy, 't-0'))).filter((name) => name.endsWith('.snapshot')).map((name) => Number(name.slice(0, 20)))
      const newest = Math.max(...snapshotOffsets)
      expect(newest).toBeLessThan(8)
      for (let index = newest - 1; index <= 7; index++) {
        expect(await reopened.append('t', 0, batch({ producerId: 12, sequence: index, values: [`value-${index}`.padEnd(80, '.')] }))).toMatchObject({ baseOffset: index, duplicate: true })
      }
      expect(summary(reopened.producerState('t', 0)!)).toEqual([[12, 0, 7, 7]])
    } finally {
      await reopened.close()
      await rm(copy, { recursive: true, force: true })
    }
  })

  test('a snapshot past the log end is deleted and a corrupt one is ignored', async () => {
    let engine = await open()
    await engine.createTopic('t')
    for (let index = 0; index < 3; index++) await engine.append('t', 0, batch({ producerId: 13, sequence: index, values: ['v'] }))
    await engine.close()
    const directory = join(dataDir, 't-0')
    // A snapshot beyond the log (as after a truncating recovery) that claims a different state.
    await writeFile(join(directory, snapshotFileName(50)), encodeSnapshot([{ producerId: 13, epoch: 0, batches: [{ firstSeq: 40, lastSeq: 40, baseOffset: 49, lastOffset: 49, timestamp: Date.now() }], lastTimestamp: Date.now(), coordinatorEpoch: -1 }]))
    // The newest valid-looking snapshot at the log end is damaged.
    const damaged = encodeSnapshot([{ producerId: 13, epoch: 0, batches: [{ firstSeq: 70, lastSeq: 70, baseOffset: 2, lastOffset: 2, timestamp: Date.now() }], lastTimestamp: Date.now(), coordinatorEpoch: -1 }])
    damaged[20]! ^= 0xff
    await writeFile(join(directory, snapshotFileName(3)), damaged)

    engine = await open()
    const names = await readdir(directory)
    expect(names).not.toContain(snapshotFileName(50))
    expect(names).not.toContain(snapshotFileName(3))
    expect(summary(engine.producerState('t', 0)!)).toEqual([[13, 0, 2, 2]])
    expect(await engine.append('t', 0, batch({ producerId: 13, sequence: 2, values: ['v'] }))).toMatchObject({ baseOffset: 2, duplicate: true })
    await engine.close()
  })

  test('producer ids are unique across reopen, also after a crash', async () => {
    let engine = await open()
    const seen = new Set<number>()
    for (let index = 0; index < 5; index++) {
      const identity = await engine.initProducerId()
      expect(identity.producerEpoch).toBe(0)
      seen.add(identity.producerId)
    }
    await engine.close()
    engine = await open()
    const concurrent = await Promise.all(Array.from({ length: 20 }, async () => await engine.initProducerId()))
    for (const { producerId } of concurrent) seen.add(producerId)
    expect(seen.size).toBe(25)
    expect(Math.min(...concurrent.map((identity) => identity.producerId))).toBeGreaterThanOrEqual(PRODUCER_ID_BLOCK_SIZE)
    await engine.close()

    const disk = new FaultyFileSystem()
    const crashed = await Engine.open({ dataDir: '/data', fs: disk.process(), offsetsTopicPartitions: 1 })
    const before = await crashed.initProducerId()
    disk.crash()
    await crashed.close().catch(() => {})
    const after = await Engine.open({ dataDir: '/data', fs: disk.process(), offsetsTopicPartitions: 1 })
    expect((await after.initProducerId()).producerId).toBeGreaterThan(before.producerId)
    await after.close()
  })
})

describe('pipelined appends of one producer', () => {
  test('a write failure under a pipeline fails the batches after it too and leaves the state as the log', async () => {
    const disk = new FaultyFileSystem()
    const engine = await Engine.open({ dataDir: '/data', fs: disk.process(), flush: 'always', offsetsTopicPartitions: 1 })
    await engine.createTopic('t')
    await Promise.all([0, 1].map(async (sequence) => await engine.append('t', 0, batch({ producerId: 21, sequence, values: [`ok${sequence}`] }))))
    disk.failOn('write', 'EIO', { times: 1, path: /t-0\/.*\.log$/ })
    const pipelined = [2, 3, 4].map(async (sequence) => await engine.append('t', 0, batch({ producerId: 21, sequence, values: [`p${sequence}`] })))
    const settled = await Promise.allSettled(pipelined)
    expect(settled.map((result) => result.status)).toEqual(['rejected', 'rejected', 'rejected'])
    expect(summary(engine.producerState('t', 0)!)).toEqual([[21, 0, 1, 1]])
    // A batch arriving after the failure is checked against what the log holds.
    await expect(engine.append('t', 0, batch({ producerId: 21, sequence: 3, values: ['p3'] }))).rejects.toMatchObject({ code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' })
    // The producer's retries, in order, go through once.
    for (const sequence of [2, 3, 4]) await engine.append('t', 0, batch({ producerId: 21, sequence, values: [`p${sequence}`] }))
    expect(await storedValues(engine, 't')).toEqual(['ok0', 'ok1', 'p2', 'p3', 'p4'])
    expect(summary(engine.producerState('t', 0)!)).toEqual(await replayedState(engine, 't'))
    await engine.close()
  })

  test('batches the log takes back after a failed fdatasync (interval policy) are forgotten, so their retry is written again', async () => {
    const disk = new FaultyFileSystem()
    const engine = await Engine.open({ dataDir: '/data', fs: disk.process(), flush: 'interval', offsetsTopicPartitions: 1 })
    await engine.createTopic('t')
    const log = engine.partitionLog('t', 0)
    await engine.append('t', 0, batch({ producerId: 40, sequence: 0, values: ['flushed'] }))
    await log.flush()
    const lost = { producerId: 40, sequence: 1, values: ['written, then lost'] }
    expect(await engine.append('t', 0, batch(lost))).toMatchObject({ baseOffset: 1, durability: 'written' })
    disk.failOn('datasync', 'EIO', { times: 1, path: /t-0\/.*\.log$/ })
    await expect(log.flush()).rejects.toMatchObject({ code: 'KAFKA_STORAGE_ERROR' })
    disk.clearFaults()
    // Another producer refills the offsets first: the state must not answer the retry with them.
    for (let attempt = 0; ; attempt++) {
      try {
        await engine.append('t', 0, batch({ producerId: 41, sequence: 0, values: ['other'] }))
        break
      } catch (error) {
        expect(error).toMatchObject({ code: 'KAFKA_STORAGE_ERROR' })
        expect(attempt).toBeLessThan(100)
        await new Promise((resolve) => setTimeout(resolve, 2))
      }
    }
    const retry = await engine.append('t', 0, batch(lost))
    expect(retry.duplicate).toBeUndefined()
    expect(await storedValues(engine, 't')).toEqual(['flushed', 'other', 'written, then lost'])
    expect(summary(engine.producerState('t', 0)!)).toEqual(await replayedState(engine, 't'))
    await engine.close()
  })

  test('a middle batch refused before staging holds the later ones, which then fail as out of order', async () => {
    const engine = await open()
    await engine.createTopic('t', { configs: { 'max.message.bytes': '300' } })
    const pipelined = [
      engine.append('t', 0, batch({ producerId: 22, sequence: 0, values: ['a'] })),
      engine.append('t', 0, batch({ producerId: 22, sequence: 1, values: ['x'.repeat(400)] })),
      engine.append('t', 0, batch({ producerId: 22, sequence: 2, values: ['c'] })),
      engine.append('t', 0, batch({ producerId: 23, sequence: 0, values: ['other producer'] }))
    ]
    const settled = await Promise.allSettled(pipelined)
    expect(settled[0]!.status).toBe('fulfilled')
    expect(settled[1]).toMatchObject({ status: 'rejected', reason: { code: 'MESSAGE_TOO_LARGE' } })
    expect(settled[2]).toMatchObject({ status: 'rejected', reason: { code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' } })
    expect(settled[3]!.status).toBe('fulfilled')
    expect(await storedValues(engine, 't')).toEqual(['a', 'other producer'])
    expect(summary(engine.producerState('t', 0)!)).toEqual(await replayedState(engine, 't'))
    await engine.close()
  })

  test('five batches in flight at once are each written once, in order, and retried ones are answered', async () => {
    const engine = await open({ flush: 'always' })
    await engine.createTopic('t')
    const specs = [0, 1, 2, 3, 4].map((index) => ({ producerId: 30, sequence: index * 3, values: [`${index}a`, `${index}b`, `${index}c`] }))
    const results = await Promise.all(specs.map(async (spec) => await engine.append('t', 0, batch(spec))))
    expect(results.map((result) => result.baseOffset)).toEqual([0, 3, 6, 9, 12])
    const retries = await Promise.all(specs.map(async (spec) => await engine.append('t', 0, batch(spec))))
    expect(retries.map((result) => [result.baseOffset, result.duplicate])).toEqual(results.map((result) => [result.baseOffset, true]))
    expect(engine.partitionLog('t', 0).highWatermark).toBe(15)
    await engine.close()
  })
})

describe('model: pipelined producers under storage faults', () => {
  interface SentBatch { sequence: number, values: string[], baseOffset: number }
  const round = fc.record({
    producer: fc.integer({ min: 0, max: 1 }),
    batches: fc.integer({ min: 1, max: 5 }),
    records: fc.integer({ min: 1, max: 3 }),
    fault: fc.constantFrom('none', 'write', 'datasync'),
    skip: fc.integer({ min: 0, max: 2 }),
    retryOld: fc.integer({ min: 0, max: 7 })
  })

  propertyTest.prop([fc.constantFrom('always' as const, 'interval' as const), fc.array(round, { minLength: 1, maxLength: 8 }), fc.boolean()], { numRuns: 25 })(
    'state equals a replay of the log, every acknowledged batch is stored once and in order, retries are answered',
    async (flush, rounds, crashAtEnd) => {
      const disk = new FaultyFileSystem()
      let engine = await Engine.open({ dataDir: '/data', fs: disk.process(), flush, offsetsTopicPartitions: 1 })
      await engine.createTopic('t')
      const sent: SentBatch[][] = [[], []]
      const nextSequence = [0, 0]
      const producerIds = [100, 101]
      try {
        for (const step of rounds) {
          const p = step.producer
          if (step.fault === 'write') disk.failOn('write', 'EIO', { times: 1, skip: step.skip, path: /t-0\/.*\.log$/ })
          if (step.fault === 'datasync' && flush === 'always') disk.failOn('datasync', 'EIO', { times: 1, skip: step.skip, path: /t-0\/.*\.log$/ })
          const specs = Array.from({ length: step.batches }, (_, index) => {
            const sequence = nextSequence[p]!
            nextSequence[p] = sequence + step.records
            return { producerId: producerIds[p]!, sequence, values: Array.from({ length: step.records }, (_, record) => `p${p}-s${sequence + record}-i${index}`) }
          })
          const settled = await Promise.allSettled(specs.map(async (spec) => await engine.append('t', 0, batch(spec))))
          disk.clearFaults()
          // The client retries what failed, in order, until the log has repaired itself.
          for (const [index, spec] of specs.entries()) {
            let outcome = settled[index]!
            for (let attempt = 0; outcome.status === 'rejected' && attempt < 100; attempt++) {
              expect(outcome.reason).toMatchObject({ code: 'KAFKA_STORAGE_ERROR' })
              await new Promise((resolve) => setTimeout(resolve, 2))
              outcome = await engine.append('t', 0, batch(spec)).then((value) => ({ status: 'fulfilled' as const, value }), (reason: unknown) => ({ status: 'rejected' as const, reason }))
            }
            expect(outcome.status).toBe('fulfilled')
            if (outcome.status === 'fulfilled') sent[p]!.push({ sequence: spec.sequence, values: spec.values, baseOffset: outcome.value.baseOffset })
          }
          // A late retry of an earlier batch: answered within the last five, refused before them.
          const history = sent[p]!
          const old = history[history.length - 1 - Math.min(step.retryOld, history.length - 1)]!
          const oldSpec = { producerId: producerIds[p]!, sequence: old.sequence, values: old.values }
          if (history.length - history.indexOf(old) <= 5) {
            expect(await engine.append('t', 0, batch(oldSpec))).toMatchObject({ baseOffset: old.baseOffset, duplicate: true })
          } else {
            await expect(engine.append('t', 0, batch(oldSpec))).rejects.toMatchObject({ code: 'OUT_OF_ORDER_SEQUENCE_NUMBER' })
          }
          expect(summary(engine.producerState('t', 0)!)).toEqual(await replayedState(engine, 't'))
        }
        const expected = (): string[][] => sent.map((history) => history.flatMap((entry) => entry.values))
        const storedPerProducer = async (): Promise<string[][]> => {
          const values = await storedValues(engine, 't')
          return [0, 1].map((p) => values.filter((value) => value.startsWith(`p${p}-`)))
        }
        expect(await storedPerProducer()).toEqual(expected())
        if (crashAtEnd) {
          disk.crash()
          await engine.close().catch(() => {})
        } else {
          await engine.close()
        }
        engine = await Engine.open({ dataDir: '/data', fs: disk.process(), flush, offsetsTopicPartitions: 1 })
        if (flush === 'always' || !crashAtEnd) {
          expect(await storedPerProducer()).toEqual(expected())
          for (const p of [0, 1]) {
            const last = sent[p]![sent[p]!.length - 1]
            if (last === undefined) continue
            expect(await engine.append('t', 0, batch({ producerId: producerIds[p]!, sequence: last.sequence, values: last.values }))).toMatchObject({ baseOffset: last.baseOffset, duplicate: true })
          }
        }
        expect(summary(engine.producerState('t', 0)!)).toEqual(await replayedState(engine, 't'))
      } finally {
        await engine.close().catch(() => {})
      }
    }
  )
})
