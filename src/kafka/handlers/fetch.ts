/**
 * Fetch (key 1): stored batch bytes, unchanged, with a long poll.
 *
 * Reading: partitions are read in request order; each gets at most `partition_max_bytes` and
 * what is left of the response's `max_bytes`. The first batch of the first partition that has
 * data is returned even when larger than both limits (KIP-74), so a consumer can always make
 * progress; a later partition whose first batch does not fit the remaining budget is answered
 * without records this time. A trailing partial batch is never produced (the engine returns
 * whole batches).
 *
 * Long poll: when fewer than `min_bytes` are readable, the handler waits on
 * `engine.waitForData` (woken by any append to one of the partitions) until `max_wait_ms` has
 * passed since the request arrived, then answers with whatever there is. The wait offset of a
 * partition is the high watermark already seen, so a wake means new data, and the loop is
 * bounded by the deadline. The connection's signal ends the wait early at shutdown.
 *
 * Offsets outside [log start, log end] are OFFSET_OUT_OF_RANGE; unknown partitions
 * UNKNOWN_TOPIC_OR_PARTITION (Fetch never auto-creates).
 *
 * Sessions (KIP-227) are not kept: a sessionless full fetch (session id 0) is answered with
 * session id 0, which tells clients that no session exists, so they keep sending full fetches;
 * an incremental fetch naming a session id gets FETCH_SESSION_ID_NOT_FOUND, after which clients
 * fall back to full fetches.
 *
 * Isolation: without transactions in the log the last stable offset equals the high watermark;
 * `aborted_transactions` is an empty list for read_committed and null for read_uncommitted, as
 * Kafka sends.
 */
import { fetchApi, type FetchResponse } from '../apis/fetch.js'
import type { MessageInput } from '../schema/types.js'
import { bufferView, defineHandler, errorCode, kafkaCodeOf } from './context.js'

type PartitionAnswer = MessageInput<FetchResponse['responses'][number]['partitions'][number]>

interface Slot {
  topic: string
  partition: number
  fetchOffset: number
  partitionMaxBytes: number
  /** Wait for data past this offset (the high watermark seen so far). */
  waitOffset: number
  answer: PartitionAnswer
  bytes: number
  failed: boolean
}

/** Partitions in one Fetch, bounding the work and the wait list of one request. */
const FETCH_PARTITIONS_MAX = 10_000

const EMPTY = Buffer.alloc(0)

export const fetchHandler = defineHandler(fetchApi, async (context, request) => {
  const { engine, signal } = context
  const body = request.body
  const started = performance.now()
  const readCommitted = body.isolationLevel === 1
  const abortedTransactions = readCommitted ? [] : null
  if (request.apiVersion >= 7 && body.sessionId !== 0) {
    return { throttleTimeMs: 0, errorCode: errorCode('FETCH_SESSION_ID_NOT_FOUND'), sessionId: 0, responses: [] }
  }
  const slots: Slot[] = []
  const shape: Array<{ topic: string, slots: Slot[] }> = []
  for (const topic of body.topics) {
    const topicSlots: Slot[] = []
    for (const partition of topic.partitions) {
      const slot: Slot = {
        topic: topic.topic,
        partition: partition.partition,
        fetchOffset: partition.fetchOffset,
        partitionMaxBytes: Math.max(0, partition.partitionMaxBytes),
        waitOffset: partition.fetchOffset,
        bytes: 0,
        failed: false,
        answer: { partitionIndex: partition.partition, errorCode: 0, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1, abortedTransactions, preferredReadReplica: -1, records: EMPTY }
      }
      topicSlots.push(slot)
      slots.push(slot)
    }
    shape.push({ topic: topic.topic, slots: topicSlots })
  }
  if (slots.length > FETCH_PARTITIONS_MAX) {
    return { throttleTimeMs: 0, errorCode: errorCode('INVALID_REQUEST'), sessionId: 0, responses: [] }
  }
  const maxBytes = request.apiVersion >= 3 ? Math.max(0, body.maxBytes) : Number.MAX_SAFE_INTEGER
  const minBytes = Math.max(0, body.minBytes)
  const maxWaitMs = Math.max(0, body.maxWaitMs)

  const readAll = async (): Promise<number> => {
    let total = 0
    for (const slot of slots) {
      if (slot.failed) continue
      const remaining = Math.min(slot.partitionMaxBytes, maxBytes - total)
      const first = total === 0
      try {
        if (!first && remaining <= 0) {
          const log = engine.partitionLog(slot.topic, slot.partition)
          setOffsets(slot, log.highWatermark, log.logStartOffset, EMPTY)
          continue
        }
        const result = await engine.read(slot.topic, slot.partition, slot.fetchOffset, Math.max(1, remaining))
        const records = first || result.records.byteLength <= remaining ? result.records : EMPTY
        setOffsets(slot, result.highWatermark, result.logStartOffset, records)
        total += records.byteLength
      } catch (error) {
        slot.failed = true
        slot.answer = { ...slot.answer, errorCode: kafkaCodeOf(error, 'Fetch'), records: EMPTY }
      }
    }
    return total
  }

  let total = await readAll()
  // Bounded by the deadline: every round waits until new data or the end of max_wait_ms.
  while (total < minBytes && !signal.aborted && !slots.some((slot) => slot.failed)) {
    const leftMs = maxWaitMs - (performance.now() - started)
    if (leftMs <= 0) break
    await engine.waitForData(slots.map((slot) => ({ topic: slot.topic, partition: slot.partition, offset: slot.waitOffset })), leftMs, signal)
    total = await readAll()
  }
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 0,
    responses: shape.map(({ topic, slots: topicSlots }) => ({ topic, partitions: topicSlots.map((slot) => slot.answer) }))
  }
})

function setOffsets (slot: Slot, highWatermark: number, logStartOffset: number, records: Uint8Array): void {
  slot.answer.highWatermark = highWatermark
  slot.answer.lastStableOffset = highWatermark
  slot.answer.logStartOffset = logStartOffset
  slot.answer.records = bufferView(records)
  slot.bytes = records.byteLength
  slot.waitOffset = Math.max(slot.fetchOffset, highWatermark)
}
