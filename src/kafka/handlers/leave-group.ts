/**
 * LeaveGroup (key 13): v0-2 name one member and answer with its outcome as the top-level
 * error; v3+ carry a batch of members (by member id or group instance id) and answer per
 * member, the top-level error being reserved for group-level failures.
 */
import { leaveGroupApi } from '../apis/leave-group.js'
import { defineHandler, errorCode as codeOfName, groupCodeOf } from './context.js'

export const leaveGroupHandler = defineHandler(leaveGroupApi, async (context, request) => {
  const body = request.body
  const batched = request.apiVersion >= 3
  const members = batched
    ? body.members.map((member) => ({ memberId: member.memberId, groupInstanceId: member.groupInstanceId }))
    : [{ memberId: body.memberId, groupInstanceId: null }]
  try {
    const results = context.engine.groups.leaveGroup(body.groupId, members)
    if (!batched) {
      const outcome = results[0]
      return { throttleTimeMs: 0, errorCode: outcome === undefined || outcome.errorCode === 'NONE' ? 0 : codeOfName(outcome.errorCode) }
    }
    return {
      throttleTimeMs: 0,
      errorCode: 0,
      members: results.map((result) => ({ memberId: result.memberId, groupInstanceId: result.groupInstanceId, errorCode: result.errorCode === 'NONE' ? 0 : codeOfName(result.errorCode) }))
    }
  } catch (error) {
    return { throttleTimeMs: 0, errorCode: groupCodeOf(error, 'LeaveGroup'), members: [] }
  }
})
