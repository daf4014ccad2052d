/**
 * Kafka protocol codec on the two hot paths: decoding a Produce v9 request with 10 partitions,
 * and encoding a Fetch v12 response over 10 partitions of 1 MiB of stored batches.
 *
 * Expectation. Decoding walks ~60 fields (header, 1 topic, 10 partitions with their tag
 * buffers) through generated per-struct functions at ~10-20 ns a field, and takes each record set
 * as a `subarray` view (~75 ns each on this machine, the largest single cost): ~1.5-2.5 µs per
 * request whatever the batch sizes, i.e. ~400-600 k requests/s on one core. Encoding the Fetch response writes ~70 bytes of header per partition into one scratch
 * chunk and appends each 1 MiB record set as its own chunk for writev: a few µs per response,
 * independent of the 10 MiB it carries; a copying encoder would pay ~1 ms (10 MiB at ~10 GB/s),
 * which is the figure this bench guards against.
 */
import { fetchApi, produceApi } from '../../src/kafka/apis/index.js'
import { decodeRequest, encodeRequest, encodeResponse } from '../../src/kafka/protocol/frame.js'
import { seededBytes } from './seeded-bytes.js'
import type { MicroSuite } from './task.js'

const MIB = 1024 * 1024

const suite: MicroSuite = ({ smoke }) => {
  const partitions = 10
  const produceBatchBytes = smoke ? 256 : 16 * 1024
  const fetchBatchBytes = smoke ? 4096 : MIB
  const recordsPerProduceBatch = produceBatchBytes / 128

  const produceFrame = Buffer.concat(encodeRequest(produceApi, {
    apiVersion: 9,
    correlationId: 1,
    clientId: 'rdkafka',
    body: {
      transactionalId: null,
      acks: -1,
      timeoutMs: 30000,
      topicData: [{
        name: 'bench-topic',
        partitionData: Array.from({ length: partitions }, (_, index) => ({ index, records: seededBytes(produceBatchBytes, index + 1) }))
      }]
    }
  })).subarray(4)

  const stored = Array.from({ length: partitions }, (_, index) => seededBytes(fetchBatchBytes, index + 101))
  const fetchBody = {
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 0,
    responses: [{
      topic: 'bench-topic',
      partitions: stored.map((records, index) => ({
        partitionIndex: index,
        errorCode: 0,
        highWatermark: 1_000_000 + index,
        lastStableOffset: 1_000_000 + index,
        logStartOffset: 0,
        abortedTransactions: null,
        preferredReadReplica: -1,
        records
      }))
    }]
  }
  const fetchBytes = partitions * fetchBatchBytes

  return [
    {
      name: `decode Produce v9 request, ${partitions} partitions x ${produceBatchBytes} B`,
      fn: () => {
        const request = decodeRequest(produceFrame)
        return request.body.topicData[0].partitionData[partitions - 1].records
      },
      bytesPerOp: produceFrame.length,
      recordsPerOp: partitions * recordsPerProduceBatch
    },
    {
      name: `encode Fetch v12 response, ${partitions} partitions x ${fetchBatchBytes / 1024} KiB`,
      fn: () => {
        const chunks = encodeResponse(fetchApi, { apiVersion: 12, correlationId: 7, body: fetchBody })
        return chunks.length
      },
      bytesPerOp: fetchBytes
    }
  ]
}

export default suite
