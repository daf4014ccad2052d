/**
 * Run in a child process with --disallow-code-generation-from-strings: the codec must fall back
 * to its closure interpreter and still round-trip. Prints "ok <frames>" on success.
 */
import { fetchApi, metadataApi, produceApi } from '../../../src/kafka/apis/index.js'
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../../../src/kafka/protocol/frame.js'

let codegen = true
try { Function('return 1')() } catch { codegen = false }
if (codegen) throw new Error('code generation is still allowed in this process')

const produce = Buffer.concat(encodeRequest(produceApi, {
  apiVersion: 9, correlationId: 3, clientId: 'x',
  body: { acks: -1, timeoutMs: 100, topicData: [{ name: 't', partitionData: [{ index: 2, records: Buffer.from('batch') }] }] }
})).subarray(4)
const request = decodeRequest(produce)
if (request.body.topicData[0].partitionData[0].records.toString() !== 'batch') throw new Error('produce mismatch')

const fetch = Buffer.concat(encodeResponse(fetchApi, {
  apiVersion: 12, correlationId: 4,
  body: { responses: [{ topic: 't', partitions: [{ partitionIndex: 1, highWatermark: 9, currentLeader: { leaderId: 1, leaderEpoch: 2 }, records: Buffer.from('r') }] }] }
})).subarray(4)
const fetched = decodeResponse(fetchApi, 12, fetch).body.responses[0]!.partitions[0]!
if (fetched.highWatermark !== 9 || fetched.currentLeader.leaderEpoch !== 2) throw new Error('fetch mismatch')

const metadata = Buffer.concat(encodeResponse(metadataApi, { apiVersion: 12, correlationId: 5, body: { topics: [{ name: null, partitions: [] }] } })).subarray(4)
if (decodeResponse(metadataApi, 12, metadata).body.topics[0]!.name !== null) throw new Error('metadata mismatch')
console.log('ok 3')
