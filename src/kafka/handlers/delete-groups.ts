/**
 * DeleteGroups (key 42): removes empty groups and their committed offsets (NON_EMPTY_GROUP
 * while members remain, GROUP_ID_NOT_FOUND for unknown ones).
 */
import { deleteGroupsApi } from '../apis/delete-groups.js'
import { defineHandler, errorCode, groupCodeOf } from './context.js'

export const deleteGroupsHandler = defineHandler(deleteGroupsApi, async (context, request) => {
  try {
    const results = await context.engine.groups.deleteGroups(request.body.groupsNames)
    return { throttleTimeMs: 0, results: results.map((result) => ({ groupId: result.groupId, errorCode: result.errorCode === 'NONE' ? 0 : errorCode(result.errorCode) })) }
  } catch (error) {
    const code = groupCodeOf(error, 'DeleteGroups')
    return { throttleTimeMs: 0, results: request.body.groupsNames.map((groupId) => ({ groupId, errorCode: code })) }
  }
})
