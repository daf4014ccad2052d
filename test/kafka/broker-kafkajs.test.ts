/**
 * kafkajs 2.2 against the broker: produce with every codec, groups through a rebalance,
 * commit and resume, the admin API, an idempotent producer. Every record sent is received
 * intact and in per-partition order.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { CompressionTypes, Partitioners, type Consumer, type Kafka } from 'kafkajs'
import { openBroker, registerKafkajsCodecs, waitFor, type BrokerHarness } from './broker-harness.js'

let harness: BrokerHarness
let kafka: Kafka

beforeAll(async () => {
  registerKafkajsCodecs()
  harness = await openBroker()
  kafka = harness.kafka()
})

afterAll(async () => {
  await harness?.close()
})

interface Received { partition: number, offset: number, key: string, value: string, headers: Record<string, string> }

/** Runs a consumer that records every message, per partition, until stopped. */
async function consume (consumer: Consumer, topic: string, sink: Received[], options: { fromBeginning?: boolean } = {}): Promise<void> {
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: options.fromBeginning ?? true })
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const headers: Record<string, string> = {}
      for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = String(value)
      sink.push({ partition, offset: Number(message.offset), key: message.key?.toString() ?? '', value: message.value?.toString() ?? '', headers })
    }
  })
}

/** Checks per-partition order and returns the values received per partition. */
function byPartition (received: Received[]): Map<number, Received[]> {
  const map = new Map<number, Received[]>()
  for (const message of received) {
    const list = map.get(message.partition) ?? []
    list.push(message)
    map.set(message.partition, list)
  }
  for (const list of map.values()) {
    for (let index = 1; index < list.length; index++) expect(list[index]!.offset).toBeGreaterThan(list[index - 1]!.offset)
  }
  return map
}

