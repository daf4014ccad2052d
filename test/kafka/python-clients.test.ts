/**
 * Two more real clients against the broker, each with its own protocol code: kafka-python
 * (pure Python; it probes the broker's version and uses older API versions) and
 * confluent-kafka-python (librdkafka). Debian packages python3-kafka and
 * python3-confluent-kafka, which `.ci/run` installs; the scripts in fixtures/ print JSON that
 * is compared here exactly.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { defaultPartition } from '../../src/io/murmur2.js'
import { runToExit } from '../support/run-process.js'
import { openBroker, type BrokerHarness } from './broker-harness.js'

/** Debian's interpreter, where the packages install (a PATH python3 may be another one). */
const PYTHON = process.env.SLUICE_TEST_PYTHON ?? '/usr/bin/python3'

let harness: BrokerHarness

beforeAll(async () => { harness = await openBroker({ engine: { numPartitions: 1 } }) })
afterAll(async () => { await harness?.close() })

/** Runs a fixture script against the broker and parses the JSON it prints last. */
async function runScript (name: string): Promise<unknown> {
  const { code, stdout, stderr } = await runToExit(PYTHON, [join(import.meta.dirname, 'fixtures', name), harness.address], { timeoutMs: 90_000 })
  if (code !== 0) throw new Error(`${name} exited with ${String(code)}; stderr: ${stderr}`)
  try {
    return JSON.parse(stdout.trim().split('\n').at(-1)!)
  } catch (error) {
    throw new Error(`${name} printed no JSON (${(error as Error).message}): ${stdout}; stderr: ${stderr}`)
  }
}

describe('Python clients against the broker', () => {
  test('kafka-python: keyed gzip produce, group consume and commit, offsets and admin APIs', async () => {
    const out = await runScript('kafka_python_client.py') as Record<string, unknown>
    expect(out.topics).toEqual(['python-orders'])
    // The Java client's partitioner (murmur2 of the key), as kafka-python implements it, and
    // per-partition offsets in send order.
    const next = [0, 0, 0]
    const expectedProduced = Array.from({ length: 3000 }, (_, index) => {
      const partition = defaultPartition(Buffer.from(`key-${index % 10}`), 3)
      return [partition, next[partition]!++]
    })
    expect(out.produced).toEqual(expectedProduced)
    const expectedReceived: Record<string, Array<[number, string, string]>> = {}
    expectedProduced.forEach(([partition, offset], index) => {
      (expectedReceived[String(partition)] ??= []).push([offset!, `key-${index % 10}`, `value-${index}`])
    })
    expect(out.received).toEqual(expectedReceived)
    expect(out.committed).toEqual(next)
    expect(out.endOffsets).toEqual(next)
    expect(out.groupOffsets).toEqual(next)
    expect(out.beginningOffsets).toEqual([0, 0, 0])
    expect(out.offsetsForTimes).toEqual([0, 0, 0])
    expect(out.groups).toEqual([['python-group', 'consumer']])
    expect(out.group).toEqual(['python-group', 'Empty', 'consumer'])
    expect(out.topicsAfterDelete).toEqual([])
  })

  test('confluent-kafka-python: idempotent lz4 producer into a zstd topic, cooperative-sticky group, sync commit', async () => {
    const out = await runScript('confluent_kafka_client.py') as Record<string, unknown>
    expect(out).toMatchObject({ unflushed: 0, errors: [], delivered: 20_000, deliveredDistinct: 20_000, consumed: 20_000, consumedDistinct: 20_000 })
    expect(out.consumeErrors).toBeUndefined()
    const high = out.highWatermarks as number[]
    expect(high.reduce((sum, value) => sum + value, 0)).toBe(20_000)
    expect(out.committed).toEqual(high)
    // Stored as the topic's compression.type says, whatever the producer sent.
    const { batchesIn } = await import('../../src/io/record-batch-view.js')
    const codecs = new Set<string>()
    for (let partition = 0; partition < 4; partition++) {
      const { records } = await harness.engine.read('librdkafka-events', partition, 0, 64 * 1024 * 1024)
      for (const batch of batchesIn(records)) codecs.add(batch.compression)
    }
    expect([...codecs]).toEqual(['zstd'])
  })
})
