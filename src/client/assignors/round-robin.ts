/**
 * Kafka's `roundrobin` assignor (RoundRobinAssignor): every partition of every subscribed
 * topic, sorted by (topic, partition), is dealt to the members in Kafka's member order,
 * circularly, skipping members not subscribed to the partition's topic.
 *
 * kafkajs offers its round robin under the protocol name 'RoundRobinAssigner' (version 0);
 * `kafkajsRoundRobinAssignor` is this same algorithm under that name, so kafkajs members and
 * Sluice members agree on a protocol in one group. Only the name must match: whichever member
 * leads computes the assignment for all. (kafkajs deals its topics' partitions over sorted
 * member ids without skipping unsubscribed members, so the exact split can differ.)
 */
import {
  AssignmentBuilder, compareMembers, compareStrings, partitionCount,
  type AssignorMember, type GroupAssignment, type PartitionAssignor
} from './assignor.js'

export function roundRobinAssign (members: readonly AssignorMember[], partitionsPerTopic: ReadonlyMap<string, number>): GroupAssignment {
  const sorted = [...members].sort(compareMembers)
  const builder = new AssignmentBuilder(sorted.map((member) => member.memberId))
  if (sorted.length === 0) return builder.build()
  const subscriptions = sorted.map((member) => new Set(member.topics))
  const topics = new Set<string>()
  for (const member of sorted) for (const topic of member.topics) topics.add(topic)
  let cursor = 0
  for (const topic of [...topics].sort(compareStrings)) {
    const count = partitionCount(partitionsPerTopic, topic)
    for (let partition = 0; partition < count; partition++) {
      // Some member subscribes to `topic`, so this loop ends within one lap.
      while (!subscriptions[cursor]!.has(topic)) cursor = (cursor + 1) % sorted.length
      builder.add(sorted[cursor]!.memberId, topic, partition)
      cursor = (cursor + 1) % sorted.length
    }
  }
  return builder.build()
}

export const roundRobinAssignor: PartitionAssignor = Object.freeze({
  name: 'roundrobin',
  version: 0,
  rebalanceProtocol: 'eager',
  assign: roundRobinAssign
})

/** The same algorithm under kafkajs's protocol name. */
export const kafkajsRoundRobinAssignor: PartitionAssignor = Object.freeze({
  name: 'RoundRobinAssigner',
  version: 0,
  rebalanceProtocol: 'eager',
  assign: roundRobinAssign
})
