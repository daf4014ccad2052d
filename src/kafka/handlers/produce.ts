/**
 * Produce (key 0): hands each partition's RecordBatch to `engine.append`, the same append path
 * as the embedded producer (validation, offsets, idempotent dedup: a duplicate answers its
 * original offsets).
 *
 * Per partition, in this order:
 * - acks must be 0, 1 or -1 (INVALID_REQUIRED_ACKS for the whole request);
 * - the topic and partition must exist (UNKNOWN_TOPIC_OR_PARTITION; Produce never
 *   auto-creates, Metadata does);
 * - internal topics (`__consumer_offsets`) are written only by the engine itself:
 *   INVALID_TOPIC_EXCEPTION, as Kafka answers clients;
 * - acks=-1 on a topic with `min.insync.replicas` > 1 is NOT_ENOUGH_REPLICAS: one node holds
 *   the only replica, so the in-sync set can never be that large (Kafka's answer too);
 * - exactly one v2 batch (Kafka's rule since Produce v3): null/short data is CORRUPT_MESSAGE,
 *   trailing bytes or a second batch INVALID_RECORD, the old message formats (magic 0/1, what
 *   Produce v0-2 clients send) UNSUPPORTED_FOR_MESSAGE_FORMAT: the log stores v2 only;
 * - transactional batches (or a request with a transactional id) are not served yet and are
 *   rejected with TRANSACTIONAL_ID_AUTHORIZATION_FAILED: non-retriable in every client, so a
 *   transactional producer stops with a clear error instead of retrying forever.
 *
 * The appends of one request are started synchronously in request order, so two pipelined
 * requests for one partition keep their order; they then complete concurrently. acks=0 gets no
 * response (`null`), as in Kafka; when any partition of an acks=0 request failed the connection
 * is closed instead, the only signal such a producer receives (Kafka does the same).
 */
import { BatchAttribute, BatchOffset, CURRENT_MAGIC, LOG_OVERHEAD, RECORD_BATCH_OVERHEAD } from '../../io/record-batch-header.js'
import { produceApi, type ProduceResponse } from '../apis/produce.js'
import type { MessageInput } from '../schema/types.js'
import { defineHandler, errorCode, kafkaCodeOf, messageOf } from './context.js'

type PartitionAnswer = MessageInput<ProduceResponse['responses'][number]['partitionResponses'][number]>

function failed (index: number, code: number, message: string | null): PartitionAnswer {
  return { index, errorCode: code, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, recordErrors: [], errorMessage: message }
}

/** Why a partition's data cannot be one v2 batch, or undefined when it can. */
function batchProblem (records: Buffer | null): { code: number, message: string } | undefined {
  if (records === null || records.length < RECORD_BATCH_OVERHEAD) {
    return { code: errorCode('CORRUPT_MESSAGE'), message: `record data of ${records?.length ?? 0} bytes is shorter than a batch header` }
  }
  if (records[BatchOffset.magic] !== CURRENT_MAGIC) {
    return { code: errorCode('UNSUPPORTED_FOR_MESSAGE_FORMAT'), message: `message format v${records[BatchOffset.magic]} is not stored by this broker (RecordBatch v2 only)` }
  }
  const size = records.readInt32BE(BatchOffset.batchLength) + LOG_OVERHEAD
  if (size < RECORD_BATCH_OVERHEAD || size > records.length) {
    return { code: errorCode('CORRUPT_MESSAGE'), message: `batch length ${size} does not match the ${records.length} bytes sent` }
  }
  if (size !== records.length) {
    return { code: errorCode('INVALID_RECORD'), message: 'Produce requests must carry exactly one record batch per partition' }
  }
  if ((records.readInt16BE(BatchOffset.attributes) & BatchAttribute.transactional) !== 0) {
    return { code: errorCode('TRANSACTIONAL_ID_AUTHORIZATION_FAILED'), message: 'transactional batches are not supported by this broker yet' }
  }
  return undefined
}

export const produceHandler = defineHandler(produceApi, async (context, request) => {
  const { engine } = context
  const { acks, transactionalId, topicData } = request.body
  const validAcks = acks === 0 || acks === 1 || acks === -1
  const pending: Array<Array<Promise<PartitionAnswer>>> = []
  for (const topic of topicData) {
    const exists = engine.topics.find(topic.name)
    pending.push(topic.partitionData.map((partition): Promise<PartitionAnswer> => {
      const index = partition.index
      if (!validAcks) return Promise.resolve(failed(index, errorCode('INVALID_REQUIRED_ACKS'), `acks must be 0, 1 or -1, got ${acks}`))
      if (transactionalId !== null) {
        return Promise.resolve(failed(index, errorCode('TRANSACTIONAL_ID_AUTHORIZATION_FAILED'), 'transactions are not supported by this broker yet'))
      }
      if (exists === undefined || index < 0 || index >= exists.partitionCount) {
        return Promise.resolve(failed(index, errorCode('UNKNOWN_TOPIC_OR_PARTITION'), `unknown partition ${topic.name}-${index}`))
      }
      if (exists.internal) {
        return Promise.resolve(failed(index, errorCode('INVALID_TOPIC_EXCEPTION'), `topic ${topic.name} is internal: only the broker writes it`))
      }
      if (acks === -1 && exists.config.minInsyncReplicas > 1) {
        return Promise.resolve(failed(index, errorCode('NOT_ENOUGH_REPLICAS'), `min.insync.replicas is ${exists.config.minInsyncReplicas} but this node holds the only replica`))
      }
      const problem = batchProblem(partition.records)
      if (problem !== undefined) return Promise.resolve(failed(index, problem.code, problem.message))
      return engine.append(topic.name, index, partition.records!).then(
        (result) => ({ index, errorCode: 0, baseOffset: result.baseOffset, logAppendTimeMs: result.logAppendTime, logStartOffset: result.logStartOffset, recordErrors: [], errorMessage: null }),
        (error: unknown) => failed(index, kafkaCodeOf(error, 'Produce'), messageOf(error))
      )
    }))
  }
  const responses = []
  for (let topicIndex = 0; topicIndex < topicData.length; topicIndex++) {
    responses.push({ name: topicData[topicIndex]!.name, partitionResponses: await Promise.all(pending[topicIndex]!) })
  }
  if (acks === 0) {
    const failedPartition = responses.some((topic) => topic.partitionResponses.some((partition) => partition.errorCode !== 0))
    if (failedPartition) context.closeConnection('a Produce request with acks=0 failed')
    return null
  }
  return { responses, throttleTimeMs: 0 }
})
