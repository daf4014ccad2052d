/**
 * librdkafka (through kcat) against the codecs over loopback TCP: its requests (ApiVersions v3
 * with request header v2 and compact strings, Metadata, Produce with a RecordBatch) must decode,
 * and our responses (ApiVersions v3 with response header v0, compact arrays, tag buffers) must
 * satisfy it. kcat is installed by `.ci/run`.
 */
import { afterEach, describe, expect, test } from 'vitest'
import { ApiKey } from '../../src/kafka/apis/index.js'
import { type KafkaRequest } from '../../src/kafka/protocol/frame.js'
import { Reader } from '../../src/kafka/protocol/reader.js'
import { supportedApiVersions } from '../../src/kafka/protocol/registry.js'
import { runToExit, type ProcessRun } from '../support/run-process.js'
import { startResponder, type Responder } from './support/loopback-responder.js'

const TOPIC_ID = 'c2x1aWNlLXRlc3QtdG9waWM'

async function run (args: string[], input = ''): Promise<ProcessRun> {
  return await runToExit('kcat', args, { input })
}

/** One broker (node 1) with topic `orders` of two partitions; Produce answered with offset 0. */
function answer (request: KafkaRequest, port: number): unknown {
  switch (request.apiKey) {
    case ApiKey.ApiVersions:
      return { errorCode: 0, apiKeys: supportedApiVersions(), throttleTimeMs: 0 }
    case ApiKey.Metadata:
      return {
        brokers: [{ nodeId: 1, host: '127.0.0.1', port, rack: null }],
        clusterId: 'sluice-wire-test',
        controllerId: 1,
        topics: [{
          errorCode: 0,
          name: 'orders',
          topicId: TOPIC_ID,
          partitions: [0, 1].map((partitionIndex) => ({
            errorCode: 0, partitionIndex, leaderId: 1, leaderEpoch: 0, replicaNodes: [1], isrNodes: [1], offlineReplicas: []
          }))
        }]
      }
    case ApiKey.InitProducerId:
      return { errorCode: 0, producerId: 1000, producerEpoch: 0 }
    case ApiKey.Produce: {
      const body = request.body as { acks: number, topicData: Array<{ name: string, partitionData: Array<{ index: number }> }> }
      if (body.acks === 0) return null
      return {
        responses: body.topicData.map((topic) => ({
          name: topic.name,
          partitionResponses: topic.partitionData.map((partition) => ({ index: partition.index, errorCode: 0, baseOffset: 0, logAppendTimeMs: -1, logStartOffset: 0 }))
        }))
      }
    }
    default:
      throw new Error(`unexpected ${request.api.name} v${request.apiVersion}`)
  }
}

/** Keys and values of an uncompressed RecordBatch v2. */
function recordsOf (batch: Buffer): Array<[string | null, string | null]> {
  expect(batch.readInt8(16)).toBe(2)
  expect(batch.readInt16BE(21) & 0x07).toBe(0)
  const count = batch.readInt32BE(57)
  const reader = new Reader(batch, 61, 12 + batch.readInt32BE(8))
  const records: Array<[string | null, string | null]> = []
  for (let index = 0; index < count; index++) {
    const length = reader.readVarint()
    const end = reader.offset + length
    reader.readInt8()
    reader.readVarlong()
    reader.readVarint()
    const keyLength = reader.readVarint()
    const key = keyLength < 0 ? null : reader.buffer.toString('utf8', reader.offset, reader.offset + keyLength)
    reader.skip(Math.max(0, keyLength))
    const valueLength = reader.readVarint()
    const value = valueLength < 0 ? null : reader.buffer.toString('utf8', reader.offset, reader.offset + valueLength)
    reader.skip(Math.max(0, valueLength))
    reader.offset = end
    records.push([key, value])
  }
  return records
}

