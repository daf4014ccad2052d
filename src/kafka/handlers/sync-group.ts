/**
 * SyncGroup (key 14): the leader hands in the assignment, every member receives its own. May
 * park until the leader's assignment arrives; released by the connection's signal.
 */
import { syncGroupApi } from '../apis/sync-group.js'
import { bufferView, defineHandler, groupCodeOf } from './context.js'

const EMPTY = Buffer.alloc(0)

export const syncGroupHandler = defineHandler(syncGroupApi, async (context, request) => {
  const body = request.body
  try {
    const result = await context.engine.groups.syncGroup({
      groupId: body.groupId,
      generationId: body.generationId,
      memberId: body.memberId,
      groupInstanceId: request.apiVersion >= 3 ? body.groupInstanceId : null,
      assignments: body.assignments.map((entry) => ({ memberId: entry.memberId, assignment: entry.assignment })),
      signal: context.signal
    })
    return { throttleTimeMs: 0, errorCode: 0, assignment: bufferView(result.assignment) }
  } catch (error) {
    return { throttleTimeMs: 0, errorCode: groupCodeOf(error, 'SyncGroup'), assignment: EMPTY }
  }
})
