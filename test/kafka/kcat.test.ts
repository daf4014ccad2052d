/**
 * librdkafka (kcat) against the broker: metadata listing, producing with keys, consuming from
 * the beginning, and consuming as a group member. Outputs are compared exactly.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { runToExit, type ProcessRun } from '../support/run-process.js'
import { openBroker, type BrokerHarness } from './broker-harness.js'

let harness: BrokerHarness

beforeAll(async () => { harness = await openBroker({ engine: { numPartitions: 1 } }) })
afterAll(async () => { await harness?.close() })

/** Runs kcat against the broker with `args`, feeding `input`. */
async function kcat (args: string[], input = '', timeoutMs = 20_000): Promise<ProcessRun> {
  return await runToExit('kcat', ['-b', harness.address, ...args], { input, timeoutMs })
}

describe('kcat against the broker', () => {
  test('lists metadata (-L) for a topic', async () => {
    await harness.engine.createTopic('listed', { partitions: 3 })
    const run = await kcat(['-L', '-t', 'listed'])
    expect(run.code).toBe(0)
    expect(run.stdout).toBe([
      `Metadata for listed (from broker 0: 127.0.0.1:${harness.broker.port}/0):`,
      ' 1 brokers:',
      `  broker 0 at 127.0.0.1:${harness.broker.port} (controller)`,
      ' 1 topics:',
      '  topic "listed" with 3 partitions:',
      '    partition 0, leader 0, replicas: 0, isrs: 0',
      '    partition 1, leader 0, replicas: 0, isrs: 0',
      '    partition 2, leader 0, replicas: 0, isrs: 0',
      ''
    ].join('\n'))
  })

  test('produces keyed lines (-P -K:) and consumes them from the beginning (-C -o beginning -e)', async () => {
    const lines = Array.from({ length: 200 }, (_, index) => `key-${index % 5}:value ${index} ${'z'.repeat(index % 40)}`)
    const produced = await kcat(['-P', '-t', 'keyed', '-K:', '-z', 'lz4'], lines.join('\n') + '\n')
    expect(produced.code).toBe(0)
    const consumed = await kcat(['-C', '-t', 'keyed', '-o', 'beginning', '-e', '-q', '-f', '%k|%s|%p|%o\n'])
    expect(consumed.code).toBe(0)
    expect(consumed.stdout).toBe(lines.map((line, index) => {
      const [key, value] = line.split(':')
      return `${key}|${value}|0|${index}\n`
    }).join(''))
  })

  test('produces with every codec and with idempotence; every line comes back in order', async () => {
    const expected: string[] = []
    for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
      const lines = Array.from({ length: 40 }, (_, index) => `${codec} line ${index} ${'q'.repeat(index)}`)
      expected.push(...lines)
      const produced = await kcat(['-P', '-t', 'codecs', '-z', codec, '-X', 'enable.idempotence=true'], lines.join('\n') + '\n')
      expect(produced.code, produced.stderr).toBe(0)
    }
    const consumed = await kcat(['-C', '-t', 'codecs', '-o', 'beginning', '-e', '-q', '-f', '%s\n'])
    expect(consumed.stdout).toBe(expected.map((line) => `${line}\n`).join(''))
  })

  test('consumes as a group member (-G) and commits its progress', async () => {
    await harness.engine.createTopic('grouped', { partitions: 2 })
    const values = Array.from({ length: 60 }, (_, index) => `g${index}`)
    // -p -1 lets librdkafka's partitioner spread keyless lines; give them keys to reach both partitions.
    const produced = await kcat(['-P', '-t', 'grouped', '-K:'], values.map((value, index) => `k${index}:${value}`).join('\n') + '\n')
    expect(produced.code).toBe(0)
    const consumed = await kcat(['-G', 'kcat-group', '-o', 'beginning', '-e', '-q', '-f', '%p %o %s\n', 'grouped'], '', 30_000)
    expect(consumed.code).toBe(0)
    const rows = consumed.stdout.trim().split('\n').map((row) => row.split(' '))
    expect(rows.map((row) => row[2]).sort()).toEqual([...values].sort())
    const highWatermarks = [0, 1].map((partition) => harness.engine.partitionLog('grouped', partition).highWatermark)
    expect(highWatermarks[0]! + highWatermarks[1]!).toBe(60)
    for (const partition of [0, 1]) {
      const offsets = rows.filter((row) => Number(row[0]) === partition).map((row) => Number(row[1]))
      expect(offsets).toEqual(Array.from({ length: highWatermarks[partition]! }, (_, index) => index))
    }
    const committed = harness.engine.groups.fetchOffsets('kcat-group', [{ topic: 'grouped', partitions: [0, 1] }])
    expect(committed[0]!.partitions.map((partition) => partition.offset)).toEqual(highWatermarks)
  })
})
