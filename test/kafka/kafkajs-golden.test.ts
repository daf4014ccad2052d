/**
 * Golden cross-checks against kafkajs 2.2.x: its request encoders produce frames our decoder
 * must read field for field, and its response decoders must accept what our encoder writes.
 */
import { describe, expect, test } from 'vitest'
import {
  apiVersionsApi, createTopicsApi, fetchApi, findCoordinatorApi, initProducerIdApi, joinGroupApi,
  listOffsetsApi, metadataApi, offsetCommitApi, offsetFetchApi, produceApi, syncGroupApi,
  heartbeatApi, leaveGroupApi, describeGroupsApi, listGroupsApi, deleteTopicsApi, saslHandshakeApi,
  saslAuthenticateApi, addPartitionsToTxnApi, addOffsetsToTxnApi, endTxnApi, txnOffsetCommitApi,
  describeConfigsApi, alterConfigsApi, createPartitionsApi, deleteGroupsApi, deleteRecordsApi
} from '../../src/kafka/apis/index.js'
import { decodeRequest, encodeResponse, type ResponseFrame } from '../../src/kafka/protocol/frame.js'
import type { ApiSchema } from '../../src/kafka/schema/types.js'
import { kafkajsDecodeResponse, kafkajsModule, kafkajsRequestFrame } from './support/kafkajs.js'

async function decodeKafkajs (api: string, version: number, args: unknown) {
  const frame = await kafkajsRequestFrame(api, version, args)
  expect(frame.readInt32BE(0)).toBe(frame.length - 4)
  const request = decodeRequest(frame.subarray(4))
  expect(request.apiVersion).toBe(version)
  expect(request.correlationId).toBe(42)
  expect(request.clientId).toBe('golden-client')
  expect(request.headerVersion).toBe(1)
  return request
}

async function kafkajsReads<A extends ApiSchema<any, any>> (api: A, kafkajsName: string, version: number, body: ResponseFrame<A>['body'], requestArgs?: unknown) {
  const frame = Buffer.concat(encodeResponse(api, { apiVersion: version, correlationId: 9, body }))
  expect(frame.readInt32BE(0)).toBe(frame.length - 4)
  expect(frame.readInt32BE(4)).toBe(9)
  return await kafkajsDecodeResponse(kafkajsName, version, frame.subarray(8), requestArgs)
}

async function kafkajsRecordBatch (): Promise<Buffer> {
  const { RecordBatch } = kafkajsModule('protocol/recordBatch/v0/index.js')
  const Record = kafkajsModule('protocol/recordBatch/record/v0/index.js')
  const records = [
    Record({ key: Buffer.from('k1'), value: Buffer.from('v1'), offsetDelta: 0, timestampDelta: 0 }),
    Record({ key: null, value: Buffer.from('value two'), offsetDelta: 1, timestampDelta: 5 })
  ]
  const batch = await RecordBatch({ records, firstTimestamp: 1_700_000_000_000, maxTimestamp: 1_700_000_000_005, lastOffsetDelta: 1 })
  return batch.buffer as Buffer
}

