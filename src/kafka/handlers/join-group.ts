/**
 * JoinGroup (key 11): the engine's group coordinator runs the classic protocol; this maps the
 * wire fields onto it. v0 has no rebalance timeout (the session timeout stands in, as in
 * Kafka); v4+ first-time dynamic members get MEMBER_ID_REQUIRED with their id. The call may
 * park until the rebalance completes; the connection's signal releases it at shutdown.
 */
import { joinGroupApi } from '../apis/join-group.js'
import { bufferView, defineHandler, errorCode, groupCodeOf } from './context.js'

export const joinGroupHandler = defineHandler(joinGroupApi, async (context, request) => {
  const body = request.body
  try {
    const result = await context.engine.groups.joinGroup({
      groupId: body.groupId,
      memberId: body.memberId,
      groupInstanceId: request.apiVersion >= 5 ? body.groupInstanceId : null,
      clientId: request.clientId ?? '',
      clientHost: context.clientHost,
      sessionTimeoutMs: body.sessionTimeoutMs,
      rebalanceTimeoutMs: request.apiVersion >= 1 ? body.rebalanceTimeoutMs : body.sessionTimeoutMs,
      protocolType: body.protocolType,
      protocols: body.protocols.map((protocol) => ({ name: protocol.name, metadata: protocol.metadata })),
      requireKnownMemberId: request.apiVersion >= 4,
      signal: context.signal
    })
    return {
      throttleTimeMs: 0,
      errorCode: result.errorCode === 'NONE' ? 0 : errorCode(result.errorCode),
      generationId: result.generationId,
      protocolName: result.protocolName ?? (request.apiVersion >= 7 ? null : ''),
      leader: result.leader,
      memberId: result.memberId,
      members: result.members.map((member) => ({ memberId: member.memberId, groupInstanceId: member.groupInstanceId, metadata: bufferView(member.metadata) }))
    }
  } catch (error) {
    return { throttleTimeMs: 0, errorCode: groupCodeOf(error, 'JoinGroup'), generationId: -1, protocolName: request.apiVersion >= 7 ? null : '', leader: '', memberId: body.memberId, members: [] }
  }
})