describe('kafkajs against the broker', () => {
  test('produces with each compression codec; a consumer receives every record intact and in order', async () => {
    const topic = 'codecs'
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] })
    await admin.disconnect()
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
    await producer.connect()
    const codecs = [CompressionTypes.None, CompressionTypes.GZIP, CompressionTypes.Snappy, CompressionTypes.LZ4, CompressionTypes.ZSTD]
    const sent = new Map<string, string>()
    const sentOrder = new Map<string, string[]>()
    for (const codec of codecs) {
      for (let round = 0; round < 4; round++) {
        const messages = Array.from({ length: 50 }, (_, index) => {
          const key = `key-${index % 7}`
          const value = `codec-${codec}-round-${round}-message-${index}-${'x'.repeat(index * 3)}`
          sent.set(value, key)
          sentOrder.set(key, [...(sentOrder.get(key) ?? []), value])
          return { key, value, headers: { codec: String(codec), index: String(index) } }
        })
        const metadata = await producer.send({ topic, compression: codec, acks: -1, messages })
        expect(metadata.every((entry) => entry.errorCode === 0)).toBe(true)
      }
    }
    await producer.disconnect()

    const received: Received[] = []
    const consumer = kafka.consumer({ groupId: 'codecs-group', maxWaitTimeInMs: 100 })
    await consume(consumer, topic, received)
    await waitFor(() => received.length >= sent.size, 30_000, `${sent.size} records`)
    await consumer.disconnect()
    expect(received).toHaveLength(sent.size)
    byPartition(received)
    for (const message of received) {
      expect(sent.get(message.value)).toBe(message.key)
      expect(message.value).toContain(`codec-${message.headers.codec}-`)
    }
    // Same key -> same partition, in the order sent.
    const receivedOrder = new Map<string, string[]>()
    for (const message of received) receivedOrder.set(message.key, [...(receivedOrder.get(message.key) ?? []), message.value])
    expect(receivedOrder).toEqual(sentOrder)
  })

  test('a group of consumers splits partitions through a rebalance; every record is received once, in order', async () => {
    const topic = 'rebalance'
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] })
    await admin.disconnect()
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
    await producer.connect()
    let sequence = 0
    const produce = async (count: number): Promise<void> => {
      const messages = Array.from({ length: count }, () => { const value = `m-${sequence++}`; return { key: `k-${sequence % 13}`, value } })
      await producer.send({ topic, acks: 1, messages })
    }
    await produce(400)

    const groupId = 'rebalance-group'
    const first: Received[] = []
    const second: Received[] = []
    const consumerA = kafka.consumer({ groupId, maxWaitTimeInMs: 100, heartbeatInterval: 300, sessionTimeout: 10_000, rebalanceTimeout: 10_000 })
    await consume(consumerA, topic, first)
    await waitFor(() => first.length >= 400, 30_000, 'the first member to read the backlog')
    const assignedTo = (consumer: Consumer): Promise<number[]> => new Promise((resolve) => {
      const remove = consumer.on(consumer.events.GROUP_JOIN, (event) => { remove(); resolve(event.payload.memberAssignment[topic] ?? []) })
    })
    const consumerB = kafka.consumer({ groupId, maxWaitTimeInMs: 100, heartbeatInterval: 300, sessionTimeout: 10_000, rebalanceTimeout: 10_000 })
    const assignedA = assignedTo(consumerA)
    const assignedB = assignedTo(consumerB)
    await consume(consumerB, topic, second)
    const [partitionsA, partitionsB] = await Promise.all([assignedA, assignedB])
    expect([...partitionsA, ...partitionsB].sort()).toEqual([0, 1, 2, 3])
    expect(partitionsA.length).toBe(2)
    expect(partitionsB.length).toBe(2)

    await produce(600)
    await waitFor(() => first.length + second.length >= 1000, 30_000, 'both members to read the new records')
    await new Promise((resolve) => setTimeout(resolve, 300))
    await Promise.all([consumerA.disconnect(), consumerB.disconnect()])
    await producer.disconnect()

    const all = [...first, ...second]
    const values = all.map((message) => message.value)
    expect(new Set(values).size).toBe(1000)
    expect(values).toHaveLength(1000)
    byPartition(first)
    byPartition(second)
    // After the rebalance each member only reads its own partitions.
    const afterRebalance = second.map((message) => message.partition)
    for (const partition of afterRebalance) expect(partitionsB).toContain(partition)
  })

  test('a consumer that stops resumes from its committed offsets', async () => {
    const topic = 'resume'
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
    await producer.connect()
    await producer.send({ topic, messages: Array.from({ length: 100 }, (_, index) => ({ value: `first-${index}` })) })
    const groupId = 'resume-group'
    const before: Received[] = []
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 })
    await consume(consumer, topic, before)
    await waitFor(() => before.length >= 100, 30_000, 'the first 100')
    await consumer.disconnect()

    await producer.send({ topic, messages: Array.from({ length: 50 }, (_, index) => ({ value: `second-${index}` })) })
    const admin = kafka.admin()
    await admin.connect()
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] })
    expect(committed[0]!.partitions).toEqual([{ partition: 0, offset: '100', metadata: null }])
    const after: Received[] = []
    const again = kafka.consumer({ groupId, maxWaitTimeInMs: 100 })
    await consume(again, topic, after)
    await waitFor(() => after.length >= 50, 30_000, 'the next 50')
    await new Promise((resolve) => setTimeout(resolve, 300))
    await again.disconnect()
    expect(after.map((message) => message.value)).toEqual(Array.from({ length: 50 }, (_, index) => `second-${index}`))
    expect(after[0]!.offset).toBe(100)
    const groups = await admin.describeGroups([groupId])
    expect(groups.groups[0]).toMatchObject({ groupId, state: 'Empty', protocolType: 'consumer' })
    await admin.disconnect()
    await producer.disconnect()
  })

  test('admin calls: topics, partitions, configs, groups, offsets, records', async () => {
    const admin = kafka.admin()
    await admin.connect()
    expect(await admin.createTopics({ topics: [{ topic: 'admin-a', numPartitions: 2, configEntries: [{ name: 'retention.ms', value: '3600000' }] }, { topic: 'admin-b' }] })).toBe(true)
    // Already existing: kafkajs answers false rather than throwing.
    expect(await admin.createTopics({ topics: [{ topic: 'admin-a' }] })).toBe(false)
    const creationError = async (topic: Parameters<typeof admin.createTopics>[0]['topics'][number]): Promise<string | undefined> => {
      try {
        await admin.createTopics({ topics: [topic] })
        return undefined
      } catch (error) {
        return (error as { errors?: Array<{ type: string }> }).errors?.[0]?.type
      }
    }
    expect(await creationError({ topic: 'admin-rf', replicationFactor: 3 })).toBe('INVALID_REPLICATION_FACTOR')
    expect(await creationError({ topic: 'admin-bad', configEntries: [{ name: 'retention.ms', value: 'soon' }] })).toBe('INVALID_CONFIG')
    expect(await creationError({ topic: 'admin-zero', numPartitions: 0 })).toBe('INVALID_PARTITIONS')
    expect(await creationError({ topic: 'bad/name' })).toBe('INVALID_TOPIC_EXCEPTION')
    expect(await admin.listTopics()).toEqual(expect.arrayContaining(['admin-a', 'admin-b']))

    const metadata = await admin.fetchTopicMetadata({ topics: ['admin-a'] })
    expect(metadata.topics[0]!.partitions.map((partition) => partition.partitionId).sort()).toEqual([0, 1])
    expect(metadata.topics[0]!.partitions[0]).toMatchObject({ leader: 0, replicas: [0], isr: [0] })

    await admin.createPartitions({ topicPartitions: [{ topic: 'admin-a', count: 4 }] })
    expect((await admin.fetchTopicMetadata({ topics: ['admin-a'] })).topics[0]!.partitions).toHaveLength(4)
    await expect(admin.createPartitions({ topicPartitions: [{ topic: 'admin-a', count: 2 }] })).rejects.toThrow()

    const described = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: 'admin-a' }] })
    const entries = described.resources[0]!.configEntries
    expect(entries.find((entry) => entry.configName === 'retention.ms')).toMatchObject({ configValue: '3600000', isDefault: false })
    expect(entries.find((entry) => entry.configName === 'cleanup.policy')).toMatchObject({ configValue: 'delete', isDefault: true })
    const broker = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 4, name: '0' }] })
    expect(broker.resources[0]!.configEntries.find((entry) => entry.configName === 'num.partitions')).toMatchObject({ configValue: '1', readOnly: true })

    await admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: 'admin-a', configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] })
    const altered = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: 'admin-a', configNames: ['cleanup.policy', 'retention.ms'] }] })
    const alteredEntries = Object.fromEntries(altered.resources[0]!.configEntries.map((entry) => [entry.configName, entry.configValue]))
    // AlterConfigs replaces the whole set of overrides: retention.ms returns to its default.
    expect(alteredEntries).toEqual({ 'cleanup.policy': 'compact', 'retention.ms': '604800000' })
    await expect(admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: 'admin-a', configEntries: [{ name: 'no.such.config', value: '1' }] }] })).rejects.toThrow()

    // Records, offsets and groups.
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
    await producer.connect()
    await producer.send({ topic: 'admin-b', messages: Array.from({ length: 10 }, (_, index) => ({ value: `v${index}` })) })
    await producer.disconnect()
    expect(await admin.fetchTopicOffsets('admin-b')).toEqual([{ partition: 0, offset: '10', high: '10', low: '0' }])
    await admin.deleteTopicRecords({ topic: 'admin-b', partitions: [{ partition: 0, offset: '4' }] })
    expect(await admin.fetchTopicOffsets('admin-b')).toEqual([{ partition: 0, offset: '10', high: '10', low: '4' }])

    const groupId = 'admin-group'
    await admin.setOffsets({ groupId, topic: 'admin-b', partitions: [{ partition: 0, offset: '7' }] })
    expect((await admin.fetchOffsets({ groupId, topics: ['admin-b'] }))[0]!.partitions).toEqual([{ partition: 0, offset: '7', metadata: null }])
    await admin.resetOffsets({ groupId, topic: 'admin-b', earliest: true })
    // kafkajs commits the sentinel -2 (earliest) itself, and Kafka stores commits verbatim.
    expect((await admin.fetchOffsets({ groupId, topics: ['admin-b'] }))[0]!.partitions[0]!.offset).toBe('-2')
    const groups = await admin.listGroups()
    expect(groups.groups).toEqual(expect.arrayContaining([expect.objectContaining({ groupId })]))
    const describedGroup = await admin.describeGroups([groupId, 'no-such-group'])
    expect(describedGroup.groups.map((group) => [group.groupId, group.state])).toEqual([[groupId, 'Empty'], ['no-such-group', 'Dead']])
    await admin.deleteGroups([groupId])
    expect((await admin.listGroups()).groups.map((group) => group.groupId)).not.toContain(groupId)

    await admin.deleteTopics({ topics: ['admin-a', 'admin-b'] })
    expect(await admin.listTopics()).not.toContain('admin-a')
    await expect(admin.deleteTopics({ topics: ['admin-a'], timeout: 1000 })).rejects.toThrow()
    await admin.disconnect()
  })

  test('an idempotent producer gets a producer id and its records are stored once, in order', async () => {
    const topic = 'idempotent'
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner })
    await producer.connect()
    const values: string[] = []
    for (let round = 0; round < 20; round++) {
      const messages = Array.from({ length: 25 }, (_, index) => ({ value: `idem-${round}-${index}` }))
      values.push(...messages.map((message) => message.value))
      const result = await producer.send({ topic, acks: -1, messages })
      expect(result[0]!.baseOffset).toBe(String(round * 25))
    }
    await producer.disconnect()
    const { batchesIn } = await import('../../src/io/record-batch-view.js')
    const stored: string[] = []
    const producerIds = new Set<bigint | number>()
    let offset = 0
    // Bounded: every read returns at least one batch below the high watermark.
    while (offset < harness.engine.partitionLog(topic, 0).highWatermark) {
      const { records } = await harness.engine.read(topic, 0, offset, 1024 * 1024)
      for (const batch of batchesIn(records)) {
        producerIds.add(batch.producerId)
        for (const record of batch) stored.push(Buffer.from(record.value!).toString())
        offset = batch.nextOffset
      }
    }
    expect(stored).toEqual(values)
    expect(producerIds.size).toBe(1)
    expect(Number([...producerIds][0])).toBeGreaterThanOrEqual(0)
  })

  test('a LogAppendTime topic answers the produce with the append time, and consumers read records stamped with it', async () => {
    const topic = 'log-append-time'
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }] }] })
    await admin.disconnect()
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
    await producer.connect()
    const before = Date.now()
    const [metadata] = await producer.send({ topic, acks: -1, compression: CompressionTypes.GZIP, messages: [{ value: 'a', timestamp: '1000' }, { value: 'b', timestamp: '2000' }] })
    await producer.disconnect()
    const appendTime = Number(metadata!.logAppendTime)
    expect(appendTime).toBeGreaterThanOrEqual(before)
    expect(appendTime).toBeLessThanOrEqual(Date.now())

    const timestamps: string[] = []
    const consumer = kafka.consumer({ groupId: 'log-append-time-group', maxWaitTimeInMs: 100 })
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({ eachMessage: async ({ message }) => { timestamps.push(message.timestamp) } })
    await waitFor(() => timestamps.length === 2, 10_000, 'both records')
    await consumer.disconnect()
    expect(timestamps).toEqual([String(appendTime), String(appendTime)])
  })

  test('a topic with compression.type=gzip stores uncompressed produce requests gzipped; kafkajs reads them back', async () => {
    const topic = 'topic-gzip'
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'compression.type', value: 'gzip' }] }] })
    await admin.disconnect()
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
    await producer.connect()
    const values = Array.from({ length: 30 }, (_, index) => `gzip-${index}-${'y'.repeat(index * 10)}`)
    for (let round = 0; round < 3; round++) {
      await producer.send({ topic, acks: -1, compression: CompressionTypes.None, messages: values.slice(round * 10, round * 10 + 10).map((value) => ({ value })) })
    }
    await producer.disconnect()
    const { batchesIn } = await import('../../src/io/record-batch-view.js')
    const { records } = await harness.engine.read(topic, 0, 0, 1024 * 1024)
    expect([...batchesIn(records)].map((batch) => batch.compression)).toEqual(['gzip', 'gzip', 'gzip'])

    const received: Received[] = []
    const consumer = kafka.consumer({ groupId: 'topic-gzip-group', maxWaitTimeInMs: 100 })
    await consume(consumer, topic, received)
    await waitFor(() => received.length === values.length, 10_000, 'every record')
    await consumer.disconnect()
    expect(received.map((message) => message.value)).toEqual(values)
  })
})
