/**
 * ListGroups (key 16): every group this node coordinates, filtered by state (v4+) and by type
 * (v5+; every group here is 'classic').
 */
import { listGroupsApi } from '../apis/list-groups.js'
import { defineHandler, groupCodeOf } from './context.js'

export const listGroupsHandler = defineHandler(listGroupsApi, async (context, request) => {
  const body = request.body
  try {
    const types = request.apiVersion >= 5 ? body.typesFilter.map((type) => type.toLowerCase()) : []
    const listed = context.engine.groups.listGroups(request.apiVersion >= 4 ? body.statesFilter : [])
      .filter((group) => types.length === 0 || types.includes(group.groupType))
    return {
      throttleTimeMs: 0,
      errorCode: 0,
      groups: listed.map((group) => ({ groupId: group.groupId, protocolType: group.protocolType, groupState: group.groupState, groupType: group.groupType }))
    }
  } catch (error) {
    return { throttleTimeMs: 0, errorCode: groupCodeOf(error, 'ListGroups'), groups: [] }
  }
})
