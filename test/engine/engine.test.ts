import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { Engine } from '../../src/engine/engine.js'
import { encodeRecordBatch } from '../../src/io/record-batch-encoder.js'
import { batchesIn } from '../../src/io/record-batch-view.js'

let dataDir: string

beforeEach(async () => { dataDir = await mkdtemp(join(tmpdir(), 'sluice-engine-')) })
afterEach(async () => { await rm(dataDir, { recursive: true, force: true }) })

function batchOf (values: string[]): Buffer {
  return encodeRecordBatch({ records: values.map((value) => ({ key: null, value })) })
}

function valuesOf (bytes: Uint8Array): string[] {
  const values: string[] = []
  for (const batch of batchesIn(bytes)) for (const record of batch) values.push(Buffer.from(record.value!).toString())
  return values
}

describe('Engine', () => {
  test('appends and reads back through one path, across close and reopen', async () => {
    let engine = await Engine.open({ dataDir })
    await engine.createTopic('orders', { partitions: 3 })
    const first = await engine.append('orders', 1, batchOf(['a', 'b']))
    const second = await engine.append('orders', 1, batchOf(['c']))
    expect([first.baseOffset, first.lastOffset, second.baseOffset]).toEqual([0, 1, 2])
    await engine.close()

    engine = await Engine.open({ dataDir })
    expect(engine.topics.describe('orders').partitionCount).toBe(3)
    const { records, highWatermark } = await engine.read('orders', 1, 0)
    expect(highWatermark).toBe(3)
    expect(valuesOf(records)).toEqual(['a', 'b', 'c'])
    await engine.close()
  })

  test('unknown topics fail with UNKNOWN_TOPIC_OR_PARTITION unless auto-creation is on', async () => {
    const engine = await Engine.open({ dataDir, autoCreateTopics: false })
    await expect(engine.topic('missing')).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC_OR_PARTITION', kafkaCode: 3 })
    expect(() => engine.partitionLog('missing', 0)).toThrow(expect.objectContaining({ code: 'UNKNOWN_TOPIC_OR_PARTITION' }))
    await engine.close()

    const autoEngine = await Engine.open({ dataDir, numPartitions: 4 })
    expect((await autoEngine.topic('fresh')).partitionCount).toBe(4)
    await expect(autoEngine.append('fresh', 4, batchOf(['x']))).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC_OR_PARTITION' })
    await autoEngine.close()
  })

  test('a waiting reader wakes as soon as an append is acknowledged', async () => {
    const engine = await Engine.open({ dataDir })
    await engine.createTopic('events')
    const started = performance.now()
    const waiting = engine.waitForData([{ topic: 'events', partition: 0, offset: 0 }], 10_000)
    setTimeout(() => { void engine.append('events', 0, batchOf(['wake'])) }, 20)
    await waiting
    const waited = performance.now() - started
    expect(waited).toBeLessThan(5_000)
    expect(engine.partitionLog('events', 0).highWatermark).toBe(1)
    await engine.close()
  })

  test('waitForData returns after maxWaitMs when nothing arrives', async () => {
    const engine = await Engine.open({ dataDir })
    await engine.createTopic('quiet')
    const started = performance.now()
    await engine.waitForData([{ topic: 'quiet', partition: 0, offset: 0 }], 50)
    expect(performance.now() - started).toBeGreaterThanOrEqual(45)
    await engine.close()
  })

  test('committed offsets persist in __consumer_offsets across reopen', async () => {
    let engine = await Engine.open({ dataDir, offsetsTopicPartitions: 3 })
    await engine.createTopic('t', { partitions: 2 })
    await engine.groups.commitOffsets({
      groupId: 'g1',
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      offsets: [{ topic: 't', partition: 0, offset: 42, leaderEpoch: -1, metadata: 'm' }, { topic: 't', partition: 1, offset: 7, leaderEpoch: -1, metadata: null }]
    })
    expect(engine.topics.has('__consumer_offsets')).toBe(true)
    await engine.close()

    engine = await Engine.open({ dataDir, offsetsTopicPartitions: 3 })
    const fetched = engine.groups.fetchOffsets('g1', null)
    const offsets = fetched.flatMap((topic) => topic.partitions.map((partition) => [topic.topic, partition.partition, partition.offset]))
    expect(offsets.sort()).toEqual([['t', 0, 42], ['t', 1, 7]])
    await engine.close()
  })

  test('list offsets by earliest, latest and timestamp; delete records raises the start', async () => {
    const engine = await Engine.open({ dataDir })
    await engine.createTopic('ts')
    for (let index = 0; index < 5; index++) {
      await engine.append('ts', 0, encodeRecordBatch({ records: [{ value: `v${index}`, timestamp: 1_000 + index * 100 }] }))
    }
    expect(await engine.listOffset('ts', 0, -2)).toMatchObject({ offset: 0 })
    expect(await engine.listOffset('ts', 0, -1)).toMatchObject({ offset: 5 })
    expect(await engine.listOffset('ts', 0, 1_250)).toMatchObject({ offset: 3, timestamp: 1_300 })
    expect(await engine.listOffset('ts', 0, 9_999)).toMatchObject({ offset: -1 })
    expect(await engine.listOffset('ts', 0, -3)).toMatchObject({ offset: 4, timestamp: 1_400 })
    expect(await engine.deleteRecords('ts', 0, 2)).toBe(2)
    expect(await engine.listOffset('ts', 0, -2)).toMatchObject({ offset: 2 })
    await expect(engine.read('ts', 0, 1)).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' })
    await engine.close()
  })

  test('deleting a topic removes it; appends to it then fail', async () => {
    const engine = await Engine.open({ dataDir, autoCreateTopics: false })
    await engine.createTopic('gone', { partitions: 2 })
    await engine.append('gone', 0, batchOf(['x']))
    await engine.deleteTopic('gone')
    expect(engine.topics.has('gone')).toBe(false)
    await expect(engine.append('gone', 0, batchOf(['y']))).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC_OR_PARTITION' })
    await engine.close()
  })
})

