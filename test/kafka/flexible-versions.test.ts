/**
 * Flexible versions (KIP-482) checked against hand-assembled bytes: compact strings and arrays,
 * header v2 / response header v1, the ApiVersions response header exception, tagged fields
 * written in tag order and only when not default, unknown tags skipped on read.
 */
import { describe, expect, test } from 'vitest'
import { apiVersionsApi, fetchApi, metadataApi, produceApi } from '../../src/kafka/apis/index.js'
import { decodeRequest, decodeResponse, encodeResponse, isRequestFor, unsupportedApiVersionsResponse, writeResponse } from '../../src/kafka/protocol/frame.js'
import { Writer } from '../../src/kafka/protocol/writer.js'
import { supportedApiVersions } from '../../src/kafka/protocol/registry.js'
import { isSluiceError } from '../../src/core/errors.js'

/** Bytes from a mix of hex strings ("00 0a") and UTF-8 text wrapped in `text()`. */
function bytes (...parts: Array<string | Buffer>): Buffer {
  return Buffer.concat(parts.map((part) => typeof part === 'string' ? Buffer.from(part.replace(/\s+/g, ''), 'hex') : part))
}
const text = (value: string): Buffer => Buffer.from(value, 'utf8')
const int64 = (value: number): string => value.toString(16).padStart(16, '0')

function frameBody (chunks: Buffer[]): Buffer {
  const frame = Buffer.concat(chunks)
  expect(frame.readInt32BE(0)).toBe(frame.length - 4)
  return frame.subarray(4)
}

describe('ApiVersions', () => {
  const librdkafkaV3 = bytes(
    '0012 0003 00000001', '0007', text('rdkafka'), '00', // header v2: clientId keeps its int16 length
    '0b', text('librdkafka'), '06', text('2.6.1'), '00'
  )

  test('v3 request as librdkafka sends it', () => {
    const request = decodeRequest(librdkafkaV3)
    expect(request.api).toBe(apiVersionsApi)
    expect(request.headerVersion).toBe(2)
    expect(request.correlationId).toBe(1)
    expect(request.clientId).toBe('rdkafka')
    expect(request.body).toEqual({ clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.6.1' })
  })

  test('unknown tagged fields in the header and the body are skipped', () => {
    const withTags = bytes(
      '0012 0003 00000001', '0007', text('rdkafka'),
      '01 05 02 abcd', // header: one unknown tag (5) of two bytes
      '0b', text('librdkafka'), '06', text('2.6.1'),
      '02 00 01 ff 09 00' // body: unknown tags 0 (one byte) and 9 (empty)
    )
    expect(decodeRequest(withTags).body).toEqual({ clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.6.1' })
  })

  test('v3 response uses response header v0 and writes tagged fields only when set', () => {
    const plain = frameBody(encodeResponse(apiVersionsApi, {
      apiVersion: 3, correlationId: 7, body: { errorCode: 0, apiKeys: [{ apiKey: 0, minVersion: 0, maxVersion: 9 }], throttleTimeMs: 0 }
    }))
    expect(plain).toEqual(bytes('00000007', '0000', '02 0000 0000 0009 00', '00000000', '00'))

    const tagged = frameBody(encodeResponse(apiVersionsApi, {
      apiVersion: 3,
      correlationId: 7,
      body: {
        errorCode: 0,
        apiKeys: [],
        throttleTimeMs: 0,
        finalizedFeatures: [{ name: 'metadata.version', maxVersionLevel: 20, minVersionLevel: 1 }],
        finalizedFeaturesEpoch: 5
      }
    }))
    // Tags ascending: 1 (FinalizedFeaturesEpoch, int64) before 2 (FinalizedFeatures).
    const feature = bytes('02', '11', text('metadata.version'), '0014 0001 00')
    expect(tagged).toEqual(bytes(
      '00000007', '0000', '01', '00000000',
      '02', '01 08', int64(5), '02', feature.length.toString(16).padStart(2, '0'), feature
    ))
    const decoded = decodeResponse(apiVersionsApi, 3, tagged)
    expect(decoded.body.finalizedFeaturesEpoch).toBe(5)
    expect(decoded.body.finalizedFeatures).toEqual([{ name: 'metadata.version', maxVersionLevel: 20, minVersionLevel: 1 }])
    expect(decoded.body.supportedFeatures).toEqual([])
  })
})

describe('Metadata v12', () => {
  test('request with a topic and with null topics', () => {
    const request = decodeRequest(bytes(
      '0003 000c 00000002', '0007', text('rdkafka'), '00',
      '02', '00'.repeat(16), '07', text('orders'), '00', // one topic: zero topic id, compact nullable name, tags
      '01 00 00' // allow auto creation, no topic authorized operations, tags
    ))
    expect(request.body).toEqual({
      topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'orders' }],
      allowAutoTopicCreation: true,
      includeClusterAuthorizedOperations: false, // v8-10 only: default here
      includeTopicAuthorizedOperations: false
    })
    const all = decodeRequest(bytes('0003 000c 00000002', 'ffff', '00', '00', '01 00 00'))
    expect(all.clientId).toBe(null)
    expect(all.body.topics).toBe(null)
  })

  test('response bytes', () => {
    const body = frameBody(encodeResponse(metadataApi, {
      apiVersion: 12,
      correlationId: 3,
      body: {
        throttleTimeMs: 0,
        brokers: [{ nodeId: 1, host: 'h', port: 9092, rack: null }],
        clusterId: 'c',
        controllerId: 1,
        topics: [{
          errorCode: 0, name: null, topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', isInternal: false,
          partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: 1, leaderEpoch: 0, replicaNodes: [1], isrNodes: [1], offlineReplicas: [] }],
          topicAuthorizedOperations: -2147483648
        }]
      }
    }))
    expect(body).toEqual(bytes(
      '00000003 00', '00000000',
      '02', '00000001', '02', text('h'), '00002384', '00', '00', // brokers: node, host, port, null rack, tags
      '02', text('c'), '00000001',
      '02', '0000', '00', '00'.repeat(15) + '01', '00', // topic: error, null name, topic id, not internal
      '02', '0000', '00000000', '00000001', '00000000', '02 00000001', '02 00000001', '01', '00', // partition
      '80000000', '00', // topic authorized operations, topic tags
      '00' // body tags (cluster authorized operations is v8-10 only)
    ))
  })
})