describe('kafkajs requests decode to the values kafkajs encoded', () => {
  test('Produce v7 with a record batch', async () => {
    const Long = kafkajsModule('utils/long.js')
    const request = await decodeKafkajs('produce', 7, {
      acks: -1,
      timeout: 30000,
      transactionalId: 'tx-1',
      producerId: Long.fromNumber(1234),
      producerEpoch: 2,
      topicData: [
        { topic: 'orders', partitions: [{ partition: 0, firstSequence: 0, messages: [{ key: 'a', value: 'hello', timestamp: 1_700_000_000_000 }] }] },
        { topic: 'audit', partitions: [{ partition: 3, firstSequence: 5, messages: [{ value: 'x', timestamp: 1_700_000_000_001 }, { value: 'y', timestamp: 1_700_000_000_002 }] }] }
      ]
    })
    expect(request.api).toBe(produceApi)
    const body = request.body as import('../../src/kafka/apis/produce.js').ProduceRequest
    expect(body.transactionalId).toBe('tx-1')
    expect(body.acks).toBe(-1)
    expect(body.timeoutMs).toBe(30000)
    expect(body.topicData.map((topic) => topic.name)).toEqual(['orders', 'audit'])
    const audit = body.topicData[1]!.partitionData[0]!
    expect(audit.index).toBe(3)
    const records = audit.records!
    // A RecordBatch v2: magic 2 at byte 16, producer id at 43, base sequence at 53, 2 records.
    expect(records.readInt8(16)).toBe(2)
    expect(records.readBigInt64BE(43)).toBe(1234n)
    expect(records.readInt16BE(51)).toBe(2)
    expect(records.readInt32BE(53)).toBe(5)
    expect(records.readInt32BE(57)).toBe(2)
    expect(records.readInt32BE(8) + 12).toBe(records.length)
  })

  test('Fetch v11 and v4', async () => {
    const args = {
      replicaId: -1,
      maxWaitTime: 5000,
      minBytes: 1,
      maxBytes: 10485760,
      isolationLevel: 1,
      rackId: 'rack-a',
      topics: [{ topic: 'orders', partitions: [{ partition: 2, fetchOffset: '123456789012', maxBytes: 1048576 }] }]
    }
    const v11 = await decodeKafkajs('fetch', 11, args)
    expect(v11.api).toBe(fetchApi)
    expect(v11.body).toEqual({
      clusterId: null,
      replicaId: -1,
      maxWaitMs: 5000,
      minBytes: 1,
      maxBytes: 10485760,
      isolationLevel: 1,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{
        topic: 'orders',
        partitions: [{ partition: 2, currentLeaderEpoch: -1, fetchOffset: 123456789012, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1048576 }]
      }],
      forgottenTopicsData: [],
      rackId: 'rack-a'
    })
    const v4 = await decodeKafkajs('fetch', 4, args)
    expect(v4.body.topics[0].partitions[0].fetchOffset).toBe(123456789012)
    expect(v4.body.rackId).toBe('')
  })

  test('Metadata v6 and v0', async () => {
    const v6 = await decodeKafkajs('metadata', 6, { topics: ['orders', 'audit'], allowAutoTopicCreation: false })
    expect(v6.api).toBe(metadataApi)
    expect(v6.body.topics).toEqual([{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'orders' }, { topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'audit' }])
    expect(v6.body.allowAutoTopicCreation).toBe(false)
    const v0 = await decodeKafkajs('metadata', 0, { topics: [] })
    expect(v0.body.topics).toEqual([])
  })

  test('JoinGroup v5', async () => {
    const metadata = Buffer.from([0, 1, 0, 0, 0, 1, 0, 6, 111, 114, 100, 101, 114, 115, 0, 0, 0, 0])
    const request = await decodeKafkajs('joinGroup', 5, {
      groupId: 'g1', sessionTimeout: 30000, rebalanceTimeout: 60000, memberId: '', groupInstanceId: 'instance-1',
      protocolType: 'consumer', groupProtocols: [{ name: 'RoundRobinAssigner', metadata }]
    })
    expect(request.api).toBe(joinGroupApi)
    expect(request.body).toMatchObject({
      groupId: 'g1', sessionTimeoutMs: 30000, rebalanceTimeoutMs: 60000, memberId: '', groupInstanceId: 'instance-1', protocolType: 'consumer'
    })
    expect(request.body.protocols[0].name).toBe('RoundRobinAssigner')
    expect(Buffer.compare(request.body.protocols[0].metadata, metadata)).toBe(0)
  })

  test('SyncGroup v3', async () => {
    const request = await decodeKafkajs('syncGroup', 3, {
      groupId: 'g1', generationId: 4, memberId: 'm-1', groupAssignment: [{ memberId: 'm-1', memberAssignment: Buffer.from('assign') }]
    })
    expect(request.api).toBe(syncGroupApi)
    expect(request.body.groupId).toBe('g1')
    expect(request.body.generationId).toBe(4)
    expect(request.body.groupInstanceId).toBe(null)
    expect(request.body.assignments[0].memberId).toBe('m-1')
    expect(request.body.assignments[0].assignment.toString()).toBe('assign')
  })

  test('OffsetCommit v5', async () => {
    const request = await decodeKafkajs('offsetCommit', 5, {
      groupId: 'g1', groupGenerationId: 7, memberId: 'm-1',
      topics: [{ topic: 'orders', partitions: [{ partition: 0, offset: '42' }, { partition: 1, offset: '9007199254740991', metadata: 'meta' }] }]
    })
    expect(request.api).toBe(offsetCommitApi)
    expect(request.body).toEqual({
      groupId: 'g1', generationIdOrMemberEpoch: 7, memberId: 'm-1', groupInstanceId: null, retentionTimeMs: -1,
      topics: [{
        name: 'orders',
        partitions: [
          { partitionIndex: 0, committedOffset: 42, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: null },
          { partitionIndex: 1, committedOffset: 9007199254740991, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: 'meta' }
        ]
      }]
    })
  })

  test('OffsetFetch v4 (and null topics)', async () => {
    const request = await decodeKafkajs('offsetFetch', 4, { groupId: 'g1', topics: [{ topic: 'orders', partitions: [{ partition: 0 }, { partition: 5 }] }] })
    expect(request.api).toBe(offsetFetchApi)
    expect(request.body.groupId).toBe('g1')
    expect(request.body.topics).toEqual([{ name: 'orders', partitionIndexes: [0, 5] }])
    expect(request.body.groups).toEqual([])
  })

  test('ListOffsets v3', async () => {
    const request = await decodeKafkajs('listOffsets', 3, {
      replicaId: -1, isolationLevel: 1, topics: [{ topic: 'orders', partitions: [{ partition: 0, timestamp: -2 }, { partition: 1 }] }]
    })
    expect(request.api).toBe(listOffsetsApi)
    expect(request.body).toEqual({
      replicaId: -1, isolationLevel: 1,
      topics: [{ name: 'orders', partitions: [
        { partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -2, maxNumOffsets: 1 },
        { partitionIndex: 1, currentLeaderEpoch: -1, timestamp: -1, maxNumOffsets: 1 }
      ] }]
    })
  })

  test('FindCoordinator v2', async () => {
    const request = await decodeKafkajs('findCoordinator', 2, { coordinatorKey: 'g1', coordinatorType: 1 })
    expect(request.api).toBe(findCoordinatorApi)
    expect(request.body).toEqual({ key: 'g1', keyType: 1, coordinatorKeys: [] })
  })

  test('ApiVersions v2', async () => {
    const request = await decodeKafkajs('apiVersions', 2, undefined)
    expect(request.api).toBe(apiVersionsApi)
    expect(request.body).toEqual({ clientSoftwareName: '', clientSoftwareVersion: '' })
  })

  test('CreateTopics v3', async () => {
    const request = await decodeKafkajs('createTopics', 3, {
      timeout: 1000, validateOnly: true,
      topics: [{ topic: 'orders', numPartitions: 3, replicationFactor: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }]
    })
    expect(request.api).toBe(createTopicsApi)
    expect(request.body).toEqual({
      topics: [{ name: 'orders', numPartitions: 3, replicationFactor: 1, assignments: [], configs: [{ name: 'cleanup.policy', value: 'compact' }] }],
      timeoutMs: 1000,
      validateOnly: true
    })
  })

  test('InitProducerId v1', async () => {
    const request = await decodeKafkajs('initProducerId', 1, { transactionalId: null, transactionTimeout: 60000 })
    expect(request.api).toBe(initProducerIdApi)
    expect(request.body).toEqual({ transactionalId: null, transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 })
  })

  test('group, transaction and admin requests at kafkajs versions', async () => {
    expect((await decodeKafkajs('heartbeat', 3, { groupId: 'g', groupGenerationId: 3, memberId: 'm', groupInstanceId: null })).body)
      .toEqual({ groupId: 'g', generationId: 3, memberId: 'm', groupInstanceId: null })
    expect((await decodeKafkajs('leaveGroup', 3, { groupId: 'g', members: [{ memberId: 'm' }] })).body)
      .toEqual({ groupId: 'g', memberId: '', members: [{ memberId: 'm', groupInstanceId: null }] })
    expect((await decodeKafkajs('describeGroups', 2, { groupIds: ['a', 'b'] })).body)
      .toEqual({ groups: ['a', 'b'], includeAuthorizedOperations: false })
    expect((await decodeKafkajs('listGroups', 2, undefined)).body).toEqual({ statesFilter: [], typesFilter: [] })
    expect((await decodeKafkajs('deleteTopics', 1, { topics: ['x', 'y'], timeout: 500 })).body)
      .toEqual({ topics: [], topicNames: ['x', 'y'], timeoutMs: 500 })
    expect((await decodeKafkajs('saslHandshake', 1, { mechanism: 'PLAIN' })).body).toEqual({ mechanism: 'PLAIN' })
    const Encoder = kafkajsModule('protocol/encoder.js')
    const token = Buffer.from('\0user\0secret')
    const auth = await decodeKafkajs('saslAuthenticate', 1, { authBytes: new Encoder().writeBytes(token).buffer })
    expect(Buffer.compare(auth.body.authBytes, token)).toBe(0)
    const Long = kafkajsModule('utils/long.js')
    expect((await decodeKafkajs('addPartitionsToTxn', 1, { transactionalId: 't', producerId: Long.fromNumber(77), producerEpoch: 1, topics: [{ topic: 'o', partitions: [0, 2] }] })).body)
      .toEqual({ v3AndBelowTransactionalId: 't', v3AndBelowProducerId: 77, v3AndBelowProducerEpoch: 1, v3AndBelowTopics: [{ name: 'o', partitions: [0, 2] }] })
    expect((await decodeKafkajs('addOffsetsToTxn', 1, { transactionalId: 't', producerId: Long.fromNumber(77), producerEpoch: 1, groupId: 'g' })).body)
      .toEqual({ transactionalId: 't', producerId: 77, producerEpoch: 1, groupId: 'g' })
    expect((await decodeKafkajs('endTxn', 1, { transactionalId: 't', producerId: Long.fromNumber(77), producerEpoch: 1, transactionResult: true })).body)
      .toEqual({ transactionalId: 't', producerId: 77, producerEpoch: 1, committed: true })
    expect((await decodeKafkajs('txnOffsetCommit', 1, { transactionalId: 't', groupId: 'g', producerId: Long.fromNumber(77), producerEpoch: 1, topics: [{ topic: 'o', partitions: [{ partition: 1, offset: '10', metadata: null }] }] })).body)
      .toEqual({
        transactionalId: 't', groupId: 'g', producerId: 77, producerEpoch: 1, generationId: -1, memberId: '', groupInstanceId: null,
        topics: [{ name: 'o', partitions: [{ partitionIndex: 1, committedOffset: 10, committedLeaderEpoch: -1, committedMetadata: null }] }]
      })
    expect((await decodeKafkajs('describeConfigs', 2, { resources: [{ type: 2, name: 'orders', configNames: ['retention.ms'] }], includeSynonyms: true })).body)
      .toEqual({ resources: [{ resourceType: 2, resourceName: 'orders', configurationKeys: ['retention.ms'] }], includeSynonyms: true, includeDocumentation: false })
    expect((await decodeKafkajs('alterConfigs', 1, { resources: [{ type: 2, name: 'orders', configEntries: [{ name: 'retention.ms', value: '1000' }] }], validateOnly: false })).body)
      .toEqual({ resources: [{ resourceType: 2, resourceName: 'orders', configs: [{ name: 'retention.ms', value: '1000' }] }], validateOnly: false })
    expect((await decodeKafkajs('createPartitions', 1, { topicPartitions: [{ topic: 'orders', count: 6 }], timeout: 100, validateOnly: true })).body)
      // kafkajs writes an empty assignment list as a null array.
      .toEqual({ topics: [{ name: 'orders', count: 6, assignments: null }], timeoutMs: 100, validateOnly: true })
    expect((await decodeKafkajs('deleteGroups', 1, ['g1', 'g2'])).body).toEqual({ groupsNames: ['g1', 'g2'] })
    expect((await decodeKafkajs('deleteRecords', 1, { topics: [{ topic: 'o', partitions: [{ partition: 0, offset: '5' }] }], timeout: 10 })).body)
      .toEqual({ topics: [{ name: 'o', partitions: [{ partitionIndex: 0, offset: 5 }] }], timeoutMs: 10 })
  })
})