describe('Engine data directory lock', () => {
  test('a second engine on the same directory fails with SLUICE_LOCKED until the first closes', async () => {
    const first = await Engine.open({ dataDir })
    await expect(Engine.open({ dataDir })).rejects.toMatchObject({ code: 'SLUICE_LOCKED' })
    await first.close()
    const second = await Engine.open({ dataDir })
    await second.close()
  })

  test('a stale lock left by a dead process is taken over', async () => {
    const { writeFile } = await import('node:fs/promises')
    const { spawnSync } = await import('node:child_process')
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString()
    await writeFile(join(dataDir, '.lock'), `${dead}\n`)
    const engine = await Engine.open({ dataDir })
    await engine.close()
  })
  test('a lock naming this process\'s pid that this process does not hold (an earlier process with the same pid) is taken over', async () => {
    const { writeFile } = await import('node:fs/promises')
    await writeFile(join(dataDir, '.lock'), `${process.pid} 1\n`)
    const engine = await Engine.open({ dataDir })
    await expect(Engine.open({ dataDir })).rejects.toMatchObject({ code: 'SLUICE_LOCKED' })
    await engine.close()
  })

  test('an empty lock is left to its writer for a grace period, then taken over', async () => {
    const { writeFile } = await import('node:fs/promises')
    await writeFile(join(dataDir, '.lock'), '')
    const started = Date.now()
    const engine = await Engine.open({ dataDir })
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500)
    await engine.close()
  })

  test.runIf(process.platform === 'linux')('a lock held by a zombie (killed, never reaped) is taken over', async () => {
    const { writeFile } = await import('node:fs/promises')
    const { spawn } = await import('node:child_process')
    // The shell starts a short child, then becomes `sleep`, which never reaps it: a zombie.
    const parent = spawn('sh', ['-c', 'sleep 0.05 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] })
    try {
      const zombie = Number((await new Promise<Buffer>((resolve, reject) => {
        parent.stdout.once('data', resolve)
        setTimeout(() => { reject(new Error('the shell printed no pid')) }, 10_000).unref()
      })).toString().trim())
      const { readFile } = await import('node:fs/promises')
      const deadline = Date.now() + 5_000
      // Bounded by the deadline: wait until the child exited and sits unreaped.
      while (!(await readFile(`/proc/${zombie}/stat`, 'utf8')).includes(') Z ') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
      expect(() => process.kill(zombie, 0)).not.toThrow()
      await writeFile(join(dataDir, '.lock'), `${zombie}\n`)
      const engine = await Engine.open({ dataDir })
      await engine.close()
    } finally {
      parent.kill('SIGKILL')
    }
  })

  test.runIf(process.platform === 'linux')('a lock naming a live pid with another start time (a reused pid) is taken over; a matching one is not', async () => {
    const { readFile, writeFile } = await import('node:fs/promises')
    const { spawn } = await import('node:child_process')
    const other = spawn('sleep', ['30'], { stdio: 'ignore' })
    try {
      await new Promise((resolve) => other.once('spawn', resolve))
      const stat = await readFile(`/proc/${other.pid}/stat`, 'utf8')
      const startTicks = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
      await writeFile(join(dataDir, '.lock'), `${other.pid} ${startTicks}\n`)
      await expect(Engine.open({ dataDir })).rejects.toMatchObject({ code: 'SLUICE_LOCKED' })
      await writeFile(join(dataDir, '.lock'), `${other.pid} ${Number(startTicks) + 1}\n`)
      const engine = await Engine.open({ dataDir })
      expect((await readFile(join(dataDir, '.lock'), 'utf8')).split(' ')[0]).toBe(String(process.pid))
      await engine.close()
    } finally {
      other.kill('SIGKILL')
    }
  })
})

describe('Engine log cleaner', () => {
  test('a compacted topic keeps the newest record per key once the cleaner ran', async () => {
    const engine = await Engine.open({ dataDir })
    await engine.createTopic('profiles', { configs: { 'cleanup.policy': 'compact', 'segment.bytes': '1024', 'min.cleanable.dirty.ratio': '0.01' } })
    for (let round = 0; round < 20; round++) {
      await engine.append('profiles', 0, encodeRecordBatch({ records: ['a', 'b', 'c'].map((key) => ({ key, value: `${key}${round}` })) }))
    }
    await engine.runCompaction()
    const latest = new Map<string, string>()
    let count = 0
    let offset = 0
    const end = engine.partitionLog('profiles', 0).highWatermark
    while (offset < end) {
      // A read stays within one segment: step through them.
      const { records } = await engine.read('profiles', 0, offset)
      for (const batch of batchesIn(records)) {
        for (const record of batch) {
          count++
          latest.set(Buffer.from(record.key!).toString(), Buffer.from(record.value!).toString())
        }
        offset = batch.nextOffset
      }
    }
    expect(Object.fromEntries(latest)).toEqual({ a: 'a19', b: 'b19', c: 'c19' })
    expect(count).toBeLessThan(60)
    await engine.close()
  })
})

describe('Engine flush interval', () => {
  test("under 'interval', topics without flush.ms are fsynced within flushIntervalMs", async () => {
    const engine = await Engine.open({ dataDir, flush: 'interval', flushIntervalMs: 50 })
    await engine.createTopic('durable')
    await engine.append('durable', 0, batchOf(['x']))
    const log = engine.partitionLog('durable', 0)
    expect(log.hasUnflushedData).toBe(true)
    const deadline = Date.now() + 5_000
    while (log.hasUnflushedData && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
    expect(log.hasUnflushedData).toBe(false)
    expect(log.recoveryPoint).toBe(1)
    await engine.close()
  })
})

describe('Engine topic config changes', () => {
  test('altering max.message.bytes applies to the open logs at once', async () => {
    const engine = await Engine.open({ dataDir })
    await engine.createTopic('limits')
    const big = batchOf(['x'.repeat(2000)])
    await engine.append('limits', 0, big)
    await engine.topics.alterConfigs('limits', [['max.message.bytes', '1000']])
    await expect(engine.append('limits', 0, big)).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE' })
    await engine.append('limits', 0, batchOf(['small']))
    expect(engine.partitionLog('limits', 0).highWatermark).toBe(2)
    await engine.close()
  })
})