describe('librdkafka over the wire', () => {
  let responder: Responder | undefined

  afterEach(async () => {
    await responder?.close()
    responder = undefined
  })

  test('kcat -L: ApiVersions v3 and Metadata round trip', async () => {
    responder = await startResponder(answer)
    const result = await run(['-b', `127.0.0.1:${responder.port}`, '-L', '-J', '-m', '10'])
    expect(responder.errors).toEqual([])
    expect(result.code, result.stderr).toBe(0)
    const metadata = JSON.parse(result.stdout)
    expect(metadata.brokers).toEqual([{ id: 1, name: `127.0.0.1:${responder.port}` }])
    expect(metadata.topics).toEqual([{ topic: 'orders', partitions: [
      { partition: 0, leader: 1, replicas: [{ id: 1 }], isrs: [{ id: 1 }] },
      { partition: 1, leader: 1, replicas: [{ id: 1 }], isrs: [{ id: 1 }] }
    ] }])
    const apiVersions = responder.requests.find((request) => request.apiKey === ApiKey.ApiVersions)!
    expect(apiVersions.apiVersion).toBe(3)
    expect(apiVersions.headerVersion).toBe(2)
    expect(apiVersions.body).toMatchObject({ clientSoftwareName: 'librdkafka' })
    const metadataRequests = responder.requests.filter((request) => request.apiKey === ApiKey.Metadata)
    // Debian's librdkafka 2.0.x stops at Metadata v4 and Produce v7; newer ones send v12 and v9.
    // It asks for brokers only (no topics) first, then for all topics (a null array) for -L.
    expect(metadataRequests.every((request) => request.apiVersion >= 4)).toBe(true)
    expect(metadataRequests.some((request) => request.body.topics === null)).toBe(true)
  }, 30_000)

  test('kcat -P: produced records arrive intact in the Produce request', async () => {
    responder = await startResponder(answer)
    const result = await run(['-b', `127.0.0.1:${responder.port}`, '-P', '-t', 'orders', '-p', '1', '-K', ':', '-X', 'linger.ms=50'], 'k1:first\nk2:second\nk3:third\n')
    expect(responder.errors).toEqual([])
    expect(result.code, result.stderr).toBe(0)
    const produces = responder.requests.filter((request) => request.apiKey === ApiKey.Produce)
    expect(produces.length).toBeGreaterThan(0)
    const received: Array<[string | null, string | null]> = []
    for (const produce of produces) {
      const body = produce.body as { topicData: Array<{ name: string, partitionData: Array<{ index: number, records: Buffer }> }> }
      for (const topic of body.topicData) {
        expect(topic.name).toBe('orders')
        for (const partition of topic.partitionData) {
          expect(partition.index).toBe(1)
          received.push(...recordsOf(partition.records))
        }
      }
    }
    expect(received).toEqual([['k1', 'first'], ['k2', 'second'], ['k3', 'third']])
    console.log(`librdkafka used: ${[...new Set(responder.requests.map((request) => `${request.api.name} v${request.apiVersion}`))].join(', ')}`)
  }, 30_000)

  test('kcat -P with enable.idempotence: InitProducerId, then batches stamped with the producer id', async () => {
    responder = await startResponder(answer)
    const result = await run(['-b', `127.0.0.1:${responder.port}`, '-P', '-t', 'orders', '-p', '0', '-X', 'enable.idempotence=true'], 'a\nb\n')
    expect(responder.errors).toEqual([])
    expect(result.code, result.stderr).toBe(0)
    expect(responder.requests.some((request) => request.apiKey === ApiKey.InitProducerId)).toBe(true)
    const produce = responder.requests.find((request) => request.apiKey === ApiKey.Produce)!
    const batch = produce.body.topicData[0].partitionData[0].records as Buffer
    expect(batch.readBigInt64BE(43)).toBe(1000n)
    expect(batch.readInt32BE(53)).toBe(0)
    expect(recordsOf(batch)).toEqual([[null, 'a'], [null, 'b']])
  }, 30_000)
})
