import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { Producer } from '../../src/client/producer.js'
import { SluiceError } from '../../src/core/errors.js'
import { Engine } from '../../src/engine/engine.js'
import type { EngineOptions } from '../../src/engine/engine.js'
import type { AppendResult } from '../../src/engine/partition-log.js'
import { defaultPartition } from '../../src/io/murmur2.js'
import { batchesIn } from '../../src/io/record-batch-view.js'

let dataDir: string
let engine: Engine | undefined
beforeEach(async () => { dataDir = await mkdtemp(join(tmpdir(), 'sluice-producer-')) })
afterEach(async () => {
  await engine?.close()
  engine = undefined
  await rm(dataDir, { recursive: true, force: true })
})

async function openEngine (options: Partial<EngineOptions> = {}): Promise<Engine> {
  engine = await Engine.open({ dataDir, offsetsTopicPartitions: 1, ...options })
  return engine
}

interface Stored { offset: number, key: string | null, value: string, producerId: number, baseSequence: number }

async function stored (target: Engine, topic: string, partition: number): Promise<Stored[]> {
  const result: Stored[] = []
  let offset = 0
  const log = target.partitionLog(topic, partition)
  while (offset < log.highWatermark) {
    const { records } = await target.read(topic, partition, offset)
    if (records.byteLength === 0) break
    for (const batch of batchesIn(records)) {
      for (const record of batch) {
        result.push({
          offset: record.offset,
          key: record.key === null ? null : Buffer.from(record.key).toString(),
          value: Buffer.from(record.value!).toString(),
          producerId: batch.producerId,
          baseSequence: batch.baseSequence
        })
      }
      offset = batch.nextOffset
    }
  }
  return result
}

/** Replaces engine.append for the test; `real` calls the original. */
function interceptAppends (target: Engine, handler: (call: number, real: () => Promise<AppendResult>) => Promise<AppendResult>): { calls: () => number } {
  const original = target.append.bind(target)
  let calls = 0
  target.append = async (topic: string, partition: number, batch: Uint8Array) => await handler(calls++, async () => await original(topic, partition, batch))
  return { calls: () => calls }
}

const tick = async (): Promise<void> => { await new Promise((resolve) => setImmediate(resolve)) }

