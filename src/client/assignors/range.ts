/**
 * Kafka's `range` assignor (RangeAssignor, the Java default before cooperative-sticky):
 * topic by topic, the subscribed members in Kafka's member order split the partitions into
 * contiguous ranges; the first `P % C` members get one partition more.
 *
 * For a topic with P partitions and C subscribed members, with n = floor(P / C) and
 * extra = P % C, member i (0-based) gets [i*n + min(i, extra), that + n + (i < extra ? 1 : 0)).
 * Co-partitioned topics therefore land together, at the price of imbalance across topics.
 */
import {
  AssignmentBuilder, compareMembers, compareStrings, partitionCount,
  type AssignorMember, type GroupAssignment, type PartitionAssignor
} from './assignor.js'

export function rangeAssign (members: readonly AssignorMember[], partitionsPerTopic: ReadonlyMap<string, number>): GroupAssignment {
  const sorted = [...members].sort(compareMembers)
  const builder = new AssignmentBuilder(sorted.map((member) => member.memberId))
  const topics = new Set<string>()
  for (const member of sorted) for (const topic of member.topics) topics.add(topic)
  for (const topic of [...topics].sort(compareStrings)) {
    const count = partitionCount(partitionsPerTopic, topic)
    if (count === 0) continue
    const consumers = sorted.filter((member) => member.topics.includes(topic))
    const perMember = Math.floor(count / consumers.length)
    const extra = count % consumers.length
    for (let index = 0; index < consumers.length; index++) {
      const start = perMember * index + Math.min(index, extra)
      const length = perMember + (index < extra ? 1 : 0)
      for (let partition = start; partition < start + length; partition++) builder.add(consumers[index]!.memberId, topic, partition)
    }
  }
  return builder.build()
}

export const rangeAssignor: PartitionAssignor = Object.freeze({
  name: 'range',
  version: 0,
  rebalanceProtocol: 'eager',
  assign: rangeAssign
})
