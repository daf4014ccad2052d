/**
 * Heartbeat (key 12): keeps a member's session alive; REBALANCE_IN_PROGRESS tells it to rejoin.
 */
import { heartbeatApi } from '../apis/heartbeat.js'
import { defineHandler, groupCodeOf } from './context.js'

export const heartbeatHandler = defineHandler(heartbeatApi, async (context, request) => {
  const body = request.body
  try {
    context.engine.groups.heartbeat({
      groupId: body.groupId,
      generationId: body.generationId,
      memberId: body.memberId,
      groupInstanceId: request.apiVersion >= 3 ? body.groupInstanceId : null
    })
    return { throttleTimeMs: 0, errorCode: 0 }
  } catch (error) {
    return { throttleTimeMs: 0, errorCode: groupCodeOf(error, 'Heartbeat') }
  }
})