describe('Producer', () => {
  test('keyed records land on defaultPartition(key, n) and stay in order per key', async () => {
    const target = await openEngine()
    await target.createTopic('orders', { partitions: 4 })
    const producer = new Producer(target)
    const keys = Array.from({ length: 10 }, (_, index) => `customer-${index}`)
    const calls: Array<Promise<unknown>> = []
    for (let round = 0; round < 20; round++) {
      calls.push(producer.send({ topic: 'orders', messages: keys.map((key) => ({ key, value: `${key}:${round}` })) }))
      if (round % 3 === 0) await tick()
    }
    await Promise.all(calls)
    const seen = new Map<string, number[]>()
    for (let partition = 0; partition < 4; partition++) {
      for (const record of await stored(target, 'orders', partition)) {
        expect(partition).toBe(defaultPartition(Buffer.from(record.key!), 4))
        const [key, round] = record.value.split(':') as [string, string]
        expect(key).toBe(record.key)
        seen.set(key, [...(seen.get(key) ?? []), Number(round)])
      }
    }
    for (const key of keys) expect(seen.get(key)).toEqual(Array.from({ length: 20 }, (_, round) => round))
    await producer.close()
  })

  test('acks 0, 1 and all resolve with the metadata of their meaning', async () => {
    const target = await openEngine({ flush: 'always' })
    await target.createTopic('t', { partitions: 1 })
    const producer = new Producer(target)
    const none = await producer.send({ topic: 't', acks: 0, messages: [{ value: 'zero' }] })
    expect(none).toEqual([{ topic: 't', partition: 0, baseOffset: -1, lastOffset: -1, durability: 'sent', logAppendTime: -1 }])
    await producer.flush()
    const one = await producer.send({ topic: 't', acks: 1, messages: [{ value: 'one-a' }, { value: 'one-b' }] })
    expect(one).toEqual([{ topic: 't', partition: 0, baseOffset: 1, lastOffset: 2, durability: 'flushed', logAppendTime: -1 }])
    const all = await producer.send({ topic: 't', acks: 'all', messages: [{ value: 'all' }] })
    expect(all).toEqual([{ topic: 't', partition: 0, baseOffset: 3, lastOffset: 3, durability: 'flushed', logAppendTime: -1 }])
    expect((await stored(target, 't', 0)).map((record) => record.value)).toEqual(['zero', 'one-a', 'one-b', 'all'])
    await producer.close()

    // Under the 'interval' policy an acknowledgement means written (handed to the OS).
    await target.close()
    const interval = await openEngine({ flush: 'interval' })
    const written = new Producer(interval, { acks: 1 })
    expect(await written.send({ topic: 't', messages: [{ value: 'w' }] })).toEqual([{ topic: 't', partition: 0, baseOffset: 4, lastOffset: 4, durability: 'written', logAppendTime: -1 }])
    await written.close()
  })

  test('a batch retried after a simulated timeout (stored, then reported failed) is written once', async () => {
    const target = await openEngine()
    await target.createTopic('t')
    const { calls } = interceptAppends(target, async (call, real) => {
      const result = await real()
      if (call === 0) throw new SluiceError('SLUICE_TIMEOUT', 'simulated: the acknowledgement was lost')
      return result
    })
    const producer = new Producer(target, { retryBackoffMs: 1 })
    const metadata = await producer.send({ topic: 't', messages: [{ value: 'once' }, { value: 'twice?' }] })
    expect(calls()).toBe(2)
    expect(metadata).toEqual([{ topic: 't', partition: 0, baseOffset: 0, lastOffset: 1, durability: 'written', logAppendTime: -1 }])
    expect((await stored(target, 't', 0)).map((record) => record.value)).toEqual(['once', 'twice?'])
    await producer.close()

    // Without idempotence the same retry writes the records again (what idempotence prevents).
    const { calls: plainCalls } = interceptAppends(target, async (call, real) => {
      const result = await real()
      if (call === 0) throw new SluiceError('SLUICE_TIMEOUT', 'simulated: the acknowledgement was lost')
      return result
    })
    const plain = new Producer(target, { retryBackoffMs: 1, idempotent: false })
    await plain.send({ topic: 't', messages: [{ value: 'dup' }] })
    expect(plainCalls()).toBe(2)
    expect((await stored(target, 't', 0)).map((record) => record.value)).toEqual(['once', 'twice?', 'dup', 'dup'])
    await plain.close()
  })

  test('idempotent batches carry the producer id and consecutive sequences', async () => {
    const target = await openEngine()
    await target.createTopic('t')
    const producer = new Producer(target)
    await producer.send({ topic: 't', messages: [{ value: 'a' }, { value: 'b' }] })
    await producer.send({ topic: 't', messages: [{ value: 'c' }] })
    const records = await stored(target, 't', 0)
    expect(producer.identity.producerId).toBeGreaterThanOrEqual(0)
    expect(records.map((record) => [record.producerId, record.baseSequence])).toEqual([
      [producer.identity.producerId, 0], [producer.identity.producerId, 0], [producer.identity.producerId, 2]
    ])
    await producer.close()
  })

  test('a batch that fails for good in the middle of a pipeline does not take the later ones with it', async () => {
    const target = await openEngine()
    await target.createTopic('t')
    interceptAppends(target, async (call, real) => {
      if (call !== 1) return await real()
      // The failure arrives while the next batches are already in flight.
      await new Promise((resolve) => setTimeout(resolve, 30))
      throw new SluiceError('INVALID_RECORD', 'simulated permanent failure')
    })
    const producer = new Producer(target, { retryBackoffMs: 1 })
    await producer.send({ topic: 't', messages: [{ value: 'm0' }] })
    const sends: Array<Promise<unknown>> = []
    for (let index = 1; index < 5; index++) {
      sends.push(producer.send({ topic: 't', messages: [{ value: `m${index}` }] }))
      // Each send its own batch: the batch closes at the end of the turn the send added it in.
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    const settled = await Promise.allSettled(sends)
    expect(settled.map((result) => result.status === 'rejected' ? (result.reason as Error).message : 'ok')).toEqual(['simulated permanent failure', 'ok', 'ok', 'ok'])
    expect(settled[0]).toMatchObject({ reason: { code: 'INVALID_RECORD' } })
    const records = await stored(target, 't', 0)
    expect(records.map((record) => record.value)).toEqual(['m0', 'm2', 'm3', 'm4'])
    // The sequences close the gap the failed batch left.
    expect(records.map((record) => record.baseSequence)).toEqual([0, 1, 2, 3])
    await producer.send({ topic: 't', messages: [{ value: 'after' }] })
    expect((await stored(target, 't', 0)).map((record) => record.baseSequence)).toEqual([0, 1, 2, 3, 4])
    await producer.close()
  })

  test('batches in flight that fail together are retried in their original order, each written once', async () => {
    const target = await openEngine()
    await target.createTopic('t', { configs: { 'max.message.bytes': '2000' } })
    const { calls } = interceptAppends(target, async (call, real) => {
      // Two pipelined batches (same creation time) fail before reaching the log.
      if (call === 1 || call === 2) throw new SluiceError('SLUICE_TIMEOUT', 'simulated transient failure')
      return await real()
    })
    const producer = new Producer(target, { retryBackoffMs: 1 })
    await producer.send({ topic: 't', messages: [{ value: 'warm-up' }] })
    const values = Array.from({ length: 60 }, (_, index) => Buffer.from(`bulk-${String(index).padStart(2, '0')}`.padEnd(100, '.')))
    const [metadata] = await producer.sendBulk({ topic: 't', values })
    expect(calls()).toBeGreaterThan(4)
    expect(metadata).toMatchObject({ baseOffset: 1, lastOffset: 60 })
    const records = await stored(target, 't', 0)
    expect(records.map((record) => record.value)).toEqual(['warm-up', ...values.map((value) => value.toString())])
    await producer.close()
  })

  test('buffer.memory blocks send until room is freed, and fails with SLUICE_BUFFER_FULL after max.block.ms', async () => {
    const target = await openEngine()
    await target.createTopic('t')
    const stalled: Array<() => void> = []
    interceptAppends(target, async (_call, real) => {
      await new Promise<void>((resolve) => { stalled.push(resolve) })
      return await real()
    })
    const producer = new Producer(target, { bufferMemory: 1024, maxBlockMs: 100, lingerMs: 0 })
    const value = 'v'.repeat(600)
    const first = producer.send({ topic: 't', messages: [{ value }] })
    await tick()
    const started = Date.now()
    await expect(producer.send({ topic: 't', messages: [{ value }] })).rejects.toMatchObject({ code: 'SLUICE_BUFFER_FULL' })
    expect(Date.now() - started).toBeGreaterThanOrEqual(90)
    // A waiting send goes through once the first is acknowledged.
    const waiting = producer.send({ topic: 't', messages: [{ value: `${value}!` }] })
    let waitingDone = false
    void waiting.then(() => { waitingDone = true })
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(waitingDone).toBe(false)
    stalled.shift()!()
    await first
    await tick()
    while (stalled.length === 0) await tick()
    stalled.shift()!()
    expect(await waiting).toMatchObject([{ baseOffset: 1 }])
    expect((await stored(target, 't', 0)).map((record) => record.value.length)).toEqual([600, 601])
    await producer.close()
  })

  test('sends waiting for buffer.memory keep their order: a small send does not overtake a waiting large one', async () => {
    const target = await openEngine()
    await target.createTopic('t')
    const stalled: Array<() => void> = []
    interceptAppends(target, async (_call, real) => {
      await new Promise<void>((resolve) => { stalled.push(resolve) })
      return await real()
    })
    const producer = new Producer(target, { bufferMemory: 1024, maxBlockMs: 5000 })
    const first = producer.send({ topic: 't', messages: [{ value: 'A'.repeat(600) }] })
    await tick()
    const large = producer.send({ topic: 't', messages: [{ value: 'B'.repeat(600) }] })
    await tick()
    const small = producer.send({ topic: 't', messages: [{ value: 'C' }] })
    await tick()
    // Release appends as they arrive until all three calls are done.
    let done = false
    void Promise.all([first, large, small]).finally(() => { done = true })
    while (!done) {
      stalled.shift()?.()
      await new Promise((resolve) => setTimeout(resolve, 1))
    }
    expect((await stored(target, 't', 0)).map((record) => record.value[0])).toEqual(['A', 'B', 'C'])
    await producer.close()
  })

  test('sendBulk failing with SLUICE_BUFFER_FULL midway leaves no unhandled rejection behind', async () => {
    const target = await openEngine()
    await target.createTopic('t', { configs: { 'max.message.bytes': '2000' } })
    const stalled: Array<() => void> = []
    interceptAppends(target, async () => {
      await new Promise<void>((resolve) => { stalled.push(resolve) })
      throw new SluiceError('INVALID_RECORD', 'simulated failure of a piece sent before the buffer ran full')
    })
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown): void => { unhandled.push(reason) }
    process.on('unhandledRejection', onUnhandled)
    try {
      const producer = new Producer(target, { bufferMemory: 4096, maxBlockMs: 30, idempotent: false })
      const values = Array.from({ length: 100 }, () => Buffer.alloc(100, 7))
      await expect(producer.sendBulk({ topic: 't', values })).rejects.toMatchObject({ code: 'SLUICE_BUFFER_FULL' })
      while (stalled.length > 0) stalled.shift()!()
      await new Promise((resolve) => setTimeout(resolve, 20))
      expect(unhandled).toEqual([])
      await producer.close()
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })

  test('an oversized message is MESSAGE_TOO_LARGE and nothing is stored', async () => {
    const target = await openEngine()
    await target.createTopic('small', { configs: { 'max.message.bytes': '1000' } })
    const producer = new Producer(target)
    await expect(producer.send({ topic: 'small', messages: [{ value: 'x'.repeat(2000) }] })).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE', kafkaCode: 10 })
    // Headers count too.
    await expect(producer.send({ topic: 'small', messages: [{ value: 'x', headers: { big: 'h'.repeat(1200) } }] })).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE' })
    await expect(producer.sendBulk({ topic: 'small', values: [Buffer.alloc(5000)] })).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE' })
    expect(target.partitionLog('small', 0).highWatermark).toBe(0)
    await producer.send({ topic: 'small', messages: [{ value: 'fits' }] })
    expect(target.partitionLog('small', 0).highWatermark).toBe(1)
    await producer.close()
  })

  test('an unknown topic is UNKNOWN_TOPIC_OR_PARTITION when auto-creation is off', async () => {
    const target = await openEngine({ autoCreateTopics: false })
    const producer = new Producer(target)
    await expect(producer.send({ topic: 'missing', messages: [{ value: 'x' }] })).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC_OR_PARTITION', kafkaCode: 3 })
    expect(target.topics.find('missing')).toBeUndefined()
    await target.createTopic('two', { partitions: 2 })
    await expect(producer.send({ topic: 'two', messages: [{ value: 'x', partition: 2 }] })).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC_OR_PARTITION' })
    await producer.close()

    // The producer's own switch also keeps an auto-creating engine from creating the topic.
    const noCreate = new Producer(target, { allowAutoTopicCreation: false })
    await expect(noCreate.send({ topic: 'missing', messages: [{ value: 'x' }] })).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC_OR_PARTITION' })
    await noCreate.close()
  })

  test('one-message sends mixed with several-message and acks-0 sends in one batch each resolve with their own offsets', async () => {
    const target = await openEngine()
    await target.createTopic('mixed', { partitions: 1 })
    const producer = new Producer(target, { acks: 1 })
    const appends = interceptAppends(target, async (_call, real) => await real())
    // All in one event-loop turn: one batch holds them all.
    const a = producer.send({ topic: 'mixed', messages: [{ key: 'k', value: 'a' }] })
    const bc = producer.send({ topic: 'mixed', messages: [{ value: 'b' }, { value: 'c' }] })
    const zero = producer.send({ topic: 'mixed', acks: 0, messages: [{ value: 'z' }] })
    const d = producer.send({ topic: 'mixed', messages: [{ value: 'd', timestamp: 1234 }] })
    const e = producer.send({ topic: 'mixed', messages: [{ value: 'e' }] })
    expect(await zero).toEqual([{ topic: 'mixed', partition: 0, baseOffset: -1, lastOffset: -1, durability: 'sent', logAppendTime: -1 }])
    const results = { a: await a, bc: await bc, d: await d, e: await e }
    expect(appends.calls()).toBe(1)
    const values = new Map((await stored(target, 'mixed', 0)).map((record) => [record.offset, record.value]))
    expect(values.size).toBe(6)
    for (const [name, [metadata]] of Object.entries(results)) {
      expect(metadata).toMatchObject({ topic: 'mixed', partition: 0, durability: 'written' })
      const own = Array.from({ length: metadata!.lastOffset - metadata!.baseOffset + 1 }, (_, index) => values.get(metadata!.baseOffset + index)).join('')
      expect(own).toBe(name)
    }
    // Each call's array is its own: changing one result leaves the others alone.
    const before = results.e[0]!.baseOffset
    results.d[0]!.baseOffset = 99
    expect((await e)[0]!.baseOffset).toBe(before)
    await producer.close()
  })

  test('one-message sends of a failed batch each reject with the failure; acks-0 sends count it', async () => {
    const target = await openEngine()
    await target.createTopic('doomed', { partitions: 1 })
    const producer = new Producer(target, { acks: 1, retries: 0 })
    interceptAppends(target, async () => { throw new SluiceError('INVALID_RECORD', 'refused for the test') })
    const sends = [0, 1, 2].map(async (index) => await producer.send({ topic: 'doomed', messages: [{ value: `v${index}` }] }))
    const silent = producer.send({ topic: 'doomed', acks: 0, messages: [{ value: 'quiet' }] })
    for (const send of sends) await expect(send).rejects.toMatchObject({ code: 'INVALID_RECORD' })
    await silent
    await producer.flush()
    expect(producer.acksZeroErrors).toBe(1)
    await producer.close()
  })

  test('while the pipeline is full, batches fill past batchSize up to 256 KiB (within max.message.bytes)', async () => {
    const target = await openEngine()
    await target.createTopic('backlog', { partitions: 1 })
    await target.createTopic('capped', { configs: { 'max.message.bytes': '100000' } })
    const producer = new Producer(target, { acks: 1, batchSize: 16_384 })
    const sizes = new Map<string, number[]>()
    const original = target.append.bind(target)
    target.append = async (topic: string, partition: number, batch: Uint8Array) => {
      sizes.set(topic, [...(sizes.get(topic) ?? []), batch.byteLength])
      return await original(topic, partition, batch)
    }
    const value = Buffer.alloc(100, 7)
    await producer.send({ topic: 'backlog', messages: [{ value }] })
    sizes.clear()
    for (const topic of ['backlog', 'capped']) {
      const calls: Array<Promise<Array<{ baseOffset: number }>>> = []
      for (let index = 0; index < 20_000; index++) calls.push(producer.send({ topic, messages: [{ key: Buffer.alloc(8), value }] }))
      const results = await Promise.all(calls)
      // Every send carries its own offset, in send order.
      const first = topic === 'backlog' ? 1 : 0
      results.forEach((result, index) => { expect(result[0]!.baseOffset).toBe(first + index) })
    }
    const backlog = sizes.get('backlog')!
    // The first IN_FLIGHT_MAX (5) batches go out at batchSize; the backlog behind them in larger ones.
    expect(backlog.slice(0, 5).every((size) => size <= 16_384 + 61)).toBe(true)
    expect(Math.max(...backlog)).toBeGreaterThan(200 * 1024)
    expect(Math.max(...backlog)).toBeLessThanOrEqual(256 * 1024 + 61)
    expect(backlog.length).toBeLessThan(20)
    expect(Math.max(...sizes.get('capped')!)).toBeLessThanOrEqual(100_000)
    expect((await stored(target, 'backlog', 0)).length).toBe(20_001)
    await producer.close()
  })

  test('concurrent sendBulk calls to one partition append in call order, through reused buffers, retries included', async () => {
    const target = await openEngine()
    await target.createTopic('bulk', { partitions: 1 })
    // The second append fails before anything is stored: that batch is appended again later
    // from its own buffer while other batches go through the pool.
    const sizes: number[] = []
    interceptAppends(target, async (call, real) => {
      if (call === 1) throw new SluiceError('KAFKA_STORAGE_ERROR', 'simulated: the write failed')
      const result = await real()
      return result
    })
    const original = target.append.bind(target)
    target.append = async (topic: string, partition: number, batch: Uint8Array) => {
      sizes.push(batch.byteLength)
      return await original(topic, partition, batch)
    }
    const producer = new Producer(target, { acks: 1, retryBackoffMs: 1 })
    const total = 60_000
    const values = Array.from({ length: total }, (_, index) => Buffer.from(`${String(index).padStart(8, '0')}:${'v'.repeat(90)}`))
    const keys = Array.from({ length: total }, (_, index) => Buffer.from(`k${index}`))
    const calls: Array<Promise<Array<{ baseOffset: number, lastOffset: number }>>> = []
    for (let start = 0; start < total; start += 15_000) {
      calls.push(producer.sendBulk({ topic: 'bulk', partition: 0, keys: keys.slice(start, start + 15_000), values: values.slice(start, start + 15_000) }))
    }
    const results = await Promise.all(calls)
    results.forEach(([metadata], call) => {
      expect(metadata).toMatchObject({ baseOffset: call * 15_000, lastOffset: call * 15_000 + 14_999 })
    })
    // Large pieces (about 1 MiB each): the reused buffers were in play.
    expect(Math.max(...sizes)).toBeGreaterThan(900 * 1024)
    const records = await stored(target, 'bulk', 0)
    expect(records.length).toBe(total)
    records.forEach((record, offset) => {
      expect(record.offset).toBe(offset)
      expect(record.key).toBe(`k${offset}`)
      expect(record.value).toBe(values[offset]!.toString())
    })
    await producer.close()
  })

  test('a sendBulk call waiting for buffer.memory keeps a later call to the partition behind it', async () => {
    const target = await openEngine()
    await target.createTopic('tight', { partitions: 1 })
    // Room for about one 1 MiB piece at a time: every call waits for room between its pieces.
    const producer = new Producer(target, { acks: 1, bufferMemory: 1_200_000 })
    const value = (call: number, index: number): Buffer => Buffer.from(`${call}:${String(index).padStart(6, '0')}:${'p'.repeat(100)}`)
    const calls = [0, 1, 2].map(async (call) => await producer.sendBulk({ topic: 'tight', partition: 0, values: Array.from({ length: 25_000 }, (_, index) => value(call, index)) }))
    const results = await Promise.all(calls)
    results.forEach(([metadata], call) => { expect(metadata).toMatchObject({ baseOffset: call * 25_000, lastOffset: call * 25_000 + 24_999 }) })
    const records = await stored(target, 'tight', 0)
    expect(records.length).toBe(75_000)
    records.forEach((record, offset) => { expect(record.value).toBe(value(Math.floor(offset / 25_000), offset % 25_000).toString()) })
    await producer.close()
  })

  test('a sendBulk batch larger than the reused buffers is encoded into a fresh one', async () => {
    const target = await openEngine()
    await target.createTopic('large', { configs: { 'max.message.bytes': String(8 * 1024 * 1024) } })
    const sizes: number[] = []
    const original = target.append.bind(target)
    target.append = async (topic: string, partition: number, batch: Uint8Array) => {
      sizes.push(batch.byteLength)
      return await original(topic, partition, batch)
    }
    const producer = new Producer(target, { acks: 1, batchSize: 4 * 1024 * 1024 })
    const values = Array.from({ length: 40_000 }, (_, index) => Buffer.from(`${String(index).padStart(8, '0')}${'x'.repeat(92)}`))
    for (let round = 0; round < 2; round++) {
      const [metadata] = await producer.sendBulk({ topic: 'large', partition: 0, values })
      expect(metadata).toMatchObject({ baseOffset: round * 40_000, lastOffset: round * 40_000 + 39_999 })
    }
    expect(Math.max(...sizes)).toBeGreaterThan(2 * 1024 * 1024)
    const records = await stored(target, 'large', 0)
    expect(records.length).toBe(80_000)
    records.forEach((record, offset) => { expect(record.value).toBe(values[offset % 40_000]!.toString()) })
    await producer.close()
  })

  test('a closed producer refuses sends with SLUICE_CLOSED', async () => {
    const target = await openEngine()
    const producer = new Producer(target)
    await producer.close()
    await expect(producer.send({ topic: 't', messages: [{ value: 'x' }] })).rejects.toMatchObject({ code: 'SLUICE_CLOSED' })
  })
})