describe('kafkajs decodes the responses we encode', () => {
  test('Produce v7', async () => {
    const decoded = await kafkajsReads(produceApi, 'produce', 7, {
      responses: [{ name: 'orders', partitionResponses: [{ index: 0, errorCode: 0, baseOffset: 100, logAppendTimeMs: -1, logStartOffset: 0 }] }],
      throttleTimeMs: 0
    })
    expect(decoded.topics).toEqual([{ topicName: 'orders', partitions: [{ partition: 0, errorCode: 0, baseOffset: '100', logAppendTime: '-1', logStartOffset: '0' }] }])
  })

  test('Fetch v11 carries the record bytes unchanged', async () => {
    const batch = await kafkajsRecordBatch()
    const decoded = await kafkajsReads(fetchApi, 'fetch', 11, {
      throttleTimeMs: 0, errorCode: 0, sessionId: 0,
      responses: [{ topic: 'orders', partitions: [{ partitionIndex: 1, errorCode: 0, highWatermark: 2, lastStableOffset: 2, logStartOffset: 0, abortedTransactions: [], preferredReadReplica: -1, records: batch }] }]
    })
    const partition = decoded.responses[0].partitions[0]
    expect(decoded.responses[0].topicName).toBe('orders')
    expect(partition.partition).toBe(1)
    expect(partition.highWatermark).toBe('2')
    expect(partition.messages.map((message: { value: Buffer }) => message.value.toString())).toEqual(['v1', 'value two'])
    expect(partition.messages[0].key.toString()).toBe('k1')
  })

  test('Metadata v6', async () => {
    const decoded = await kafkajsReads(metadataApi, 'metadata', 6, {
      throttleTimeMs: 0,
      brokers: [{ nodeId: 0, host: '127.0.0.1', port: 9092, rack: null }],
      clusterId: 'sluice-cluster',
      controllerId: 0,
      topics: [{ errorCode: 0, name: 'orders', isInternal: false, partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: 0, replicaNodes: [0], isrNodes: [0], offlineReplicas: [] }] }]
    })
    expect(decoded.brokers).toEqual([{ nodeId: 0, host: '127.0.0.1', port: 9092, rack: null }])
    expect(decoded.clusterId).toBe('sluice-cluster')
    expect(decoded.topicMetadata[0].topic).toBe('orders')
    expect(decoded.topicMetadata[0].partitionMetadata[0]).toMatchObject({ partitionId: 0, leader: 0, replicas: [0], isr: [0], offlineReplicas: [] })
  })

  test('JoinGroup v5, SyncGroup v3, Heartbeat v3, LeaveGroup v3', async () => {
    const join = await kafkajsReads(joinGroupApi, 'joinGroup', 5, {
      errorCode: 0, generationId: 1, protocolName: 'RoundRobinAssigner', leader: 'm-1', memberId: 'm-1',
      members: [{ memberId: 'm-1', groupInstanceId: null, metadata: Buffer.from('meta') }]
    })
    expect(join).toMatchObject({ generationId: 1, groupProtocol: 'RoundRobinAssigner', leaderId: 'm-1', memberId: 'm-1' })
    expect(join.members[0].memberMetadata.toString()).toBe('meta')
    const sync = await kafkajsReads(syncGroupApi, 'syncGroup', 3, { errorCode: 0, assignment: Buffer.from('assignment') })
    expect(sync.memberAssignment.toString()).toBe('assignment')
    expect(await kafkajsReads(heartbeatApi, 'heartbeat', 3, { throttleTimeMs: 0, errorCode: 0 })).toMatchObject({ errorCode: 0 })
    const leave = await kafkajsReads(leaveGroupApi, 'leaveGroup', 3, { errorCode: 0, members: [{ memberId: 'm-1', groupInstanceId: null, errorCode: 0 }] })
    expect(leave.members).toEqual([{ memberId: 'm-1', groupInstanceId: null, errorCode: 0 }])
  })

  test('OffsetCommit v5 and OffsetFetch v4', async () => {
    const commit = await kafkajsReads(offsetCommitApi, 'offsetCommit', 5, { topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, errorCode: 0 }] }] })
    expect(commit.responses).toEqual([{ topic: 'orders', partitions: [{ partition: 0, errorCode: 0 }] }])
    const fetched = await kafkajsReads(offsetFetchApi, 'offsetFetch', 4, {
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 41, metadata: null, errorCode: 0 }] }], errorCode: 0
    })
    expect(fetched.responses).toEqual([{ topic: 'orders', partitions: [{ partition: 0, offset: '41', metadata: null, errorCode: 0 }] }])
  })

  test('ListOffsets v3, FindCoordinator v2, ApiVersions v2, CreateTopics v3, InitProducerId v1', async () => {
    const offsets = await kafkajsReads(listOffsetsApi, 'listOffsets', 3, {
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, errorCode: 0, timestamp: -1, offset: 77 }] }]
    })
    expect(offsets.responses).toEqual([{ topic: 'orders', partitions: [{ partition: 0, errorCode: 0, timestamp: '-1', offset: '77' }] }])
    const coordinator = await kafkajsReads(findCoordinatorApi, 'findCoordinator', 2, { errorCode: 0, errorMessage: null, nodeId: 0, host: '127.0.0.1', port: 9092 })
    expect(coordinator.coordinator).toEqual({ nodeId: 0, host: '127.0.0.1', port: 9092 })
    const versions = await kafkajsReads(apiVersionsApi, 'apiVersions', 2, { errorCode: 0, apiKeys: [{ apiKey: 0, minVersion: 0, maxVersion: 9 }], throttleTimeMs: 0 })
    expect(versions.apiVersions).toEqual([{ apiKey: 0, minVersion: 0, maxVersion: 9 }])
    const created = await kafkajsReads(createTopicsApi, 'createTopics', 3, { topics: [{ name: 'orders', errorCode: 0, errorMessage: null }] })
    expect(created.topicErrors).toEqual([{ topic: 'orders', errorCode: 0, errorMessage: null }])
    const producer = await kafkajsReads(initProducerIdApi, 'initProducerId', 1, { errorCode: 0, producerId: 4000, producerEpoch: 0 })
    expect(producer).toMatchObject({ errorCode: 0, producerId: '4000', producerEpoch: 0 })
  })

  test('admin and transaction responses at kafkajs versions', async () => {
    const groups = await kafkajsReads(describeGroupsApi, 'describeGroups', 2, {
      groups: [{ errorCode: 0, groupId: 'g', groupState: 'Stable', protocolType: 'consumer', protocolData: 'RoundRobinAssigner', members: [{ memberId: 'm', clientId: 'c', clientHost: '/127.0.0.1', memberMetadata: Buffer.from('md'), memberAssignment: Buffer.from('ma') }] }]
    })
    expect(groups.groups[0]).toMatchObject({ groupId: 'g', state: 'Stable', protocol: 'RoundRobinAssigner' })
    const listed = await kafkajsReads(listGroupsApi, 'listGroups', 2, { errorCode: 0, groups: [{ groupId: 'g', protocolType: 'consumer' }] })
    expect(listed.groups).toEqual([{ groupId: 'g', protocolType: 'consumer' }])
    const deleted = await kafkajsReads(deleteTopicsApi, 'deleteTopics', 1, { responses: [{ name: 'x', errorCode: 0 }] })
    expect(deleted.topicErrors).toEqual([{ topic: 'x', errorCode: 0 }])
    const handshake = await kafkajsReads(saslHandshakeApi, 'saslHandshake', 1, { errorCode: 0, mechanisms: ['PLAIN', 'SCRAM-SHA-256'] })
    expect(handshake.enabledMechanisms).toEqual(['PLAIN', 'SCRAM-SHA-256'])
    const auth = await kafkajsReads(saslAuthenticateApi, 'saslAuthenticate', 1, { errorCode: 0, errorMessage: null, authBytes: Buffer.from('ok'), sessionLifetimeMs: 0 })
    expect(auth.errorCode).toBe(0)
    const added = await kafkajsReads(addPartitionsToTxnApi, 'addPartitionsToTxn', 1, { resultsByTopicV3AndBelow: [{ name: 'o', resultsByPartition: [{ partitionIndex: 0, partitionErrorCode: 0 }] }] })
    expect(added.errors).toEqual([{ topic: 'o', partitionErrors: [{ partition: 0, errorCode: 0 }] }])
    expect(await kafkajsReads(addOffsetsToTxnApi, 'addOffsetsToTxn', 1, { errorCode: 0 })).toMatchObject({ errorCode: 0 })
    expect(await kafkajsReads(endTxnApi, 'endTxn', 1, { errorCode: 0 })).toMatchObject({ errorCode: 0 })
    const txnCommit = await kafkajsReads(txnOffsetCommitApi, 'txnOffsetCommit', 1, { topics: [{ name: 'o', partitions: [{ partitionIndex: 1, errorCode: 0 }] }] })
    expect(txnCommit.topics).toEqual([{ topic: 'o', partitions: [{ partition: 1, errorCode: 0 }] }])
    const configs = await kafkajsReads(describeConfigsApi, 'describeConfigs', 2, {
      results: [{ errorCode: 0, errorMessage: null, resourceType: 2, resourceName: 'orders', configs: [{ name: 'retention.ms', value: '1000', readOnly: false, configSource: 1, isSensitive: false, synonyms: [] }] }]
    })
    expect(configs.resources[0]).toMatchObject({ resourceName: 'orders', resourceType: 2 })
    expect(configs.resources[0].configEntries[0]).toMatchObject({ configName: 'retention.ms', configValue: '1000', readOnly: false, isSensitive: false })
    const altered = await kafkajsReads(alterConfigsApi, 'alterConfigs', 1, { responses: [{ errorCode: 0, errorMessage: null, resourceType: 2, resourceName: 'orders' }] })
    expect(altered.resources).toEqual([{ errorCode: 0, errorMessage: null, resourceType: 2, resourceName: 'orders' }])
    const partitions = await kafkajsReads(createPartitionsApi, 'createPartitions', 1, { results: [{ name: 'orders', errorCode: 0, errorMessage: null }] })
    expect(partitions.topicErrors).toEqual([{ topic: 'orders', errorCode: 0, errorMessage: null }])
    const groupsDeleted = await kafkajsReads(deleteGroupsApi, 'deleteGroups', 1, { results: [{ groupId: 'g', errorCode: 0 }] })
    expect(groupsDeleted.results).toEqual([{ groupId: 'g', errorCode: 0 }])
    const recordsDeleted = await kafkajsReads(deleteRecordsApi, 'deleteRecords', 1, { topics: [{ name: 'o', partitions: [{ partitionIndex: 0, lowWatermark: 5, errorCode: 0 }] }] }, { topics: [{ topic: 'o', partitions: [{ partition: 0, offset: '5' }] }] })
    expect(recordsDeleted.topics[0].topic).toBe('o')
    expect(recordsDeleted.topics[0].partitions[0].partition).toBe(0)
    expect(recordsDeleted.topics[0].partitions[0].lowWatermark.toString()).toBe('5')
  })
})
