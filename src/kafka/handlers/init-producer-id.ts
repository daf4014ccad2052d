/**
 * InitProducerId (key 22): a fresh producer id with epoch 0 for idempotent producers (no
 * transactional id), from the engine, whose append path then deduplicates their batches.
 *
 * Transactional producers are not served yet: a non-null transactional id is answered with
 * TRANSACTIONAL_ID_AUTHORIZATION_FAILED. No code says "transactions are not available" exactly;
 * this one is non-retriable in kafkajs, librdkafka and the Java client, so the application
 * sees a clear, immediate failure instead of an endless retry. An empty transactional id is
 * INVALID_REQUEST, as in Kafka.
 */
import { initProducerIdApi } from '../apis/init-producer-id.js'
import { defineHandler, errorCode, kafkaCodeOf } from './context.js'

export const initProducerIdHandler = defineHandler(initProducerIdApi, async (context, request) => {
  const { transactionalId } = request.body
  if (transactionalId !== null) {
    const code = transactionalId.length === 0 ? errorCode('INVALID_REQUEST') : errorCode('TRANSACTIONAL_ID_AUTHORIZATION_FAILED')
    return { throttleTimeMs: 0, errorCode: code, producerId: -1, producerEpoch: -1 }
  }
  try {
    const identity = await context.engine.initProducerId()
    return { throttleTimeMs: 0, errorCode: 0, producerId: identity.producerId, producerEpoch: identity.producerEpoch }
  } catch (error) {
    return { throttleTimeMs: 0, errorCode: kafkaCodeOf(error, 'InitProducerId'), producerId: -1, producerEpoch: -1 }
  }
})