describe('Fetch v12', () => {
  test('request with the ClusterId tag (0) and an unknown tag', () => {
    const request = decodeRequest(bytes(
      '0001 000c 00000009', '0007', text('rdkafka'), '00',
      'ffffffff', '000001f4', '00000001', '03200000', '01', '00000000', 'ffffffff',
      '02', '07', text('orders'), '02', '00000000', 'ffffffff', int64(42), '00000003', int64(0), '00100000', '00', '00',
      '01', // forgotten topics: empty
      '01', // rack id: ''
      '02 00 03 03', text('c1'), '07 01 00' // tag 0 = compact string "c1"; tag 7 unknown
    ))
    expect(request.body).toMatchObject({
      clusterId: 'c1', replicaId: -1, maxWaitMs: 500, minBytes: 1, maxBytes: 0x03200000, isolationLevel: 1,
      sessionId: 0, sessionEpoch: -1, forgottenTopicsData: [], rackId: ''
    })
    expect(request.body.topics).toEqual([{
      topic: 'orders',
      partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 42, lastFetchedEpoch: 3, logStartOffset: 0, partitionMaxBytes: 0x100000 }]
    }])
  })

  test('a known tag whose size disagrees with its value is INVALID_REQUEST', () => {
    const malformed = bytes(
      '0001 000c 00000009', 'ffff', '00',
      'ffffffff', '000001f4', '00000001', '03200000', '01', '00000000', 'ffffffff', '01', '01', '01',
      '01 00 04 03', text('c1'), '00' // ClusterId declared as 4 bytes, value takes 3
    )
    let error: unknown
    try { decodeRequest(malformed) } catch (caught) { error = caught }
    expect(isSluiceError(error, 'INVALID_REQUEST')).toBe(true)
    expect((error as { correlationId?: number }).correlationId).toBe(9)
  })

  test('response with records and the CurrentLeader tag (1)', () => {
    const records = Buffer.from('0123456789', 'utf8')
    const chunks = encodeResponse(fetchApi, {
      apiVersion: 12,
      correlationId: 4,
      body: {
        responses: [{
          topic: 'orders',
          partitions: [{
            partitionIndex: 0, errorCode: 0, highWatermark: 16, lastStableOffset: 16, logStartOffset: 0,
            currentLeader: { leaderId: 0, leaderEpoch: 5 }, abortedTransactions: [], preferredReadReplica: -1, records
          }]
        }]
      }
    })
    const body = frameBody(chunks)
    expect(body).toEqual(bytes(
      '00000004 00', '00000000', '0000', '00000000',
      '02', '07', text('orders'), '02',
      '00000000', '0000', int64(16), int64(16), int64(0), '01', 'ffffffff', '0b', records,
      // Partition tags: CurrentLeader only (diverging epoch and snapshot are default); a tagged
      // struct is itself flexible, so its value ends with its own (empty) tag buffer: 9 bytes.
      '01 01 09 00000000 00000005 00',
      '00', '00'
    ))
    const decoded = decodeResponse(fetchApi, 12, body)
    const partition = decoded.body.responses[0]!.partitions[0]!
    expect(partition.currentLeader).toEqual({ leaderId: 0, leaderEpoch: 5 })
    expect(partition.divergingEpoch).toEqual({ epoch: -1, endOffset: -1 })
    expect(partition.records?.toString()).toBe('0123456789')
  })
})

