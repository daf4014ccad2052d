/**
 * FindCoordinator (key 10): this node coordinates every group and every transactional id.
 * v0-3 ask for one key, v4+ for a list. Key types other than group (0) and transaction (1)
 * are INVALID_REQUEST.
 */
import { findCoordinatorApi } from '../apis/find-coordinator.js'
import { defineHandler, errorCode } from './context.js'

export const findCoordinatorHandler = defineHandler(findCoordinatorApi, async (context, request) => {
  const { nodeId, host, port } = context.broker
  const body = request.body
  const keyTypeValid = body.keyType === 0 || body.keyType === 1
  const code = keyTypeValid ? 0 : errorCode('INVALID_REQUEST')
  const message = keyTypeValid ? null : `key type ${body.keyType} is not supported`
  if (request.apiVersion < 4) {
    return keyTypeValid
      ? { throttleTimeMs: 0, errorCode: 0, errorMessage: null, nodeId, host, port }
      : { throttleTimeMs: 0, errorCode: code, errorMessage: message, nodeId: -1, host: '', port: -1 }
  }
  return {
    throttleTimeMs: 0,
    coordinators: body.coordinatorKeys.map((key) => keyTypeValid
      ? { key, nodeId, host, port, errorCode: 0, errorMessage: null }
      : { key, nodeId: -1, host: '', port: -1, errorCode: code, errorMessage: message })
  }
})
