/**
 * DeleteTopics (key 20): by name (v0-5 `topic_names`, v6+ `topics[].name`) or by topic id
 * (v6+ with a null name). Internal topics cannot be deleted (INVALID_TOPIC_EXCEPTION from the
 * engine); unknown ones are UNKNOWN_TOPIC_OR_PARTITION (UNKNOWN_TOPIC_ID by id).
 */
import { deleteTopicsApi } from '../apis/delete-topics.js'
import { ZERO_UUID, defineHandler, errorCode, kafkaCodeOf, messageOf, wireUuid } from './context.js'

export const deleteTopicsHandler = defineHandler(deleteTopicsApi, async (context, request) => {
  const { engine } = context
  const wanted = request.apiVersion >= 6
    ? request.body.topics.map((topic) => ({ name: topic.name, topicId: topic.topicId }))
    : request.body.topicNames.map((name) => ({ name: name as string | null, topicId: ZERO_UUID }))
  const responses = []
  for (const entry of wanted) {
    let name = entry.name
    if (name === null) {
      name = engine.topics.list({ includeInternal: true }).find((candidate) => wireUuid(engine.topics.find(candidate)?.topicId ?? '') === entry.topicId) ?? null
      if (name === null) {
        responses.push({ name: null, topicId: entry.topicId, errorCode: errorCode('UNKNOWN_TOPIC_ID'), errorMessage: `no topic has id ${entry.topicId}` })
        continue
      }
    }
    const found = engine.topics.find(name)
    const topicId = found === undefined ? entry.topicId : wireUuid(found.topicId)
    try {
      await engine.deleteTopic(name)
      responses.push({ name, topicId, errorCode: 0, errorMessage: null })
    } catch (error) {
      responses.push({ name, topicId, errorCode: kafkaCodeOf(error, 'DeleteTopics'), errorMessage: messageOf(error) })
    }
  }
  return { throttleTimeMs: 0, responses }
})