describe('Produce v9', () => {
  test('request records are a view of the frame, not a copy', () => {
    const batch = Buffer.alloc(70, 7)
    const frame = bytes(
      '0000 0009 00000005', '0004', text('test'), '00',
      '00', 'ffff', '00007530', // null transactional id, acks -1, timeout 30000
      '02', '07', text('orders'), '02', '00000002', '47', batch, '00', '00', '00'
    )
    const request = decodeRequest(frame)
    expect(request.api).toBe(produceApi)
    const records = request.body.topicData[0].partitionData[0].records as Buffer
    expect(records.length).toBe(70)
    expect(records.buffer).toBe(frame.buffer)
    expect(records.byteOffset).toBe(frame.byteOffset + frame.length - 73)
  })
})

describe('version negotiation', () => {
  test('an ApiVersions request newer than v3 is answered in v0 with UNSUPPORTED_VERSION and the supported list (KIP-511)', () => {
    const body = frameBody(unsupportedApiVersionsResponse(11))
    expect(body.readInt32BE(0)).toBe(11)
    expect(body.readInt16BE(4)).toBe(35)
    const decoded = decodeResponse(apiVersionsApi, 0, body)
    expect(decoded.body.errorCode).toBe(35)
    expect(decoded.body.apiKeys).toEqual(supportedApiVersions())
    // v0 layout: error, int32 count, 6 bytes per API; no throttle time, no tags.
    expect(body.length).toBe(4 + 2 + 4 + 6 * supportedApiVersions().length)
  })

  test('isRequestFor narrows by API', () => {
    const request = decodeRequest(bytes('0012 0002 00000001', 'ffff'))
    expect(isRequestFor(request, apiVersionsApi)).toBe(true)
    expect(isRequestFor(request, produceApi)).toBe(false)
  })
})

describe('pipelined responses', () => {
  test('several frames share one writer and stay individually framed', () => {
    const writer = new Writer()
    const first = writeResponse(writer, apiVersionsApi, { apiVersion: 0, correlationId: 1, body: { errorCode: 0, apiKeys: [] } })
    const second = writeResponse(writer, fetchApi, { apiVersion: 12, correlationId: 2, body: { responses: [] } })
    const joined = writer.toBuffer()
    expect(joined.length).toBe(first + second)
    expect(joined.readInt32BE(0)).toBe(first - 4)
    expect(decodeResponse(apiVersionsApi, 0, joined.subarray(4, first)).correlationId).toBe(1)
    expect(joined.readInt32BE(first)).toBe(second - 4)
    expect(decodeResponse(fetchApi, 12, joined.subarray(first + 4)).body.responses).toEqual([])
  })
})
