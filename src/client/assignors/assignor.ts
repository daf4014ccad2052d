/**
 * The contract of a partition assignor, and the helpers the built-in ones share. In Kafka's
 * classic group protocol the assignor runs in the group leader (a client), not in the
 * coordinator: the leader decodes every member's subscription, calls `assign`, and sends
 * the result in SyncGroup.
 *
 * Assignors are pure and deterministic: the same members and partition counts always give
 * the same assignment, whatever order the members arrive in, so every leader computes the
 * same thing and tests can pin outputs.
 */
import type { TopicPartitions } from '../../engine/consumer-protocol.js'

export type { TopicPartitions } from '../../engine/consumer-protocol.js'

export interface AssignorMember {
  memberId: string
  groupInstanceId: string | null
  /** Subscribed topics. */
  topics: readonly string[]
  /** Partitions the member owns going into the rebalance (cooperative assignors read it). */
  ownedPartitions: readonly TopicPartitions[]
  /** Generation in which it owned them; -1 when unknown. */
  generationId: number
}

/** memberId -> its partitions, topics ascending, partitions ascending; every member has an entry. */
export type GroupAssignment = Map<string, TopicPartitions[]>

export interface PartitionAssignor {
  /** The protocol name members offer in JoinGroup. */
  readonly name: string
  /** Subscription version the assignor's members encode (kafkajs sends its assigner version). */
  readonly version: number
  /** 'cooperative' assignors never hand a partition to a new owner in the generation its old owner gives it up. */
  readonly rebalanceProtocol: 'eager' | 'cooperative'
  assign (members: readonly AssignorMember[], partitionsPerTopic: ReadonlyMap<string, number>): GroupAssignment
}

/**
 * Kafka's member order: members with a group.instance.id first, by instance id; then the
 * rest by member id. Java compares strings by UTF-16 code units, as `<` does.
 */
export function compareMembers (a: AssignorMember, b: AssignorMember): number {
  if (a.groupInstanceId !== null && b.groupInstanceId !== null) {
    if (a.groupInstanceId !== b.groupInstanceId) return a.groupInstanceId < b.groupInstanceId ? -1 : 1
    return compareStrings(a.memberId, b.memberId)
  }
  if (a.groupInstanceId !== null) return -1
  if (b.groupInstanceId !== null) return 1
  return compareStrings(a.memberId, b.memberId)
}

export function compareStrings (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** Number of partitions of `topic`, or 0 when it is unknown or not a usable count. */
export function partitionCount (partitionsPerTopic: ReadonlyMap<string, number>, topic: string): number {
  const count = partitionsPerTopic.get(topic)
  return count !== undefined && Number.isInteger(count) && count > 0 ? count : 0
}

/** Collects (topic, partition) pairs into sorted TopicPartitions. */
export class AssignmentBuilder {
  readonly #byMember = new Map<string, Map<string, number[]>>()

  constructor (memberIds: Iterable<string>) {
    for (const memberId of memberIds) this.#byMember.set(memberId, new Map())
  }

  add (memberId: string, topic: string, partition: number): void {
    const topics = this.#byMember.get(memberId)
    if (topics === undefined) throw new RangeError(`unknown member ${memberId}`)
    let partitions = topics.get(topic)
    if (partitions === undefined) {
      partitions = []
      topics.set(topic, partitions)
    }
    partitions.push(partition)
  }

  build (): GroupAssignment {
    const assignment: GroupAssignment = new Map()
    for (const [memberId, topics] of this.#byMember) {
      const list: TopicPartitions[] = []
      for (const topic of [...topics.keys()].sort(compareStrings)) {
        list.push({ topic, partitions: topics.get(topic)!.sort((a, b) => a - b) })
      }
      assignment.set(memberId, list)
    }
    return assignment
  }
}
