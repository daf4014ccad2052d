/**
 * Protocol semantics of the broker on raw sockets, where clients hide them: responses in
 * request order around a long-poll Fetch, acks=0 without a response, Fetch's min_bytes /
 * max_wait_ms / max_bytes / offsets out of range / isolation levels / sessions, Metadata v12
 * topic ids, Produce's one-batch rule and transactional rejection, graceful shutdown.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { encodeRecordBatch } from '../../src/io/record-batch-encoder.js'
import { batchesIn } from '../../src/io/record-batch-view.js'
import { fetchApi, initProducerIdApi, metadataApi, produceApi } from '../../src/kafka/apis/index.js'
import { decodeResponse, encodeRequest } from '../../src/kafka/protocol/frame.js'
import { RawClient, openBroker, type BrokerHarness } from './broker-harness.js'

let harness: BrokerHarness
let correlation = 100

beforeAll(async () => {
  harness = await openBroker()
  await harness.engine.createTopic('semantics', { partitions: 2 })
})
afterAll(async () => { await harness?.close() })

function batch (values: string[], options: { isTransactional?: boolean, producerId?: number } = {}): Buffer {
  return encodeRecordBatch({ ...options, records: values.map((value) => ({ value: Buffer.from(value) })) })
}

function produceRequest (topic: string, partition: number, records: Buffer, acks = 1, transactionalId: string | null = null): { frame: Buffer[], correlationId: number } {
  const correlationId = correlation++
  return { correlationId, frame: encodeRequest(produceApi, { apiVersion: 9, correlationId, clientId: 't', body: { transactionalId, acks, timeoutMs: 1000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] } }) }
}

function fetchRequest (partitions: Array<{ topic: string, partition: number, offset: number, partitionMaxBytes?: number }>, options: { maxWaitMs?: number, minBytes?: number, maxBytes?: number, isolationLevel?: number, sessionId?: number, apiVersion?: number } = {}): { frame: Buffer[], correlationId: number, apiVersion: number } {
  const correlationId = correlation++
  const apiVersion = options.apiVersion ?? 12
  const byTopic = new Map<string, Array<{ partition: number, fetchOffset: number, partitionMaxBytes: number }>>()
  for (const entry of partitions) byTopic.set(entry.topic, [...(byTopic.get(entry.topic) ?? []), { partition: entry.partition, fetchOffset: entry.offset, partitionMaxBytes: entry.partitionMaxBytes ?? 1 << 20 }])
  return {
    correlationId,
    apiVersion,
    frame: encodeRequest(fetchApi, {
      apiVersion,
      correlationId,
      clientId: 't',
      body: {
        replicaId: -1, maxWaitMs: options.maxWaitMs ?? 0, minBytes: options.minBytes ?? 1, maxBytes: options.maxBytes ?? 1 << 20,
        isolationLevel: options.isolationLevel ?? 0, sessionId: options.sessionId ?? 0, sessionEpoch: -1,
        topics: [...byTopic].map(([topic, entries]) => ({ topic, partitions: entries }))
      }
    })
  }
}

function values (records: Buffer | null): string[] {
  const out: string[] = []
  if (records === null) return out
  for (const view of batchesIn(records)) for (const record of view) out.push(Buffer.from(record.value!).toString())
  return out
}

describe('broker protocol semantics', () => {
  test('a long-poll Fetch followed by Metadata: responses leave in request order; the Fetch wakes on produce', async () => {
    const client = await RawClient.open(harness.broker.port)
    const fetch = fetchRequest([{ topic: 'semantics', partition: 0, offset: 0 }], { maxWaitMs: 10_000 })
    client.send(fetch.frame)
    client.send(encodeRequest(metadataApi, { apiVersion: 12, correlationId: 999, clientId: 't', body: { topics: [{ name: 'semantics' }], allowAutoTopicCreation: false } }))
    expect(await client.until(1, 200)).toBe('timeout')
    const started = Date.now()
    const producer = await RawClient.open(harness.broker.port)
    const produce = produceRequest('semantics', 0, batch(['woken']))
    producer.send(produce.frame)
    expect(await client.until(2, 5000)).toBe('frame')
    expect(Date.now() - started).toBeLessThan(2000)
    const fetched = decodeResponse(fetchApi, 12, client.frames[0]!)
    expect(fetched.correlationId).toBe(fetch.correlationId)
    expect(values(fetched.body.responses[0]!.partitions[0]!.records)).toEqual(['woken'])
    const metadata = decodeResponse(metadataApi, 12, client.frames[1]!)
    expect(metadata.correlationId).toBe(999)
    const topic = metadata.body.topics[0]!
    expect(topic.name).toBe('semantics')
    expect(topic.topicId).not.toBe('AAAAAAAAAAAAAAAAAAAAAA')
    expect(topic.partitions.map((partition) => [partition.partitionIndex, partition.leaderId, partition.replicaNodes, partition.isrNodes])).toEqual([[0, 0, [0], [0]], [1, 0, [0], [0]]])
    client.destroy()
    producer.destroy()
  })

  test('Produce with acks=0 gets no response; the next request is answered in order', async () => {
    const client = await RawClient.open(harness.broker.port)
    const silent = produceRequest('semantics', 1, batch(['quiet-1', 'quiet-2']), 0)
    const loud = produceRequest('semantics', 1, batch(['loud']), 1)
    client.send(silent.frame)
    client.send(loud.frame)
    expect(await client.until(1, 5000)).toBe('frame')
    const response = decodeResponse(produceApi, 9, client.frames[0]!)
    expect(response.correlationId).toBe(loud.correlationId)
    expect(response.body.responses[0]!.partitionResponses[0]).toMatchObject({ errorCode: 0, baseOffset: 2, logAppendTimeMs: -1, logStartOffset: 0 })
    expect(await client.until(2, 200)).toBe('timeout')
    // A failed acks=0 request cannot be answered: the connection is closed instead.
    client.send(produceRequest('no-such-topic', 0, batch(['lost']), 0).frame)
    expect(await client.until(2, 5000)).toBe('closed')
    client.destroy()
  })

  test('Fetch honours min_bytes until max_wait_ms, max_bytes after the first batch, and offsets out of range', async () => {
    await harness.engine.createTopic('fetch-limits', { partitions: 2 })
    for (const partition of [0, 1]) {
      for (let index = 0; index < 3; index++) await harness.engine.append('fetch-limits', partition, batch([`p${partition}-b${index}-${'x'.repeat(500)}`]))
    }
    const client = await RawClient.open(harness.broker.port)
    // min_bytes far above what exists: the answer comes after max_wait_ms, with the data there is.
    const started = Date.now()
    const waiting = fetchRequest([{ topic: 'fetch-limits', partition: 0, offset: 0 }], { maxWaitMs: 300, minBytes: 1 << 20 })
    client.send(waiting.frame)
    expect(await client.until(1, 5000)).toBe('frame')
    expect(Date.now() - started).toBeGreaterThanOrEqual(280)
    expect(values(decodeResponse(fetchApi, 12, client.frames[0]!).body.responses[0]!.partitions[0]!.records)).toHaveLength(3)

    // max_bytes of 1: the first batch of the first partition still comes, nothing else.
    const tiny = fetchRequest([{ topic: 'fetch-limits', partition: 0, offset: 0 }, { topic: 'fetch-limits', partition: 1, offset: 0 }], { maxBytes: 1 })
    client.send(tiny.frame)
    expect(await client.until(2, 5000)).toBe('frame')
    const partitions = decodeResponse(fetchApi, 12, client.frames[1]!).body.responses[0]!.partitions
    expect(values(partitions[0]!.records)).toEqual([expect.stringMatching(/^p0-b0-/)])
    expect(values(partitions[1]!.records)).toEqual([])
    expect(partitions[1]!.highWatermark).toBe(3)

    const outOfRange = fetchRequest([{ topic: 'fetch-limits', partition: 0, offset: 50 }, { topic: 'nope', partition: 0, offset: 0 }], { maxWaitMs: 5000 })
    client.send(outOfRange.frame)
    expect(await client.until(3, 2000)).toBe('frame')
    const errors = decodeResponse(fetchApi, 12, client.frames[2]!).body.responses.map((topic) => topic.partitions[0]!.errorCode)
    expect(errors).toEqual([1, 3])
    client.destroy()
  })

  test('isolation levels and sessions: LSO = HW, aborted transactions [] or null, no fetch sessions', async () => {
    const client = await RawClient.open(harness.broker.port)
    client.send(fetchRequest([{ topic: 'semantics', partition: 1, offset: 0 }], { isolationLevel: 1 }).frame)
    client.send(fetchRequest([{ topic: 'semantics', partition: 1, offset: 0 }], { isolationLevel: 0, apiVersion: 11 }).frame)
    client.send(fetchRequest([{ topic: 'semantics', partition: 1, offset: 0 }], { sessionId: 12345 }).frame)
    expect(await client.until(3, 5000)).toBe('frame')
    const committed = decodeResponse(fetchApi, 12, client.frames[0]!).body
    const uncommitted = decodeResponse(fetchApi, 11, client.frames[1]!).body
    expect(committed.sessionId).toBe(0)
    expect(committed.responses[0]!.partitions[0]).toMatchObject({ highWatermark: 3, lastStableOffset: 3, abortedTransactions: [], preferredReadReplica: -1 })
    expect(uncommitted.responses[0]!.partitions[0]).toMatchObject({ highWatermark: 3, lastStableOffset: 3, abortedTransactions: null })
    expect(decodeResponse(fetchApi, 12, client.frames[2]!).body.errorCode).toBe(70)
    client.destroy()
  })

  test('Produce: one batch per partition, unknown partitions, transactional requests rejected', async () => {
    await harness.engine.createTopic('two-replicas', { partitions: 1, configs: { 'min.insync.replicas': '2' } })
    // A first commit makes the engine create __consumer_offsets.
    await harness.engine.groups.commitOffsets({ groupId: 'creates-offsets-topic', generationId: -1, memberId: '', groupInstanceId: null, offsets: [{ topic: 'semantics', partition: 0, offset: 0 }] })
    expect(harness.engine.topics.find('__consumer_offsets')?.internal).toBe(true)
    const client = await RawClient.open(harness.broker.port)
    const two = Buffer.concat([batch(['a']), batch(['b'])])
    const cases = [
      produceRequest('semantics', 0, two),
      produceRequest('semantics', 7, batch(['x'])),
      produceRequest('missing-topic', 0, batch(['x'])),
      produceRequest('semantics', 0, batch(['t'], { isTransactional: true, producerId: 5 })),
      produceRequest('semantics', 0, batch(['t']), 1, 'my-transaction'),
      produceRequest('semantics', 0, batch(['t']), 2),
      produceRequest('semantics', 0, batch(['x'.repeat(100)]).subarray(0, 100)),
      produceRequest('two-replicas', 0, batch(['x']), -1),
      produceRequest('__consumer_offsets', 0, batch(['x']))
    ]
    for (const entry of cases) client.send(entry.frame)
    expect(await client.until(cases.length, 5000)).toBe('frame')
    const codes = client.frames.map((payload) => decodeResponse(produceApi, 9, payload).body.responses[0]!.partitionResponses[0]!.errorCode)
    expect(codes).toEqual([87, 3, 3, 53, 53, 21, 2, 19, 17])
    client.send(encodeRequest(initProducerIdApi, { apiVersion: 4, correlationId: 5, clientId: 't', body: { transactionalId: 'tx', transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 } }))
    client.send(encodeRequest(initProducerIdApi, { apiVersion: 4, correlationId: 6, clientId: 't', body: { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 } }))
    expect(await client.until(cases.length + 2, 5000)).toBe('frame')
    expect(decodeResponse(initProducerIdApi, 4, client.frames[cases.length]!).body.errorCode).toBe(53)
    expect(decodeResponse(initProducerIdApi, 4, client.frames[cases.length + 1]!).body).toMatchObject({ errorCode: 0, producerEpoch: 0 })
    client.destroy()
  })
})

describe('connections', () => {
  test('hundreds of pipelined requests are all answered, in request order, while reading pauses and resumes', async () => {
    const client = await RawClient.open(harness.broker.port)
    const count = 600
    const frames: Buffer[] = []
    for (let index = 0; index < count; index++) {
      frames.push(...(index % 3 === 0
        ? fetchRequest([{ topic: 'semantics', partition: 1, offset: 0 }]).frame
        : encodeRequest(metadataApi, { apiVersion: 12, correlationId: 50_000 + index, clientId: 't', body: { topics: [{ name: 'semantics' }], allowAutoTopicCreation: false } })))
    }
    // One write of every frame: far more than the per-connection queue, so reading must pause.
    client.send(Buffer.concat(frames))
    expect(await client.until(count, 20_000)).toBe('frame')
    const ids = client.frames.map((payload) => payload.readInt32BE(0))
    const metadataIds = ids.filter((id) => id >= 50_000)
    expect(metadataIds).toEqual([...metadataIds].sort((a, b) => a - b))
    const fetchIds = ids.filter((id) => id < 50_000)
    expect(fetchIds).toEqual([...fetchIds].sort((a, b) => a - b))
    expect(ids.map((id) => id >= 50_000)).toEqual(Array.from({ length: count }, (_, index) => index % 3 !== 0))
    client.destroy()
  })

  test('pipelined Produce requests reach the log in request order; a Fetch after them sees them all', async () => {
    await harness.engine.createTopic('pipelined', { partitions: 2 })
    const client = await RawClient.open(harness.broker.port)
    const count = 300
    const frames: Buffer[] = []
    const ids: number[] = []
    for (let index = 0; index < count; index++) {
      const request = produceRequest('pipelined', index % 2, batch([`p${index}`]), -1)
      ids.push(request.correlationId)
      frames.push(...request.frame)
    }
    const fetch = fetchRequest([{ topic: 'pipelined', partition: 0, offset: 0 }, { topic: 'pipelined', partition: 1, offset: 0 }])
    frames.push(...fetch.frame)
    client.send(Buffer.concat(frames))
    expect(await client.until(count + 1, 20_000)).toBe('frame')
    const responses = client.frames.slice(0, count).map((payload) => decodeResponse(produceApi, 9, payload))
    expect(responses.map((response) => response.correlationId)).toEqual(ids)
    expect(responses.map((response) => response.body.responses[0]!.partitionResponses[0]!.baseOffset)).toEqual(Array.from({ length: count }, (_, index) => Math.floor(index / 2)))
    const fetched = decodeResponse(fetchApi, 12, client.frames[count]!)
    expect(fetched.correlationId).toBe(fetch.correlationId)
    const partitions = fetched.body.responses[0]!.partitions
    for (const partition of [0, 1]) {
      // The Fetch started after every Produce completed: it sees all of them (high watermark),
      // and what it returns (one read's worth) is the log's order, which is the request order.
      expect(partitions[partition]!.highWatermark).toBe(count / 2)
      const got = values(partitions[partition]!.records)
      expect(got.length).toBeGreaterThan(0)
      expect(got).toEqual(Array.from({ length: got.length }, (_, index) => `p${index * 2 + partition}`))
    }
    client.destroy()
  })

  test('a thousand idle connections stay open while a producer and a consumer work', async () => {
    const idle: RawClient[] = []
    for (let index = 0; index < 1000; index++) idle.push(await RawClient.open(harness.broker.port))
    expect(harness.broker.connectionCount).toBeGreaterThanOrEqual(1000)
    const producer = await RawClient.open(harness.broker.port)
    for (let index = 0; index < 50; index++) producer.send(produceRequest('semantics', 0, batch([`busy-${index}`])).frame)
    expect(await producer.until(50, 10_000)).toBe('frame')
    expect(producer.frames.map((payload) => decodeResponse(produceApi, 9, payload).body.responses[0]!.partitionResponses[0]!.errorCode)).toEqual(Array(50).fill(0))
    expect(idle.every((client) => !client.closed)).toBe(true)
    for (const client of idle) client.destroy()
    producer.destroy()
  })

  test('a connection idle for longer than idleTimeoutMs is closed', async () => {
    const local = await openBroker({ broker: { idleTimeoutMs: 200 } })
    const client = await RawClient.open(local.broker.port)
    const started = Date.now()
    expect(await client.until(1, 5000)).toBe('closed')
    expect(Date.now() - started).toBeGreaterThanOrEqual(150)
    // A frame that announces many bytes and stalls is idle too.
    const stalled = await RawClient.open(local.broker.port)
    const announce = Buffer.alloc(14)
    announce.writeInt32BE(50 * 1024 * 1024)
    stalled.send(announce)
    expect(await stalled.until(1, 5000)).toBe('closed')
    await local.close()
  })
})

describe('graceful shutdown', () => {
  test('in-flight requests finish, responses are flushed, the engine then closes cleanly', async () => {
    const local = await openBroker()
    await local.engine.createTopic('shutdown', { partitions: 1 })
    const client = await RawClient.open(local.broker.port)
    const poll = fetchRequest([{ topic: 'shutdown', partition: 0, offset: 0 }], { maxWaitMs: 30_000 })
    const produce = produceRequest('shutdown', 0, batch(['last words']), -1)
    client.send(poll.frame)
    client.send(produce.frame)
    expect(await client.until(1, 200)).toBe('timeout')
    const started = Date.now()
    await local.broker.close()
    expect(Date.now() - started).toBeLessThan(5000)
    expect(await client.until(2, 5000)).toBe('frame')
    expect(decodeResponse(fetchApi, 12, client.frames[0]!).correlationId).toBe(poll.correlationId)
    const produced = decodeResponse(produceApi, 9, client.frames[1]!)
    expect(produced.body.responses[0]!.partitionResponses[0]).toMatchObject({ errorCode: 0, baseOffset: 0 })
    expect(await client.until(3, 5000)).toBe('closed')
    // No new connections once closed.
    await expect(RawClient.open(local.broker.port)).rejects.toThrow()
    await local.engine.close()
    const { Engine } = await import('../../src/engine/engine.js')
    const reopened = await Engine.open({ dataDir: local.dataDir })
    expect(values(Buffer.from((await reopened.read('shutdown', 0, 0)).records))).toEqual(['last words'])
    await reopened.close()
    const { rm } = await import('node:fs/promises')
    await rm(local.dataDir, { recursive: true, force: true })
  })
})

describe('startBroker options', () => {
  test('rejects unknown and out-of-range options, and a port already in use', async () => {
    const { startBroker } = await import('../../src/kafka/server.js')
    await expect(startBroker({ engine: harness.engine, port: 0, bogus: 1 } as never)).rejects.toMatchObject({ code: 'SLUICE_INVALID_OPTION' })
    await expect(startBroker({ engine: harness.engine, port: 70_000 })).rejects.toMatchObject({ code: 'SLUICE_INVALID_OPTION' })
    await expect(startBroker({ engine: harness.engine, port: 0, maxRequestBytes: 10 })).rejects.toMatchObject({ code: 'SLUICE_INVALID_OPTION' })
    await expect(startBroker({ engine: harness.engine, port: harness.broker.port })).rejects.toMatchObject({ code: 'SLUICE_INVALID_OPTION' })
  })

  test('advertises the configured listener in Metadata', async () => {
    const { startBroker } = await import('../../src/kafka/server.js')
    const broker = await startBroker({ engine: harness.engine, port: 0, advertisedHost: 'sluice.example', advertisedPort: 19092, nodeId: 3, clusterId: 'test-cluster' })
    try {
      const client = await RawClient.open(broker.port)
      client.send(encodeRequest(metadataApi, { apiVersion: 12, correlationId: 1, clientId: 't', body: { topics: [], allowAutoTopicCreation: false } }))
      expect(await client.until(1, 5000)).toBe('frame')
      const body = decodeResponse(metadataApi, 12, client.frames[0]!).body
      expect(body).toMatchObject({ brokers: [{ nodeId: 3, host: 'sluice.example', port: 19092, rack: null }], clusterId: 'test-cluster', controllerId: 3 })
      client.destroy()
    } finally {
      await broker.close()
    }
  })
})

describe('admin and SASL on the wire', () => {
  test('IncrementalAlterConfigs sets, appends to, subtracts from and deletes topic configs', async () => {
    const { incrementalAlterConfigsApi, saslHandshakeApi } = await import('../../src/kafka/apis/index.js')
    await harness.engine.createTopic('incremental', { partitions: 1, configs: { 'retention.ms': '1000' } })
    const client = await RawClient.open(harness.broker.port)
    const alter = (configs: Array<{ name: string, configOperation: number, value: string | null }>, correlationId: number): void => {
      client.send(encodeRequest(incrementalAlterConfigsApi, { apiVersion: 1, correlationId, clientId: 't', body: { resources: [{ resourceType: 2, resourceName: 'incremental', configs }], validateOnly: false } }))
    }
    alter([{ name: 'segment.ms', configOperation: 0, value: '3600000' }, { name: 'cleanup.policy', configOperation: 2, value: 'compact' }, { name: 'retention.ms', configOperation: 1, value: null }], 1)
    expect(await client.until(1, 5000)).toBe('frame')
    expect(decodeResponse(incrementalAlterConfigsApi, 1, client.frames[0]!).body.responses[0]!.errorCode).toBe(0)
    expect(harness.engine.topics.find('incremental')!.overrides).toEqual({ 'segment.ms': '3600000', 'cleanup.policy': 'compact,delete' })
    alter([{ name: 'cleanup.policy', configOperation: 3, value: 'delete' }], 2)
    alter([{ name: 'segment.ms', configOperation: 9, value: '1' }], 3)
    alter([{ name: 'no.such.config', configOperation: 0, value: '1' }], 4)
    expect(await client.until(4, 5000)).toBe('frame')
    const codes = client.frames.slice(1).map((payload) => decodeResponse(incrementalAlterConfigsApi, 1, payload).body.responses[0]!.errorCode)
    expect(codes).toEqual([0, 42, 40])
    expect(harness.engine.topics.find('incremental')!.overrides).toEqual({ 'segment.ms': '3600000', 'cleanup.policy': 'compact' })

    client.send(encodeRequest(saslHandshakeApi, { apiVersion: 1, correlationId: 5, clientId: 't', body: { mechanism: 'PLAIN' } }))
    expect(await client.until(5, 5000)).toBe('frame')
    expect(decodeResponse(saslHandshakeApi, 1, client.frames[4]!).body).toEqual({ errorCode: 33, mechanisms: [] })

    const { deleteRecordsApi } = await import('../../src/kafka/apis/index.js')
    await harness.engine.groups.commitOffsets({ groupId: 'wire-admin', generationId: -1, memberId: '', groupInstanceId: null, offsets: [{ topic: 'incremental', partition: 0, offset: 0 }] })
    client.send(encodeRequest(deleteRecordsApi, { apiVersion: 2, correlationId: 6, clientId: 't', body: { topics: [{ name: '__consumer_offsets', partitions: [{ partitionIndex: 0, offset: -1 }] }, { name: 'incremental', partitions: [{ partitionIndex: 0, offset: -1 }, { partitionIndex: 4, offset: 0 }] }], timeoutMs: 1000 } }))
    expect(await client.until(6, 5000)).toBe('frame')
    const deleted = decodeResponse(deleteRecordsApi, 2, client.frames[5]!).body.topics
    expect(deleted.map((topic) => topic.partitions.map((partition) => [partition.errorCode, partition.lowWatermark]))).toEqual([[[17, -1]], [[0, 0], [3, -1]]])
    client.destroy()
  })
})

describe('committed offsets on the wire', () => {
  test('OffsetCommit v0 and v8 simple commits; OffsetFetch v1 and v8 (several groups, all topics)', async () => {
    const { offsetCommitApi, offsetFetchApi } = await import('../../src/kafka/apis/index.js')
    await harness.engine.createTopic('committed', { partitions: 2 })
    const client = await RawClient.open(harness.broker.port)
    client.send(encodeRequest(offsetCommitApi, { apiVersion: 0, correlationId: 1, clientId: 't', body: { groupId: 'old-group', topics: [{ name: 'committed', partitions: [{ partitionIndex: 0, committedOffset: 5, committedMetadata: 'zk era' }] }] } }))
    client.send(encodeRequest(offsetCommitApi, { apiVersion: 8, correlationId: 2, clientId: 't', body: { groupId: 'new-group', generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, topics: [{ name: 'committed', partitions: [{ partitionIndex: 1, committedOffset: 7, committedLeaderEpoch: -1, committedMetadata: null }, { partitionIndex: 9, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null }] }] } }))
    expect(await client.until(2, 5000)).toBe('frame')
    expect(decodeResponse(offsetCommitApi, 0, client.frames[0]!).body.topics[0]!.partitions).toEqual([{ partitionIndex: 0, errorCode: 0 }])
    expect(decodeResponse(offsetCommitApi, 8, client.frames[1]!).body.topics[0]!.partitions).toEqual([{ partitionIndex: 1, errorCode: 0 }, { partitionIndex: 9, errorCode: 3 }])

    client.send(encodeRequest(offsetFetchApi, { apiVersion: 1, correlationId: 3, clientId: 't', body: { groupId: 'old-group', topics: [{ name: 'committed', partitionIndexes: [0, 1] }] } }))
    client.send(encodeRequest(offsetFetchApi, { apiVersion: 8, correlationId: 4, clientId: 't', body: { groups: [{ groupId: 'old-group', topics: null }, { groupId: 'new-group', topics: null }, { groupId: 'nobody', topics: null }], requireStable: false } }))
    expect(await client.until(4, 5000)).toBe('frame')
    const v1 = decodeResponse(offsetFetchApi, 1, client.frames[2]!).body.topics[0]!.partitions
    expect(v1.map((partition) => [partition.partitionIndex, partition.committedOffset, partition.metadata, partition.errorCode])).toEqual([[0, 5, 'zk era', 0], [1, -1, '', 0]])
    const groups = decodeResponse(offsetFetchApi, 8, client.frames[3]!).body.groups
    expect(groups.map((group) => [group.groupId, group.errorCode, group.topics.flatMap((topic) => topic.partitions.map((partition) => `${topic.name}-${partition.partitionIndex}@${partition.committedOffset}`))]))
      .toEqual([['old-group', 0, ['committed-0@5']], ['new-group', 0, ['committed-1@7']], ['nobody', 0, []]])
    client.destroy()
  })
})
