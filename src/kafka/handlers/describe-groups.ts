/**
 * DescribeGroups (key 15): state, protocol and members of each group; an unknown group is
 * answered as Dead with no members, as Kafka does.
 */
import { describeGroupsApi } from '../apis/describe-groups.js'
import { AUTHORIZED_OPERATIONS_UNKNOWN, bufferView, defineHandler, errorCode, groupCodeOf } from './context.js'

export const describeGroupsHandler = defineHandler(describeGroupsApi, async (context, request) => {
  try {
    const described = context.engine.groups.describeGroups(request.body.groups)
    return {
      throttleTimeMs: 0,
      groups: described.map((group) => ({
        errorCode: group.errorCode === 'NONE' ? 0 : errorCode(group.errorCode),
        groupId: group.groupId,
        groupState: group.groupState,
        protocolType: group.protocolType,
        protocolData: group.protocolData,
        members: group.members.map((member) => ({
          memberId: member.memberId,
          groupInstanceId: member.groupInstanceId,
          clientId: member.clientId,
          clientHost: member.clientHost,
          memberMetadata: bufferView(member.memberMetadata),
          memberAssignment: bufferView(member.memberAssignment)
        })),
        authorizedOperations: AUTHORIZED_OPERATIONS_UNKNOWN
      }))
    }
  } catch (error) {
    const code = groupCodeOf(error, 'DescribeGroups')
    return { throttleTimeMs: 0, groups: request.body.groups.map((groupId) => ({ errorCode: code, groupId, groupState: '', protocolType: '', protocolData: '', members: [], authorizedOperations: AUTHORIZED_OPERATIONS_UNKNOWN })) }
  }
})
