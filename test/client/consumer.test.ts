import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { Sluice } from '../../src/client/sluice.js'
import type { Consumer, ConsumedMessage } from '../../src/client/consumer.js'
import type { SluiceOptions } from '../../src/client/sluice.js'
import { encodeSubscription } from '../../src/engine/consumer-protocol.js'
import { defaultPartition } from '../../src/io/murmur2.js'

let dataDir: string
const open: Sluice[] = []

beforeEach(async () => { dataDir = await mkdtemp(join(tmpdir(), 'sluice-consumer-')) })
afterEach(async () => {
  await Promise.allSettled(open.splice(0).map(async (sluice) => { await sluice.close() }))
  await rm(dataDir, { recursive: true, force: true })
})

async function openSluice (options: SluiceOptions = {}): Promise<Sluice> {
  const sluice = await Sluice.open({
    dataDir,
    offsetsTopicPartitions: 4,
    groups: { groupMinSessionTimeoutMs: 50 },
    ...options
  })
  open.push(sluice)
  return sluice
}

async function until (condition: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

const fastGroup = { sessionTimeoutMs: 400, heartbeatIntervalMs: 50, autoCommitIntervalMs: 50, metadataMaxAgeMs: 50 }

describe('Consumer', () => {
  test('records of one key arrive in order, on the partition Kafka\'s Java client would choose', async () => {
    const sluice = await openSluice()
    await sluice.admin().createTopics({ topics: [{ topic: 'keyed', numPartitions: 6 }] })
    const producer = sluice.producer({ idempotent: false })
    const keys = ['alpha', 'beta', 'gamma', 'delta', 'epsilon']
    for (let round = 0; round < 40; round++) {
      await producer.send({ topic: 'keyed', messages: keys.map((key) => ({ key, value: `${key}:${round}` })) })
    }
    const consumer = sluice.consumer({ autoOffsetReset: 'earliest' })
    const seen = new Map<string, number[]>()
    await consumer.subscribe({ topics: ['keyed'] })
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const key = message.key!.toString()
        expect(partition).toBe(defaultPartition(Buffer.from(key), 6))
        const list = seen.get(key) ?? []
        list.push(Number(message.value!.toString().split(':')[1]))
        seen.set(key, list)
      }
    })
    await until(() => [...seen.values()].reduce((total, list) => total + list.length, 0) === 200)
    for (const key of keys) expect(seen.get(key)).toEqual(Array.from({ length: 40 }, (_, index) => index))
    await consumer.close()
  })

  test('a group of 3 consumers over 12 partitions splits the work and receives every record once', async () => {
    const sluice = await openSluice()
    await sluice.admin().createTopics({ topics: [{ topic: 'work', numPartitions: 12 }] })
    const received = new Map<string, number>()
    const byConsumer = [0, 0, 0]
    const consumers: Consumer[] = []
    for (let index = 0; index < 3; index++) {
      const consumer = sluice.consumer({ groupId: 'workers', autoOffsetReset: 'earliest', ...fastGroup })
      await consumer.subscribe({ topics: ['work'] })
      await consumer.run({
        eachMessage: async ({ message }) => {
          byConsumer[index]!++
          const value = message.value!.toString()
          received.set(value, (received.get(value) ?? 0) + 1)
        }
      })
      consumers.push(consumer)
    }
    await until(() => consumers.every((consumer) => consumer.assignment().reduce((total, entry) => total + entry.partitions.length, 0) === 4), 10_000, 'balanced assignment')
    const owned = consumers.flatMap((consumer) => consumer.assignment().flatMap((entry) => entry.partitions))
    expect(owned.sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, index) => index))

    const producer = sluice.producer({ idempotent: false })
    const total = 1200
    for (let start = 0; start < total; start += 100) {
      await producer.send({ topic: 'work', messages: Array.from({ length: 100 }, (_, offset) => ({ key: `k${start + offset}`, value: `v${start + offset}` })) })
    }
    await until(() => received.size === total, 10_000, 'all records')
    expect([...received.values()].every((count) => count === 1)).toBe(true)
    expect(byConsumer.every((count) => count > 0)).toBe(true)
    await Promise.all(consumers.map(async (consumer) => { await consumer.close() }))
  })

  test('a member that stops heartbeating loses its partitions; its uncommitted records are redelivered', async () => {
    const sluice = await openSluice()
    const { engine } = sluice
    await sluice.admin().createTopics({ topics: [{ topic: 'jobs', numPartitions: 4 }] })
    const producer = sluice.producer({ idempotent: false })
    for (let partition = 0; partition < 4; partition++) {
      await producer.send({ topic: 'jobs', messages: Array.from({ length: 25 }, (_, index) => ({ value: `p${partition}-${index}`, partition })) })
    }

    // A member that joins, takes partitions, reads some records, and then goes silent (a hung process).
    const protocols = [{ name: 'cooperative-sticky', metadata: encodeSubscription({ version: 1, topics: ['jobs'], userData: null, ownedPartitions: [], generationId: -1, rackId: null }) }]
    const joinRequest = { groupId: 'jobs-group', groupInstanceId: null, clientId: 'hung', clientHost: 'test', sessionTimeoutMs: 300, rebalanceTimeoutMs: 300, protocolType: 'consumer', protocols, requireKnownMemberId: true }
    let join = await engine.groups.joinGroup({ ...joinRequest, memberId: '' })
    join = await engine.groups.joinGroup({ ...joinRequest, memberId: join.memberId })
    expect(join.leader).toBe(join.memberId)
    const { encodeAssignment } = await import('../../src/engine/consumer-protocol.js')
    await engine.groups.syncGroup({
      groupId: 'jobs-group',
      generationId: join.generationId,
      memberId: join.memberId,
      groupInstanceId: null,
      assignments: [{ memberId: join.memberId, assignment: encodeAssignment({ version: 0, assignedPartitions: [{ topic: 'jobs', partitions: [0, 1, 2, 3] }], userData: null }) }]
    })
    const { records } = await engine.read('jobs', 0, 0)
    expect(records.byteLength).toBeGreaterThan(0) // it processed, but never committed

    const received: string[] = []
    const survivor = sluice.consumer({ groupId: 'jobs-group', autoOffsetReset: 'earliest', ...fastGroup })
    await survivor.subscribe({ topics: ['jobs'] })
    await survivor.run({ eachMessage: async ({ message }) => { received.push(message.value!.toString()) } })
    await until(() => received.length === 100, 15_000, 'redelivery after the session timeout')
    for (let partition = 0; partition < 4; partition++) {
      expect(received.filter((value) => value.startsWith(`p${partition}-`))).toEqual(Array.from({ length: 25 }, (_, index) => `p${partition}-${index}`))
    }
    expect(() => { engine.groups.heartbeat({ groupId: 'jobs-group', generationId: join.generationId, memberId: join.memberId, groupInstanceId: null }) })
      .toThrow(expect.objectContaining({ code: expect.stringMatching(/UNKNOWN_MEMBER_ID|ILLEGAL_GENERATION/) }))
    await survivor.close()
  })

  test('a cooperative rebalance keeps unaffected partitions consuming', async () => {
    const sluice = await openSluice()
    await sluice.admin().createTopics({ topics: [{ topic: 'coop', numPartitions: 4 }] })
    const first = sluice.consumer({ groupId: 'coop-group', autoOffsetReset: 'earliest', ...fastGroup })
    const revokedFromFirst: number[] = []
    first.rebalanceListener = { onPartitionsRevoked: (partitions) => { for (const entry of partitions) revokedFromFirst.push(...entry.partitions) } }
    await first.subscribe({ topics: ['coop'] })
    await first.run({ eachMessage: async () => {} })
    await until(() => first.assignment().flatMap((entry) => entry.partitions).length === 4, 10_000, 'first owns everything')

    const second = sluice.consumer({ groupId: 'coop-group', autoOffsetReset: 'earliest', ...fastGroup })
    await second.subscribe({ topics: ['coop'] })
    await second.run({ eachMessage: async () => {} })
    await until(() => second.assignment().flatMap((entry) => entry.partitions).length === 2 && first.assignment().flatMap((entry) => entry.partitions).length === 2, 10_000, 'split')
    // Only the two partitions that moved were revoked from the first member; it kept the others throughout.
    expect(revokedFromFirst.length).toBe(2)
    const kept = first.assignment().flatMap((entry) => entry.partitions)
    expect(kept.some((partition) => revokedFromFirst.includes(partition))).toBe(false)
    await Promise.all([first.close(), second.close()])
  })

  test('committed offsets survive close and reopen; the group resumes where it stopped', async () => {
    let sluice = await openSluice()
    await sluice.admin().createTopics({ topics: [{ topic: 'resume', numPartitions: 2 }] })
    let producer = sluice.producer({ idempotent: false })
    await producer.send({ topic: 'resume', messages: Array.from({ length: 50 }, (_, index) => ({ value: `a${index}`, partition: index % 2 })) })
    let consumer = sluice.consumer({ groupId: 'resumer', autoOffsetReset: 'earliest', ...fastGroup })
    let count = 0
    await consumer.subscribe({ topics: ['resume'] })
    await consumer.run({ eachMessage: async () => { count++ } })
    await until(() => count === 50)
    await sluice.close()

    sluice = await openSluice()
    expect(sluice.admin().lag('resumer').totalLag).toBe(0)
    producer = sluice.producer({ idempotent: false })
    await producer.send({ topic: 'resume', messages: Array.from({ length: 10 }, (_, index) => ({ value: `b${index}`, partition: index % 2 })) })
    const after: string[] = []
    consumer = sluice.consumer({ groupId: 'resumer', autoOffsetReset: 'earliest', ...fastGroup })
    await consumer.subscribe({ topics: ['resume'] })
    await consumer.run({ eachMessage: async ({ message }) => { after.push(message.value!.toString()) } })
    await until(() => after.length === 10)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(after.every((value) => value.startsWith('b'))).toBe(true)
    await consumer.close()
  })

  test('replay from the beginning and from a timestamp', async () => {
    const sluice = await openSluice()
    await sluice.admin().createTopics({ topics: [{ topic: 'history' }] })
    const producer = sluice.producer({ idempotent: false })
    for (let index = 0; index < 10; index++) {
      await producer.send({ topic: 'history', messages: [{ value: `m${index}`, timestamp: 10_000 + index * 1000 }] })
    }
    const consumer = sluice.consumer({ autoOffsetReset: 'latest' })
    consumer.assign([{ topic: 'history', partitions: [0] }])
    const seen: string[] = []
    await consumer.run({ eachMessage: async ({ message }) => { seen.push(message.value!.toString()) } })
    await until(() => consumer.position('history', 0) === 10, 5_000, 'position at the end')
    expect(seen).toEqual([])
    consumer.seek({ topic: 'history', partition: 0, offset: 0 })
    await until(() => seen.length === 10)
    expect(seen).toEqual(Array.from({ length: 10 }, (_, index) => `m${index}`))
    seen.length = 0
    expect(await consumer.seekToTimestamp({ topic: 'history', partition: 0, timestamp: 16_500 })).toBe(7)
    await until(() => seen.length === 3)
    expect(seen).toEqual(['m7', 'm8', 'm9'])
    await consumer.close()
  })

  test('eachBatch gets whole batches and resolves past them; lag figures are exact', async () => {
    const sluice = await openSluice()
    const admin = sluice.admin()
    await admin.createTopics({ topics: [{ topic: 'lagging', numPartitions: 3 }] })
    const producer = sluice.producer({ idempotent: false })
    const perPartition = [30, 20, 10]
    for (let partition = 0; partition < 3; partition++) {
      await producer.send({ topic: 'lagging', messages: Array.from({ length: perPartition[partition]! }, (_, index) => ({ value: `${index}`, partition })) })
    }
    await admin.setOffsets('lag-group', 'lagging', [{ partition: 0, offset: 5 }, { partition: 1, offset: 20 }])
    const lag = admin.lag('lag-group', ['lagging'])
    expect(lag.partitions.map((entry) => [entry.partition, entry.committedOffset, entry.logEndOffset, entry.lag]))
      .toEqual([[0, 5, 30, 25], [1, 20, 20, 0], [2, -1, 10, null]])
    expect(lag.totalLag).toBe(25)

    const consumer = sluice.consumer({ groupId: 'lag-group', autoOffsetReset: 'earliest', ...fastGroup })
    const batches: ConsumedMessage[][] = []
    await consumer.subscribe({ topics: ['lagging'] })
    await consumer.run({ eachBatch: async ({ batch }) => { batches.push(batch.messages) } })
    await until(() => batches.flat().length === 25 + 10)
    await consumer.commitOffsets()
    expect(admin.lag('lag-group', ['lagging']).totalLag).toBe(0)
    await consumer.close()
  })

  test('a caught-up consumer wakes promptly on a new append', async () => {
    const sluice = await openSluice()
    await sluice.admin().createTopics({ topics: [{ topic: 'tail' }] })
    const consumer = sluice.consumer({ autoOffsetReset: 'latest', maxWaitMs: 30_000 })
    let arrived = 0
    consumer.assign([{ topic: 'tail', partitions: [0] }])
    await consumer.run({ eachMessage: async () => { arrived = performance.now() } })
    await until(() => consumer.position('tail', 0) === 0)
    await new Promise((resolve) => setTimeout(resolve, 50))
    const producer = sluice.producer({ idempotent: false, acks: 1 })
    const sent = performance.now()
    await producer.send({ topic: 'tail', messages: [{ value: 'now' }] })
    await until(() => arrived > 0, 5_000)
    // Far below maxWaitMs: the append itself woke the waiting fetch.
    expect(arrived - sent).toBeLessThan(1_000)
    await consumer.close()
  })

  test('eachMessage handlers of every shape run one at a time, in order; failures of any shape redeliver', async () => {
    const sluice = await openSluice()
    await sluice.admin().createTopics({ topics: [{ topic: 'shapes' }] })
    const producer = sluice.producer({ idempotent: false })
    const count = 3_000
    // One read holds many records: a synchronous handler must not grow the stack per record.
    await producer.sendBulk({ topic: 'shapes', partition: 0, values: Array.from({ length: count }, (_, index) => Buffer.from(String(index))) })
    const consumer = sluice.consumer({ autoOffsetReset: 'earliest' })
    consumer.assign([{ topic: 'shapes', partitions: [0] }])
    const seen: number[] = []
    const errors: string[] = []
    const failed = new Set<number>()
    let running = 0
    let overlapped = false
    const failOnce = (index: number, shape: number): boolean => shape === index % 7 && index % 500 < 7 && !failed.has(index) && failed.add(index) !== undefined
    await consumer.run({
      handlerRetryBackoffMs: 1,
      onHandlerError: (error) => { errors.push((error as Error).message) },
      eachMessage: ({ message }) => {
        const index = Number(message.value!.toString())
        if (running > 0) overlapped = true
        const record = (): void => { seen.push(index) }
        switch (index % 7) {
          case 0: // synchronous, returns nothing
            if (failOnce(index, 0)) throw new Error(`sync ${index}`)
            record()
            return
          case 1: // async function
            return (async () => {
              running++
              await new Promise((resolve) => setImmediate(resolve))
              running--
              if (failOnce(index, 1)) throw new Error(`async ${index}`)
              record()
            })()
          case 2: { // a thenable that is not a promise and calls back twice: counts once
            const thenable = {
              then (onFulfilled: (value: unknown) => void, onRejected: (error: unknown) => void): void {
                if (failOnce(index, 2)) { onRejected(new Error(`thenable ${index}`)); return }
                record()
                onFulfilled(undefined)
                onFulfilled(undefined)
              }
            }
            return thenable as unknown as Promise<void>
          }
          case 3: // a thenable whose `then` throws
            if (failOnce(index, 3)) return { get then () { throw new Error(`getter ${index}`) } } as unknown as Promise<void>
            record()
            return
          default: // an already settled promise
            record()
            return Promise.resolve()
        }
      }
    })
    await until(() => seen.length >= count, 20_000, 'every record')
    expect(overlapped).toBe(false)
    expect(seen).toEqual(Array.from({ length: count }, (_, index) => index))
    expect(errors.sort()).toEqual([...failed].sort((a, b) => a - b).map((index) => `${['sync', 'async', 'thenable', 'getter'][index % 7]} ${index}`).sort())
    expect(failed.size).toBe(4 * 6)
    await consumer.close()
  })

  test('pause from inside eachMessage stops the read after that record; resume continues at the next one', async () => {
    const sluice = await openSluice()
    await sluice.admin().createTopics({ topics: [{ topic: 'stop' }] })
    await sluice.producer({ idempotent: false }).sendBulk({ topic: 'stop', partition: 0, values: ['a', 'b', 'c', 'd'].map((value) => Buffer.from(value)) })
    const consumer = sluice.consumer({ autoOffsetReset: 'earliest', maxWaitMs: 30_000 })
    consumer.assign([{ topic: 'stop', partitions: [0] }])
    const seen: string[] = []
    await consumer.run({
      eachMessage: async ({ message, pause }) => {
        seen.push(message.value!.toString())
        if (message.value!.toString() === 'b') pause()
      }
    })
    await until(() => seen.length === 2, 5_000, 'records up to the pause')
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(seen).toEqual(['a', 'b'])
    expect(consumer.position('stop', 0)).toBe(2)
    consumer.resume([{ topic: 'stop' }])
    await until(() => seen.length === 4, 5_000, 'records after resume')
    expect(seen).toEqual(['a', 'b', 'c', 'd'])
    await consumer.close()
  })

  test('while caught up and waiting: resume, a newly assigned partition and a seek each take effect without waiting out maxWaitMs', async () => {
    const sluice = await openSluice()
    await sluice.admin().createTopics({ topics: [{ topic: 'live', numPartitions: 2 }] })
    const producer = sluice.producer({ idempotent: false, acks: 1 })
    const consumer = sluice.consumer({ autoOffsetReset: 'earliest', maxWaitMs: 30_000 })
    const seen: string[] = []
    consumer.assign([{ topic: 'live', partitions: [0] }])
    await consumer.run({ eachMessage: async ({ partition, message }) => { seen.push(`${partition}:${message.offset}:${message.value!.toString()}`) } })
    await producer.send({ topic: 'live', messages: [{ value: 'a', partition: 0 }] })
    await until(() => seen.length === 1, 5_000, 'first record')

    // Paused: nothing is delivered; resumed: the waiting loop wakes at once.
    consumer.pause([{ topic: 'live' }])
    await producer.send({ topic: 'live', messages: [{ value: 'b', partition: 0 }] })
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(seen).toEqual(['0:0:a'])
    consumer.resume([{ topic: 'live' }])
    await until(() => seen.length === 2, 5_000, 'record after resume')

    // A partition added to the assignment is read by the running loop.
    await producer.send({ topic: 'live', messages: [{ value: 'c', partition: 1 }] })
    consumer.assign([{ topic: 'live', partitions: [0, 1] }])
    await until(() => seen.length === 3, 5_000, 'record of the new partition')
    expect(seen[2]).toBe('1:0:c')

    // A seek back replays, and a partition dropped from the assignment is no longer read.
    consumer.assign([{ topic: 'live', partitions: [0] }])
    consumer.seek({ topic: 'live', partition: 0, offset: 0 })
    await until(() => seen.length === 5, 5_000, 'replay after seek')
    await producer.send({ topic: 'live', messages: [{ value: 'd', partition: 1 }, { value: 'e', partition: 0 }] })
    await until(() => seen.length === 6, 5_000, 'record after reassignment')
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(seen).toEqual(['0:0:a', '0:1:b', '1:0:c', '0:0:a', '0:1:b', '0:2:e'])
    await consumer.close()
    await producer.close()
  })

  test('bad input gets typed errors: invalid group id, stale generation commits', async () => {
    const sluice = await openSluice()
    expect(() => sluice.consumer({ groupId: '' })).toThrow(expect.objectContaining({ code: 'INVALID_GROUP_ID' }))
    await sluice.admin().createTopics({ topics: [{ topic: 'stale' }] })
    const consumer = sluice.consumer({ groupId: 'stale-group', ...fastGroup })
    await consumer.subscribe({ topics: ['stale'] })
    await consumer.run({ eachMessage: async () => {} })
    await until(() => consumer.groupIdentity.generationId >= 1)
    const { memberId, generationId } = consumer.groupIdentity
    const results = sluice.engine.groups.commitOffsets({ groupId: 'stale-group', generationId: generationId - 1, memberId, groupInstanceId: null, offsets: [{ topic: 'stale', partition: 0, offset: 1 }] })
    await expect(results).rejects.toMatchObject({ code: 'ILLEGAL_GENERATION', kafkaCode: 22 })
    for (const offset of [-3, 1.5, Number.NaN]) {
      await expect(consumer.commitOffsets([{ topic: 'stale', partition: 0, offset }])).rejects.toMatchObject({ code: 'SLUICE_INVALID_OPTION' })
    }
    expect(consumer.committed([{ topic: 'stale', partition: 0 }])).toEqual([{ topic: 'stale', partition: 0, offset: -1 }])
    const unknown = sluice.consumer({ autoOffsetReset: 'earliest' })
    await expect(unknown.subscribe({ topics: ['no-such-topic'] })).resolves.toBeUndefined() // auto-created
    const strict = await Sluice.open({ dataDir: join(dataDir, 'strict'), autoCreateTopics: false })
    open.push(strict)
    await expect(strict.consumer().subscribe({ topics: ['missing'] })).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC_OR_PARTITION' })
    await consumer.close()
  })
})

