/**
 * A full disk under the broker, seen by a real client: while writes fail with ENOSPC, kafkajs
 * gets KAFKA_STORAGE_ERROR (retriable in Kafka's table, so it retries and then reports it),
 * fetches keep serving what is stored, and once space returns the same producer goes on; every
 * acknowledged record is stored exactly once, nothing half-written is visible, and it all
 * survives a crash of the machine (everything not covered by an fdatasync lost).
 */
import kafkajs from 'kafkajs'
import { expect, test } from 'vitest'
import { Engine } from '../../src/engine/engine.js'
import { FaultyFileSystem } from '../support/faulty-fs.js'
import { storedBatchViews } from '../support/stored-batches.js'
import { openBroker } from './broker-harness.js'

const { KafkaJSProtocolError } = kafkajs

async function storedValues (engine: Engine, topic: string): Promise<string[]> {
  return (await storedBatchViews(engine, topic)).flatMap((batch) => [...batch].map((record) => Buffer.from(record.value!).toString()))
}

test('ENOSPC under the broker: kafkajs gets KAFKA_STORAGE_ERROR, reads go on, writes resume when space returns', async () => {
  const disk = new FaultyFileSystem()
  const harness = await openBroker({ dataDir: '/data', engine: { fs: disk.process(), flush: 'always', offsetsTopicPartitions: 1 } })
  try {
    await harness.engine.createTopic('full', { partitions: 1 })
    const kafka = harness.kafka({ retry: { retries: 2, initialRetryTime: 20, maxRetryTime: 50 } })
    const producer = kafka.producer({ allowAutoTopicCreation: false })
    await producer.connect()
    const acknowledged: string[] = []
    const send = async (values: string[]): Promise<unknown> => {
      try {
        await producer.send({ topic: 'full', acks: -1, messages: values.map((value) => ({ value })) })
        acknowledged.push(...values)
        return undefined
      } catch (error) {
        return error
      }
    }
    expect(await send(['a0', 'a1', 'a2'])).toBeUndefined()

    disk.failOn('write', 'ENOSPC', { path: /\.log$/ })
    const failure = await send(['b0', 'b1'])
    // kafkajs wraps the last protocol error of its retries.
    const cause = (failure as { cause?: unknown }).cause ?? failure
    expect(cause).toBeInstanceOf(KafkaJSProtocolError)
    expect((cause as InstanceType<typeof KafkaJSProtocolError>).type).toBe('KAFKA_STORAGE_ERROR')

    // Reads keep working while the disk is full.
    const admin = kafka.admin()
    await admin.connect()
    expect(await admin.fetchTopicOffsets('full')).toEqual([expect.objectContaining({ partition: 0, high: '3', low: '0' })])
    await admin.disconnect()
    expect(await storedValues(harness.engine, 'full')).toEqual(['a0', 'a1', 'a2'])

    disk.clearFaults()
    expect(await send(['c0', 'c1'])).toBeUndefined()
    await producer.disconnect()
    expect(await storedValues(harness.engine, 'full')).toEqual(acknowledged)
    expect(acknowledged).toEqual(['a0', 'a1', 'a2', 'c0', 'c1'])
    // flush 'always': every acknowledged record survives losing all that no fdatasync covered,
    // with no clean shutdown (the broker is closed only after the crash).
    disk.crash()
  } finally {
    await harness.close().catch(() => {})
  }
  const reopened = await Engine.open({ dataDir: '/data', fs: disk.process(), flush: 'always', offsetsTopicPartitions: 1 })
  try {
    expect(await storedValues(reopened, 'full')).toEqual(['a0', 'a1', 'a2', 'c0', 'c1'])
  } finally {
    await reopened.close()
  }
})
