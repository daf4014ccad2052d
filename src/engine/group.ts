/**
 * The state of one classic consumer group: its state machine, generation, selected
 * protocol, leader, members (dynamic and static), members still to confirm their id
 * (MEMBER_ID_REQUIRED), and its committed offsets. The coordinator drives it; this class
 * holds the data and enforces the transitions Kafka allows.
 *
 * ```
 *            join                 all joined / timeout            leader SyncGroup
 *   Empty ---------> PreparingRebalance ----------> CompletingRebalance ----------> Stable
 *     ^                 ^   |  (no members left)           |                          |
 *     |                 |   +------------------------------+--> Empty                 |
 *     |                 +---- join, leave, session expiry, leader rejoin -------------+
 *   (any) --- deleteGroups ---> Dead
 * ```
 *
 * Invariants: `members` iterates in join order (the first is the leader fallback);
 * `staticMembers` maps each group.instance.id to the one member id that currently holds it;
 * `leaderId` is null exactly when `members` is empty.
 */
import { assert } from '../core/assert.js'
import { GroupMember } from './group-member.js'

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead'

export const GROUP_STATES: readonly GroupState[] = Object.freeze(['Empty', 'PreparingRebalance', 'CompletingRebalance', 'Stable', 'Dead'])

const validPreviousStates: Readonly<Record<GroupState, readonly GroupState[]>> = Object.freeze({
  Empty: ['PreparingRebalance'],
  PreparingRebalance: ['Stable', 'CompletingRebalance', 'Empty'],
  CompletingRebalance: ['PreparingRebalance'],
  Stable: ['CompletingRebalance'],
  Dead: ['Stable', 'PreparingRebalance', 'CompletingRebalance', 'Empty', 'Dead']
})

/** A committed offset as the coordinator caches it (and `__consumer_offsets` stores it). */
export interface CommittedOffset {
  offset: number
  leaderEpoch: number
  metadata: string
  commitTimestamp: number
  expireTimestamp: number
  /** Order of the commit call that wrote it: a slower earlier append never overwrites a later one. */
  sequence: number
}

export class Group {
  state: GroupState
  stateTimestamp: number
  generationId = 0
  /** Set by the first member of a generation; null for groups that only commit offsets. */
  protocolType: string | null = null
  protocolName: string | null = null
  leaderId: string | null = null
  readonly members = new Map<string, GroupMember>()
  readonly staticMembers = new Map<string, string>()
  /** Member ids handed out with MEMBER_ID_REQUIRED, each with its expiry timer. */
  readonly pendingMembers = new Map<string, unknown>()
  /** Members that have not sent SyncGroup for the current generation. */
  readonly pendingSync = new Set<string>()
  readonly offsets = new Map<string, Map<number, CommittedOffset>>()
  offsetCount = 0
  /** The timer completing the join phase (initial delay or rebalance timeout). */
  joinTimer: unknown = null
  /** The timer removing members that never send SyncGroup. */
  syncTimer: unknown = null
  /** True while the first rebalance of an Empty group waits `group.initial.rebalance.delay.ms`. */
  initialDelayActive = false
  newMemberAdded = false

  constructor (readonly groupId: string, now: number, state: GroupState = 'Empty') {
    this.state = state
    this.stateTimestamp = now
  }

  is (state: GroupState): boolean { return this.state === state }

  transition (target: GroupState, now: number): void {
    assert(validPreviousStates[target].includes(this.state), `group transition ${this.state} -> ${target} is not allowed`)
    this.state = target
    this.stateTimestamp = now
  }

  add (member: GroupMember): void {
    assert(!this.members.has(member.memberId), 'member id already in group')
    if (this.members.size === 0) this.protocolType = member.protocolType
    this.members.set(member.memberId, member)
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId)
    if (this.leaderId === null) this.leaderId = member.memberId
  }

  remove (memberId: string): GroupMember | undefined {
    const member = this.members.get(memberId)
    if (member === undefined) return undefined
    this.members.delete(memberId)
    this.pendingSync.delete(memberId)
    if (member.groupInstanceId !== null && this.staticMembers.get(member.groupInstanceId) === memberId) {
      this.staticMembers.delete(member.groupInstanceId)
    }
    if (this.leaderId === memberId) this.leaderId = this.members.keys().next().value ?? null
    return member
  }

  /**
   * Gives a static member a new member id (a restarted instance), keeping its place, its
   * assignment and, if it led, the leadership. Map order moves it last, which only matters
   * for leader fallback.
   */
  replaceStaticMember (member: GroupMember, newMemberId: string): void {
    assert(member.groupInstanceId !== null, 'only static members are replaced')
    const oldMemberId = member.memberId
    this.members.delete(oldMemberId)
    member.memberId = newMemberId
    this.members.set(newMemberId, member)
    this.staticMembers.set(member.groupInstanceId, newMemberId)
    if (this.leaderId === oldMemberId) this.leaderId = newMemberId
    if (this.pendingSync.delete(oldMemberId)) this.pendingSync.add(newMemberId)
  }

  /** Kafka's group rebalance timeout: the largest of the members' rebalance timeouts. */
  rebalanceTimeoutMs (): number {
    let timeout = 0
    for (const member of this.members.values()) timeout = Math.max(timeout, member.rebalanceTimeoutMs)
    return timeout
  }

  hasAllMembersJoined (): boolean {
    if (this.pendingMembers.size > 0) return false
    for (const member of this.members.values()) if (!member.isAwaitingJoin) return false
    return true
  }

  /** Protocol names every member supports. */
  candidateProtocols (): Set<string> {
    const counts = new Map<string, number>()
    for (const member of this.members.values()) {
      for (const protocol of member.protocols) counts.set(protocol.name, (counts.get(protocol.name) ?? 0) + 1)
    }
    const candidates = new Set<string>()
    for (const [name, count] of counts) if (count === this.members.size) candidates.add(name)
    return candidates
  }

  /**
   * Whether a member offering `protocolType` and `protocolNames` may join: an Empty group
   * takes any non-empty offer; otherwise the type must match and at least one name must be
   * supported by every current member.
   */
  supportsProtocols (protocolType: string, protocolNames: readonly string[]): boolean {
    if (this.members.size === 0) return protocolType.length > 0 && protocolNames.length > 0
    if (protocolType !== this.protocolType) return false
    const candidates = this.candidateProtocols()
    return protocolNames.some((name) => candidates.has(name))
  }

  /**
   * The protocol for the next generation: among the names every member supports, the one
   * most members list first (each member votes for its most preferred candidate). Ties go
   * to the earlier preference of the longest-standing member, so the choice is deterministic.
   */
  selectProtocol (): string {
    const candidates = this.candidateProtocols()
    assert(candidates.size > 0, 'members share no protocol')
    const votes = new Map<string, number>()
    for (const member of this.members.values()) {
      const choice = member.protocols.find((protocol) => candidates.has(protocol.name))
      assert(choice !== undefined, 'member lacks a candidate protocol')
      votes.set(choice.name, (votes.get(choice.name) ?? 0) + 1)
    }
    const first = this.members.values().next().value
    assert(first !== undefined, 'selectProtocol needs members')
    let selected: string | null = null
    let selectedVotes = -1
    for (const protocol of first.protocols) {
      const count = votes.get(protocol.name) ?? 0
      if (candidates.has(protocol.name) && count > selectedVotes) {
        selected = protocol.name
        selectedVotes = count
      }
    }
    assert(selected !== null, 'no protocol selected')
    return selected
  }
}