describe('Consumer handler errors', () => {
  test('a throwing handler does not skip the record: it is delivered again (at-least-once)', async () => {
    const sluice = await openSluice()
    await sluice.admin().createTopics({ topics: [{ topic: 'flaky' }] })
    await sluice.producer({ idempotent: false }).send({ topic: 'flaky', messages: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] })
    const consumer = sluice.consumer({ autoOffsetReset: 'earliest' })
    consumer.assign([{ topic: 'flaky', partitions: [0] }])
    const seen: string[] = []
    const errors: unknown[] = []
    let failedOnce = false
    await consumer.run({
      handlerRetryBackoffMs: 5,
      onHandlerError: (error) => { errors.push(error) },
      eachMessage: async ({ message }) => {
        const value = message.value!.toString()
        if (value === 'b' && !failedOnce) {
          failedOnce = true
          throw new Error('transient')
        }
        seen.push(value)
      }
    })
    await until(() => seen.length === 3)
    expect(seen).toEqual(['a', 'b', 'c'])
    expect(errors).toHaveLength(1)
    await consumer.close()
  })
})

describe('Consumer subscriptions', () => {
  test('a RegExp subscription picks up matching topics, including ones created later, and never internal topics', async () => {
    const sluice = await openSluice()
    const admin = sluice.admin()
    await admin.createTopics({ topics: [{ topic: 'metrics.cpu' }, { topic: 'logs.app' }] })
    const producer = sluice.producer({ idempotent: false })
    const consumer = sluice.consumer({ groupId: 'pattern', autoOffsetReset: 'earliest', ...fastGroup })
    const seen = new Set<string>()
    await consumer.subscribe({ topics: [/^metrics\./] })
    await consumer.run({ eachMessage: async ({ topic }) => { seen.add(topic) } })
    await producer.send({ topic: 'metrics.cpu', messages: [{ value: '1' }] })
    await producer.send({ topic: 'logs.app', messages: [{ value: '2' }] })
    await until(() => seen.has('metrics.cpu'))
    await admin.createTopics({ topics: [{ topic: 'metrics.mem' }] })
    await producer.send({ topic: 'metrics.mem', messages: [{ value: '3' }] })
    await until(() => seen.has('metrics.mem'), 10_000, 'the new matching topic')
    expect([...seen].sort()).toEqual(['metrics.cpu', 'metrics.mem'])
    await consumer.close()
  })
})
