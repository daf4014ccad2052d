/**
 * The classic group coordinator (Kafka's JoinGroup / SyncGroup / Heartbeat / LeaveGroup
 * protocol) and the committed-offset store of consumer groups. Protocol-agnostic: the
 * embedded consumer calls it directly and the Kafka broker maps requests onto it.
 *
 * What it owns: every group's state machine (group.ts), the timers that drive it (initial
 * rebalance delay, rebalance timeout, pending SyncGroup deadline, member sessions, pending
 * member ids), and the in-memory cache of committed offsets, which it persists through an
 * `OffsetStore` as `__consumer_offsets` records (offset-records.ts) and replays on `open`.
 *
 * Errors: group-level failures reject with SluiceError carrying Kafka's name
 * (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS, ...). MEMBER_ID_REQUIRED is a
 * result, not an error, because it carries the member id the client must rejoin with.
 * Per-member (LeaveGroup) and per-partition (OffsetCommit) outcomes are returned as values.
 *
 * Concurrency and durability: single-threaded; every method runs on the event loop. A commit
 * resolves after the store's append resolves, and only then is the offset visible to
 * `fetchOffsets`. Group metadata is written when a generation becomes Stable or Empty.
 * JoinGroup and SyncGroup are long waits and honour `signal`. `close()` clears every timer
 * and rejects every parked call with SLUICE_CLOSED.
 */
import { randomUUID } from 'node:crypto'
import diagnosticsChannel from 'node:diagnostics_channel'
import { assert } from '../core/assert.js'
import { SluiceError, isSluiceError, type ErrorCode } from '../core/errors.js'
import { Group, GROUP_STATES, type CommittedOffset, type GroupState } from './group.js'
import { EMPTY_BYTES, GroupMember, type GroupWaiter, type JoinGroupProtocol } from './group-member.js'
import {
  decodeGroupMetadataValue, decodeOffsetCommitValue, decodeOffsetsRecordKey, encodeGroupMetadataKey,
  encodeGroupMetadataValue, encodeOffsetCommitKey, encodeOffsetCommitValue, offsetsPartitionFor,
  type GroupMetadataValue
} from './offset-records.js'
import { MemoryOffsetStore, type OffsetStore, type OffsetStoreRecord } from './offset-store.js'
import { CONSUMER_PROTOCOL_TYPE, decodeSubscription, type TopicPartitions } from './consumer-protocol.js'

export type { JoinGroupProtocol } from './group-member.js'
export type { GroupState } from './group.js'

const rebalanceChannel = diagnosticsChannel.channel('engine:group:rebalance')
const memberRemovedChannel = diagnosticsChannel.channel('engine:group:member-removed')
const storeErrorChannel = diagnosticsChannel.channel('engine:group:store-error')

/** Timer functions; injectable so tests drive time deterministically. */
export interface GroupTimers {
  /**
   * `keepAlive` is true for the join-phase timers (initial delay, rebalance timeout): a parked
   * JoinGroup waits on them, and an embedded app awaiting its first join may have nothing
   * else pending. The rest (sessions, sync deadline, pending ids, retention) must not hold
   * the process open; a parked SyncGroup waits on its leader, not on a timer.
   */
  setTimeout (callback: () => void, delayMs: number, keepAlive: boolean): unknown
  clearTimeout (handle: unknown): void
}

export interface GroupCoordinatorOptions {
  /** Where offsets and group metadata persist. @defaultValue a new MemoryOffsetStore */
  store?: OffsetStore
  /** Wait for more members before the first rebalance of an Empty group. Kafka: `group.initial.rebalance.delay.ms`. @defaultValue 3000 */
  groupInitialRebalanceDelayMs?: number
  /** Kafka: `group.min.session.timeout.ms`. @defaultValue 6000 */
  groupMinSessionTimeoutMs?: number
  /** Kafka: `group.max.session.timeout.ms`. @defaultValue 1800000 */
  groupMaxSessionTimeoutMs?: number
  /**
   * Members (plus ids awaiting confirmation) per group. Kafka: `group.max.size`, unbounded
   * there; bounded here because one process holds every member. @defaultValue 1000
   */
  groupMaxSize?: number
  /** Groups held at once; a new group beyond it is refused with POLICY_VIOLATION. Sluice only. @defaultValue 10000 */
  groupCountMax?: number
  /** Committed partitions per group; more is refused with INVALID_COMMIT_OFFSET_SIZE. Sluice only. @defaultValue 100000 */
  groupOffsetCountMax?: number
  /** Protocols one JoinGroup may offer. Sluice only. @defaultValue 64 */
  joinProtocolCountMax?: number
  /** Kafka: `offset.metadata.max.bytes` (compared to the string's length, as Kafka does). @defaultValue 4096 */
  offsetMetadataMaxBytes?: number
  /** Kafka: `offsets.topic.num.partitions`. @defaultValue 50 */
  offsetsTopicNumPartitions?: number
  /**
   * How long committed offsets outlive their group's activity. Kafka: `offsets.retention.minutes`
   * (10080), here in ms. @defaultValue 604800000 (7 days)
   */
  offsetsRetentionMs?: number
  /** Kafka: `offsets.retention.check.interval.ms`. @defaultValue 600000 */
  offsetsRetentionCheckIntervalMs?: number
  /** Wall clock in ms. @defaultValue Date.now */
  now?: () => number
  /** @defaultValue the global setTimeout/clearTimeout; only timers a parked call waits on keep the process alive */
  timers?: GroupTimers
}

export const groupCoordinatorDefaults = Object.freeze({
  groupInitialRebalanceDelayMs: 3000,
  groupMinSessionTimeoutMs: 6000,
  groupMaxSessionTimeoutMs: 1_800_000,
  groupMaxSize: 1000,
  groupCountMax: 10_000,
  groupOffsetCountMax: 100_000,
  joinProtocolCountMax: 64,
  offsetMetadataMaxBytes: 4096,
  offsetsTopicNumPartitions: 50,
  offsetsRetentionMs: 604_800_000,
  offsetsRetentionCheckIntervalMs: 600_000
})

export interface ResolvedGroupCoordinatorOptions {
  readonly groupInitialRebalanceDelayMs: number
  readonly groupMinSessionTimeoutMs: number
  readonly groupMaxSessionTimeoutMs: number
  readonly groupMaxSize: number
  readonly groupCountMax: number
  readonly groupOffsetCountMax: number
  readonly joinProtocolCountMax: number
  readonly offsetMetadataMaxBytes: number
  readonly offsetsTopicNumPartitions: number
  readonly offsetsRetentionMs: number
  readonly offsetsRetentionCheckIntervalMs: number
  readonly store: OffsetStore
  readonly now: () => number
  readonly timers: GroupTimers
}

const INT32_MAX = 0x7fffffff

const defaultTimers: GroupTimers = Object.freeze({
  setTimeout (callback: () => void, delayMs: number, keepAlive: boolean): unknown {
    const handle = setTimeout(callback, delayMs)
    if (!keepAlive) handle.unref?.()
    return handle
  },
  clearTimeout (handle: unknown): void {
    clearTimeout(handle as ReturnType<typeof setTimeout>)
  }
})

const optionKeys = new Set([...Object.keys(groupCoordinatorDefaults), 'store', 'now', 'timers'])

export function resolveGroupCoordinatorOptions (options: GroupCoordinatorOptions = {}): ResolvedGroupCoordinatorOptions {
  for (const key of Object.keys(options)) {
    if (!optionKeys.has(key)) throw new SluiceError('SLUICE_INVALID_OPTION', `unknown group coordinator option '${key}'`)
  }
  const integer = (name: keyof typeof groupCoordinatorDefaults, min: number, max: number): number => {
    const value = options[name] ?? groupCoordinatorDefaults[name]
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new SluiceError('SLUICE_INVALID_OPTION', `groupCoordinator.${name} = ${String(value)} must be an integer in [${min}, ${max}]`)
    }
    return value
  }
  const resolved = {
    groupInitialRebalanceDelayMs: integer('groupInitialRebalanceDelayMs', 0, INT32_MAX),
    groupMinSessionTimeoutMs: integer('groupMinSessionTimeoutMs', 1, INT32_MAX),
    groupMaxSessionTimeoutMs: integer('groupMaxSessionTimeoutMs', 1, INT32_MAX),
    groupMaxSize: integer('groupMaxSize', 1, 1_000_000),
    groupCountMax: integer('groupCountMax', 1, 10_000_000),
    groupOffsetCountMax: integer('groupOffsetCountMax', 1, 100_000_000),
    joinProtocolCountMax: integer('joinProtocolCountMax', 1, 10_000),
    offsetMetadataMaxBytes: integer('offsetMetadataMaxBytes', 0, INT32_MAX),
    offsetsTopicNumPartitions: integer('offsetsTopicNumPartitions', 1, 100_000),
    offsetsRetentionMs: integer('offsetsRetentionMs', 1, Number.MAX_SAFE_INTEGER),
    offsetsRetentionCheckIntervalMs: integer('offsetsRetentionCheckIntervalMs', 1, INT32_MAX),
    store: options.store ?? new MemoryOffsetStore(),
    now: options.now ?? (() => Date.now()),
    timers: options.timers ?? defaultTimers
  }
  if (resolved.groupMinSessionTimeoutMs > resolved.groupMaxSessionTimeoutMs) {
    throw new SluiceError('SLUICE_INVALID_OPTION', 'groupCoordinator.groupMinSessionTimeoutMs must be <= groupMaxSessionTimeoutMs')
  }
  return Object.freeze(resolved)
}

export interface JoinGroupRequest {
  groupId: string
  /** '' for a member joining for the first time. */
  memberId: string
  groupInstanceId: string | null
  clientId: string
  clientHost: string
  sessionTimeoutMs: number
  /** JoinGroup v0 callers pass their session timeout, as Kafka does. */
  rebalanceTimeoutMs: number
  protocolType: string
  protocols: readonly JoinGroupProtocol[]
  /** True for JoinGroup v4+ callers: a new dynamic member first gets MEMBER_ID_REQUIRED. */
  requireKnownMemberId: boolean
  reason?: string | null
  signal?: AbortSignal
}

export interface JoinGroupResponseMember {
  memberId: string
  groupInstanceId: string | null
  metadata: Uint8Array
}

export interface JoinGroupResult {
  /** 'MEMBER_ID_REQUIRED': rejoin with `memberId`; the other fields are empty. */
  errorCode: 'NONE' | 'MEMBER_ID_REQUIRED'
  generationId: number
  protocolType: string | null
  protocolName: string | null
  leader: string
  memberId: string
  /** Filled for the leader only. */
  members: JoinGroupResponseMember[]
  /** True when the leader must not compute a new assignment (static leader rejoin, KIP-814). */
  skipAssignment: boolean
}

export interface SyncGroupRequest {
  groupId: string
  generationId: number
  memberId: string
  groupInstanceId: string | null
  /** v5+: checked against the group's when not null. */
  protocolType?: string | null
  protocolName?: string | null
  /** The leader's assignment per member; followers send []. */
  assignments: ReadonlyArray<{ memberId: string, assignment: Uint8Array }>
  signal?: AbortSignal
}

export interface SyncGroupResult {
  protocolType: string | null
  protocolName: string | null
  assignment: Uint8Array
}

export interface HeartbeatRequest {
  groupId: string
  generationId: number
  memberId: string
  groupInstanceId: string | null
}

export interface LeaveGroupMember {
  memberId: string
  groupInstanceId: string | null
  reason?: string | null
}

export interface LeaveGroupMemberResult {
  memberId: string
  groupInstanceId: string | null
  errorCode: 'NONE' | 'UNKNOWN_MEMBER_ID' | 'FENCED_INSTANCE_ID'
}

export interface GroupMemberDescription {
  memberId: string
  groupInstanceId: string | null
  clientId: string
  clientHost: string
  /** Empty unless the group is Stable. */
  memberMetadata: Uint8Array
  /** Empty unless the group is Stable. */
  memberAssignment: Uint8Array
}

export interface GroupDescription {
  groupId: string
  errorCode: 'NONE' | 'INVALID_GROUP_ID'
  /** 'Dead' for a group the coordinator does not know, as Kafka answers. */
  groupState: GroupState
  protocolType: string
  /** The selected protocol, only while Stable. */
  protocolData: string
  members: GroupMemberDescription[]
}

export interface GroupListing {
  groupId: string
  protocolType: string
  groupState: GroupState
  groupType: 'classic'
}

export interface DeleteGroupResult {
  groupId: string
  errorCode: 'NONE' | 'INVALID_GROUP_ID' | 'GROUP_ID_NOT_FOUND' | 'NON_EMPTY_GROUP'
}

export interface OffsetCommitPartition {
  topic: string
  partition: number
  offset: number
  /** -1 when unknown. @defaultValue -1 */
  leaderEpoch?: number
  /** @defaultValue '' */
  metadata?: string | null
}

export interface CommitOffsetsRequest {
  groupId: string
  /** -1 with memberId '' for a simple commit (allowed only while the group is Empty). */
  generationId: number
  memberId: string
  groupInstanceId: string | null
  offsets: readonly OffsetCommitPartition[]
}

export interface CommitOffsetsPartitionResult {
  topic: string
  partition: number
  errorCode: 'NONE' | 'OFFSET_METADATA_TOO_LARGE' | 'UNKNOWN_TOPIC_OR_PARTITION' | 'INVALID_COMMIT_OFFSET_SIZE'
}

export interface DeleteOffsetsPartitionResult {
  topic: string
  partition: number
  errorCode: 'NONE' | 'GROUP_SUBSCRIBED_TO_TOPIC'
}

export interface FetchedOffset {
  partition: number
  /** -1 when nothing is committed. */
  offset: number
  leaderEpoch: number
  metadata: string
  errorCode: 'NONE'
}

export interface FetchedTopicOffsets {
  topic: string
  partitions: FetchedOffset[]
}

function fail (code: ErrorCode, message: string): never {
  throw new SluiceError(code, message)
}

function validateGroupId (groupId: string): void {
  if (typeof groupId !== 'string' || groupId.length === 0) fail('INVALID_GROUP_ID', 'group id must be a non-empty string')
  if (groupId.length > 0x7fff) fail('INVALID_GROUP_ID', `group id of ${groupId.length} chars exceeds the protocol's 32767`)
}

/** JoinGroup v8+ carries the client's reason (KIP-800); it is appended for diagnostics. */
function withClientReason (reason: string, request: JoinGroupRequest): string {
  return request.reason == null || request.reason.length === 0 ? reason : `${reason} (client: ${request.reason})`
}

function isValidPartition (partition: number): boolean {
  return Number.isInteger(partition) && partition >= 0 && partition <= INT32_MAX
}

/** Kafka's error for an `__consumer_offsets` append that failed (GroupMetadataManager's mapping). */
function storeFailure (error: unknown, what: string): SluiceError {
  const code = isSluiceError(error) ? error.code : undefined
  if (code === 'MESSAGE_TOO_LARGE' || code === 'RECORD_LIST_TOO_LARGE' || code === 'SLUICE_BUFFER_FULL') {
    return new SluiceError('INVALID_COMMIT_OFFSET_SIZE', `${what}: ${(error as Error).message}`, { cause: error })
  }
  if (code === 'SLUICE_CLOSED' || code === 'NOT_LEADER_OR_FOLLOWER') {
    return new SluiceError('NOT_COORDINATOR', `${what}: ${(error as Error).message}`, { cause: error })
  }
  return new SluiceError('COORDINATOR_NOT_AVAILABLE', `${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
}

export class GroupCoordinator {
  readonly options: ResolvedGroupCoordinatorOptions
  readonly #groups = new Map<string, Group>()
  readonly #store: OffsetStore
  #commitSequence = 0
  #retentionTimer: unknown = null
  #closed = false
  #closePromise: Promise<void> | null = null

  private constructor (options: ResolvedGroupCoordinatorOptions) {
    this.options = options
    this.#store = options.store
  }

  /** Opens a coordinator and replays the store, so committed offsets and groups survive restarts. */
  static async open (options: GroupCoordinatorOptions = {}): Promise<GroupCoordinator> {
    const coordinator = new GroupCoordinator(resolveGroupCoordinatorOptions(options))
    await coordinator.#load()
    coordinator.#armRetention()
    return coordinator
  }

  /** The `__consumer_offsets` partition that holds `groupId` (what FindCoordinator keys on). */
  partitionFor (groupId: string): number {
    return offsetsPartitionFor(groupId, this.options.offsetsTopicNumPartitions)
  }

  // ---------------------------------------------------------------------------------------
  // JoinGroup

  async joinGroup (request: JoinGroupRequest): Promise<JoinGroupResult> {
    this.#checkOpen()
    this.#throwIfAborted(request.signal)
    validateGroupId(request.groupId)
    const { sessionTimeoutMs, rebalanceTimeoutMs } = request
    if (!Number.isInteger(sessionTimeoutMs) || sessionTimeoutMs < this.options.groupMinSessionTimeoutMs ||
      sessionTimeoutMs > this.options.groupMaxSessionTimeoutMs) {
      fail('INVALID_SESSION_TIMEOUT', `session timeout ${sessionTimeoutMs} ms is outside [${this.options.groupMinSessionTimeoutMs}, ${this.options.groupMaxSessionTimeoutMs}]`)
    }
    if (!Number.isInteger(rebalanceTimeoutMs) || rebalanceTimeoutMs < 0 || rebalanceTimeoutMs > INT32_MAX) {
      fail('INVALID_REQUEST', `rebalance timeout ${rebalanceTimeoutMs} ms must be an INT32 >= 0`)
    }
    if (request.protocols.length > this.options.joinProtocolCountMax) {
      fail('INVALID_REQUEST', `${request.protocols.length} protocols exceed ${this.options.joinProtocolCountMax}`)
    }
    if (request.groupInstanceId !== null && request.groupInstanceId.length === 0) {
      fail('INVALID_REQUEST', 'group.instance.id must be null or non-empty')
    }
    let group = this.#groups.get(request.groupId)
    const isUnknownMember = request.memberId === ''
    if (group === undefined) {
      if (!isUnknownMember) fail('UNKNOWN_MEMBER_ID', `group ${request.groupId} has no member ${request.memberId}`)
      group = this.#createGroup(request.groupId)
    }
    if (group.is('Dead')) fail('COORDINATOR_NOT_AVAILABLE', `group ${request.groupId} is being deleted`)
    try {
      return isUnknownMember ? this.#joinNewMember(group, request) : this.#joinExistingMember(group, request)
    } finally {
      this.#dropIfUnused(group)
    }
  }

  #joinNewMember (group: Group, request: JoinGroupRequest): Promise<JoinGroupResult> | JoinGroupResult {
    const names = request.protocols.map((protocol) => protocol.name)
    if (!group.supportsProtocols(request.protocolType, names)) {
      fail('INCONSISTENT_GROUP_PROTOCOL', `protocol type '${request.protocolType}' / [${names.join(', ')}] is incompatible with group ${group.groupId}`)
    }
    const instanceId = request.groupInstanceId
    if (instanceId !== null) {
      const newMemberId = `${instanceId}-${randomUUID()}`
      const existingId = group.staticMembers.get(instanceId)
      if (existingId !== undefined) return this.#replaceStaticMember(group, group.members.get(existingId)!, newMemberId, request)
      this.#checkGroupSize(group)
      return this.#addMemberAndRebalance(group, newMemberId, request)
    }
    this.#checkGroupSize(group)
    const newMemberId = `${request.clientId}-${randomUUID()}`
    if (request.requireKnownMemberId) {
      // The id is held until the member rejoins with it or its session timeout passes.
      const timer = this.#setTimer(() => {
        if (!group.pendingMembers.has(newMemberId)) return
        group.pendingMembers.delete(newMemberId)
        this.#maybeCompleteJoin(group)
        this.#dropIfUnused(group)
      }, request.sessionTimeoutMs)
      group.pendingMembers.set(newMemberId, timer)
      return {
        errorCode: 'MEMBER_ID_REQUIRED',
        generationId: -1,
        protocolType: null,
        protocolName: null,
        leader: '',
        memberId: newMemberId,
        members: [],
        skipAssignment: false
      }
    }
    return this.#addMemberAndRebalance(group, newMemberId, request)
  }

  #checkGroupSize (group: Group): void {
    if (group.members.size + group.pendingMembers.size >= this.options.groupMaxSize) {
      fail('GROUP_MAX_SIZE_REACHED', `group ${group.groupId} has reached group.max.size ${this.options.groupMaxSize}`)
    }
  }

  #joinExistingMember (group: Group, request: JoinGroupRequest): Promise<JoinGroupResult> | JoinGroupResult {
    const { memberId } = request
    const names = request.protocols.map((protocol) => protocol.name)
    const pendingTimer = group.pendingMembers.get(memberId)
    if (pendingTimer !== undefined) {
      if (!group.supportsProtocols(request.protocolType, names)) {
        fail('INCONSISTENT_GROUP_PROTOCOL', `protocols [${names.join(', ')}] are incompatible with group ${group.groupId}`)
      }
      this.options.timers.clearTimeout(pendingTimer)
      group.pendingMembers.delete(memberId)
      return this.#addMemberAndRebalance(group, memberId, request)
    }
    const member = this.#validateMember(group, memberId, request.groupInstanceId)
    if (!group.supportsProtocols(request.protocolType, names)) {
      fail('INCONSISTENT_GROUP_PROTOCOL', `protocols [${names.join(', ')}] are incompatible with group ${group.groupId}`)
    }
    switch (group.state) {
      case 'PreparingRebalance':
        return this.#updateMemberAndRebalance(group, member, request, 'member rejoined')
      case 'CompletingRebalance':
        if (member.matches(request.protocols)) {
          // The member lost its JoinGroup response: answer again with the current generation.
          this.#updateMemberFields(member, request)
          this.#scheduleSession(group, member)
          return this.#joinResult(group, member, false)
        }
        return this.#updateMemberAndRebalance(group, member, request, 'member rejoined with new metadata')
      case 'Stable':
        if (group.leaderId === memberId || !member.matches(request.protocols)) {
          return this.#updateMemberAndRebalance(group, member, request, group.leaderId === memberId ? 'leader rejoined' : 'member rejoined with new metadata')
        }
        this.#updateMemberFields(member, request)
        this.#scheduleSession(group, member)
        return this.#joinResult(group, member, false)
      case 'Empty':
      case 'Dead':
        return fail('UNKNOWN_MEMBER_ID', `group ${group.groupId} has no member ${memberId}`)
    }
  }

  #updateMemberFields (member: GroupMember, request: JoinGroupRequest): void {
    member.clientId = request.clientId
    member.clientHost = request.clientHost
    member.sessionTimeoutMs = request.sessionTimeoutMs
    member.rebalanceTimeoutMs = request.rebalanceTimeoutMs
    member.protocols = request.protocols.map((protocol) => ({ name: protocol.name, metadata: protocol.metadata }))
  }

  #addMemberAndRebalance (group: Group, memberId: string, request: JoinGroupRequest): Promise<JoinGroupResult> {
    const member = new GroupMember(memberId, request.groupInstanceId, request.clientId, request.clientHost,
      request.sessionTimeoutMs, request.rebalanceTimeoutMs, request.protocolType,
      request.protocols.map((protocol) => ({ name: protocol.name, metadata: protocol.metadata })))
    group.add(member)
    if (group.initialDelayActive) group.newMemberAdded = true
    const result = this.#parkJoin(group, member, request.signal)
    if (group.is('PreparingRebalance')) this.#maybeCompleteJoin(group)
    else this.#prepareRebalance(group, withClientReason(`new member ${memberId} joined`, request))
    return result
  }

  #updateMemberAndRebalance (group: Group, member: GroupMember, request: JoinGroupRequest, reason: string): Promise<JoinGroupResult> {
    this.#updateMemberFields(member, request)
    const result = this.#parkJoin(group, member, request.signal)
    if (group.is('PreparingRebalance')) this.#maybeCompleteJoin(group)
    else this.#prepareRebalance(group, withClientReason(reason, request))
    return result
  }

  /**
   * A known group.instance.id joins without a member id: the instance restarted. The new id
   * replaces the old one (which is fenced from now on). A Stable group keeps its generation
   * and assignment when the member offers the same protocols; otherwise, or while the
   * leader may be assigning to the old id, the group rebalances.
   */
  async #replaceStaticMember (group: Group, member: GroupMember, newMemberId: string, request: JoinGroupRequest): Promise<JoinGroupResult> {
    const oldMemberId = member.memberId
    const fenced = new SluiceError('FENCED_INSTANCE_ID', `member ${oldMemberId} was replaced by ${newMemberId} for instance ${request.groupInstanceId}`)
    member.joinWaiter?.reject(fenced)
    member.syncWaiter?.reject(fenced)
    member.joinWaiter = null
    member.syncWaiter = null
    const unchanged = member.matches(request.protocols)
    group.replaceStaticMember(member, newMemberId)
    switch (group.state) {
      case 'Stable': {
        if (!unchanged) return await this.#updateMemberAndRebalance(group, member, request, `static member ${request.groupInstanceId} rejoined with new metadata`)
        this.#updateMemberFields(member, request)
        member.isNew = false
        this.#scheduleSession(group, member)
        const generationId = group.generationId
        try {
          await this.#storeGroupMetadata(group)
        } catch (error) {
          // Undo: the old id stays valid, the new one was never handed out.
          if (group.members.get(newMemberId) === member && group.generationId === generationId) {
            group.replaceStaticMember(member, oldMemberId)
          }
          throw storeFailure(error, `group ${group.groupId} metadata`)
        }
        this.#checkOpen()
        if (group.members.get(newMemberId) !== member) fail('UNKNOWN_MEMBER_ID', `member ${newMemberId} left during its join`)
        return this.#joinResult(group, member, group.leaderId === newMemberId)
      }
      case 'CompletingRebalance':
        return await this.#updateMemberAndRebalance(group, member, request, `static member ${request.groupInstanceId} rejoined during CompletingRebalance`)
      case 'PreparingRebalance':
        return await this.#updateMemberAndRebalance(group, member, request, `static member ${request.groupInstanceId} rejoined`)
      case 'Empty':
      case 'Dead':
        assert(false, 'a group with static members is neither Empty nor Dead')
    }
  }

  /** The JoinGroup answer for the current generation; the leader also gets the members. */
  #joinResult (group: Group, member: GroupMember, skipAssignment: boolean): JoinGroupResult {
    const isLeader = group.leaderId === member.memberId
    const members: JoinGroupResponseMember[] = []
    if (isLeader) {
      for (const other of group.members.values()) {
        members.push({ memberId: other.memberId, groupInstanceId: other.groupInstanceId, metadata: other.metadata(group.protocolName) })
      }
    }
    return {
      errorCode: 'NONE',
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leader: group.leaderId ?? '',
      memberId: member.memberId,
      members,
      skipAssignment: isLeader && skipAssignment
    }
  }

  #parkJoin (group: Group, member: GroupMember, signal: AbortSignal | undefined): Promise<JoinGroupResult> {
    return this.#park<JoinGroupResult>(member, 'join', signal, () => {
      // An abandoned first join leaves nothing worth waiting for; an existing member that
      // does not rejoin is dropped when the join phase completes, as Kafka does.
      if (member.isNew && group.members.get(member.memberId) === member) this.#removeMember(group, member, 'join aborted')
      else this.#maybeCompleteJoin(group)
    })
  }

  #park<Result> (member: GroupMember, kind: 'join' | 'sync', signal: AbortSignal | undefined, onAbort: () => void): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      const previous = kind === 'join' ? member.joinWaiter : member.syncWaiter
      previous?.reject(new SluiceError('REBALANCE_IN_PROGRESS', `a newer ${kind} request from ${member.memberId} replaced this one`))
      const abort = (): void => {
        const current = kind === 'join' ? member.joinWaiter : member.syncWaiter
        if (current !== waiter) return
        if (kind === 'join') member.joinWaiter = null
        else member.syncWaiter = null
        reject(new SluiceError('SLUICE_ABORTED', `${kind} of ${member.memberId} aborted`, { cause: signal?.reason }))
        onAbort()
      }
      const waiter: GroupWaiter<unknown> = {
        resolve: (result) => {
          signal?.removeEventListener('abort', abort)
          resolve(result as Result)
        },
        reject: (error) => {
          signal?.removeEventListener('abort', abort)
          reject(error)
        }
      }
      if (kind === 'join') member.joinWaiter = waiter
      else member.syncWaiter = waiter
      signal?.addEventListener('abort', abort, { once: true })
    })
  }

  // ---------------------------------------------------------------------------------------
  // Rebalance mechanics

  #prepareRebalance (group: Group, reason: string): void {
    if (group.is('CompletingRebalance')) this.#resetAssignments(group, new SluiceError('REBALANCE_IN_PROGRESS', `group ${group.groupId} is rebalancing: ${reason}`))
    this.#clearTimer(group, 'syncTimer')
    group.pendingSync.clear()
    const wasEmpty = group.is('Empty')
    group.transition('PreparingRebalance', this.options.now())
    rebalanceChannel.publish({ groupId: group.groupId, phase: 'prepare', generationId: group.generationId, reason })
    if (wasEmpty) {
      // Kafka's InitialDelayedJoin: wait for more members before the first generation,
      // extending while new members keep arriving, up to the rebalance timeout.
      const rebalanceTimeoutMs = group.rebalanceTimeoutMs()
      const delayMs = Math.min(this.options.groupInitialRebalanceDelayMs, rebalanceTimeoutMs)
      group.initialDelayActive = true
      group.newMemberAdded = false
      this.#armInitialDelay(group, delayMs, Math.max(rebalanceTimeoutMs - delayMs, 0))
      return
    }
    this.#clearTimer(group, 'joinTimer')
    group.joinTimer = this.#setTimer(() => {
      group.joinTimer = null
      if (group.is('PreparingRebalance')) this.#completeJoin(group)
    }, group.rebalanceTimeoutMs(), true)
    this.#maybeCompleteJoin(group)
  }

  #armInitialDelay (group: Group, delayMs: number, remainingMs: number): void {
    group.joinTimer = this.#setTimer(() => {
      group.joinTimer = null
      if (!group.is('PreparingRebalance')) return
      if (group.newMemberAdded && remainingMs > 0) {
        group.newMemberAdded = false
        const nextDelayMs = Math.min(this.options.groupInitialRebalanceDelayMs, remainingMs)
        this.#armInitialDelay(group, nextDelayMs, Math.max(remainingMs - nextDelayMs, 0))
        return
      }
      this.#completeJoin(group)
    }, delayMs, true)
  }

  #maybeCompleteJoin (group: Group): void {
    if (group.is('PreparingRebalance') && !group.initialDelayActive && group.hasAllMembersJoined()) this.#completeJoin(group)
  }

  /** Ends the join phase: drops members that did not rejoin and starts the next generation. */
  #completeJoin (group: Group): void {
    assert(group.is('PreparingRebalance'), 'completeJoin outside PreparingRebalance')
    this.#clearTimer(group, 'joinTimer')
    group.initialDelayActive = false
    group.newMemberAdded = false
    for (const member of [...group.members.values()]) {
      if (!member.isAwaitingJoin) this.#removeMemberQuietly(group, member, 'did not rejoin in time')
    }
    const now = this.options.now()
    group.generationId++
    if (group.members.size === 0) {
      group.protocolName = null
      group.transition('Empty', now)
      rebalanceChannel.publish({ groupId: group.groupId, phase: 'empty', generationId: group.generationId })
      this.#storeGroupMetadataInBackground(group)
      this.#dropIfUnused(group)
      return
    }
    group.protocolName = group.selectProtocol()
    group.transition('CompletingRebalance', now)
    rebalanceChannel.publish({ groupId: group.groupId, phase: 'complete-join', generationId: group.generationId, protocolName: group.protocolName, memberCount: group.members.size })
    for (const member of group.members.values()) {
      const waiter = member.joinWaiter
      assert(waiter !== null, 'every remaining member awaits its join')
      member.joinWaiter = null
      member.isNew = false
      group.pendingSync.add(member.memberId)
      this.#scheduleSession(group, member)
      waiter.resolve(this.#joinResult(group, member, false))
    }
    // Members that never send SyncGroup are removed after the rebalance timeout.
    const generationId = group.generationId
    group.syncTimer = this.#setTimer(() => {
      group.syncTimer = null
      if (group.generationId !== generationId || group.pendingSync.size === 0) return
      if (!group.is('CompletingRebalance') && !group.is('Stable')) return
      for (const memberId of [...group.pendingSync]) {
        const member = group.members.get(memberId)
        if (member !== undefined) this.#removeMemberQuietly(group, member, 'no SyncGroup within the rebalance timeout')
      }
      this.#prepareRebalance(group, 'members did not sync in time')
    }, group.rebalanceTimeoutMs())
  }

  /** Clears every member's assignment and fails parked SyncGroups (the generation is void). */
  #resetAssignments (group: Group, error: SluiceError): void {
    for (const member of group.members.values()) {
      member.assignment = EMPTY_BYTES
      const waiter = member.syncWaiter
      member.syncWaiter = null
      waiter?.reject(error)
    }
  }

  /** Removes a member and moves the group along (rebalance, or finish the join phase). */
  #removeMember (group: Group, member: GroupMember, reason: string): void {
    this.#removeMemberQuietly(group, member, reason)
    switch (group.state) {
      case 'Stable':
      case 'CompletingRebalance':
        this.#prepareRebalance(group, `member ${member.memberId} removed: ${reason}`)
        break
      case 'PreparingRebalance':
        this.#maybeCompleteJoin(group)
        break
      case 'Empty':
      case 'Dead':
        break
    }
  }

  #removeMemberQuietly (group: Group, member: GroupMember, reason: string): void {
    const error = new SluiceError('UNKNOWN_MEMBER_ID', `member ${member.memberId} removed from group ${group.groupId}: ${reason}`)
    const { joinWaiter, syncWaiter } = member
    member.joinWaiter = null
    member.syncWaiter = null
    joinWaiter?.reject(error)
    syncWaiter?.reject(error)
    if (member.sessionTimer !== null) {
      this.options.timers.clearTimeout(member.sessionTimer)
      member.sessionTimer = null
    }
    group.remove(member.memberId)
    memberRemovedChannel.publish({ groupId: group.groupId, memberId: member.memberId, reason })
  }

  #scheduleSession (group: Group, member: GroupMember): void {
    member.sessionDeadline = this.options.now() + member.sessionTimeoutMs
    if (member.sessionTimer === null) this.#armSession(group, member, member.sessionTimeoutMs)
  }

  /**
   * One timer per member, re-armed lazily: a heartbeat only moves the deadline, and the
   * timer, when it fires early, sleeps for the rest. Members parked in JoinGroup or SyncGroup
   * are alive by definition; the rebalance and sync timeouts bound those waits.
   */
  #armSession (group: Group, member: GroupMember, delayMs: number): void {
    member.sessionTimer = this.#setTimer(() => {
      member.sessionTimer = null
      if (group.members.get(member.memberId) !== member) return
      const now = this.options.now()
      if (member.isAwaitingJoin || member.isAwaitingSync) {
        member.sessionDeadline = now + member.sessionTimeoutMs
        this.#armSession(group, member, member.sessionTimeoutMs)
        return
      }
      const remainingMs = member.sessionDeadline - now
      if (remainingMs > 0) {
        this.#armSession(group, member, remainingMs)
        return
      }
      this.#removeMember(group, member, `session timeout of ${member.sessionTimeoutMs} ms expired`)
      this.#dropIfUnused(group)
    }, Math.max(delayMs, 1))
  }

  /** Resolves the member a request names, with Kafka's static-membership fencing. */
  #validateMember (group: Group, memberId: string, groupInstanceId: string | null): GroupMember {
    if (groupInstanceId !== null) {
      const holder = group.staticMembers.get(groupInstanceId)
      if (holder === undefined) fail('UNKNOWN_MEMBER_ID', `group ${group.groupId} has no static member ${groupInstanceId}`)
      if (holder !== memberId) fail('FENCED_INSTANCE_ID', `member ${memberId} of instance ${groupInstanceId} was fenced by ${holder}`)
    }
    const member = group.members.get(memberId)
    if (member === undefined) fail('UNKNOWN_MEMBER_ID', `group ${group.groupId} has no member ${memberId}`)
    return member
  }

  #knownGroup (groupId: string): Group {
    validateGroupId(groupId)
    const group = this.#groups.get(groupId)
    if (group === undefined) fail('UNKNOWN_MEMBER_ID', `group ${groupId} is unknown`)
    if (group.is('Dead')) fail('COORDINATOR_NOT_AVAILABLE', `group ${groupId} is being deleted`)
    return group
  }

  // ---------------------------------------------------------------------------------------
  // SyncGroup, Heartbeat, LeaveGroup

  async syncGroup (request: SyncGroupRequest): Promise<SyncGroupResult> {
    this.#checkOpen()
    this.#throwIfAborted(request.signal)
    const group = this.#knownGroup(request.groupId)
    const member = this.#validateMember(group, request.memberId, request.groupInstanceId)
    if (request.generationId !== group.generationId) {
      fail('ILLEGAL_GENERATION', `generation ${request.generationId} of ${request.memberId} is not the group's ${group.generationId}`)
    }
    if (request.protocolType != null && request.protocolType !== group.protocolType) {
      fail('INCONSISTENT_GROUP_PROTOCOL', `protocol type ${request.protocolType} is not the group's ${String(group.protocolType)}`)
    }
    if (request.protocolName != null && request.protocolName !== group.protocolName) {
      fail('INCONSISTENT_GROUP_PROTOCOL', `protocol ${request.protocolName} is not the group's ${String(group.protocolName)}`)
    }
    switch (group.state) {
      case 'Empty':
      case 'Dead':
        return fail('UNKNOWN_MEMBER_ID', `group ${group.groupId} has no member ${request.memberId}`)
      case 'PreparingRebalance':
        return fail('REBALANCE_IN_PROGRESS', `group ${group.groupId} is rebalancing`)
      case 'Stable':
        group.pendingSync.delete(member.memberId)
        this.#scheduleSession(group, member)
        return { protocolType: group.protocolType, protocolName: group.protocolName, assignment: member.assignment }
      case 'CompletingRebalance': {
        group.pendingSync.delete(member.memberId)
        const result = this.#park<SyncGroupResult>(member, 'sync', request.signal, () => {
          if (group.members.get(member.memberId) === member) group.pendingSync.add(member.memberId)
        })
        if (group.leaderId === member.memberId) this.#applyLeaderAssignment(group, request.assignments)
        return await result
      }
    }
  }

  /** Persists the leader's assignment, then makes the group Stable and answers every parked sync. */
  #applyLeaderAssignment (group: Group, assignments: SyncGroupRequest['assignments']): void {
    const byMember = new Map<string, Uint8Array>()
    for (const entry of assignments) {
      if (group.members.has(entry.memberId)) byMember.set(entry.memberId, entry.assignment)
    }
    const generationId = group.generationId
    const metadata = this.#groupMetadataValue(group, byMember)
    const current = (): boolean => group.generationId === generationId && group.is('CompletingRebalance')
    this.#appendGroupMetadata(group.groupId, metadata).then(() => {
      if (!current() || this.#closed) return
      for (const member of group.members.values()) member.assignment = byMember.get(member.memberId) ?? EMPTY_BYTES
      // The sync deadline armed at the end of the join phase keeps watching members that
      // have not sent SyncGroup yet (it also acts in Stable); nothing left to watch: disarm.
      if (group.pendingSync.size === 0) this.#clearTimer(group, 'syncTimer')
      group.transition('Stable', this.options.now())
      rebalanceChannel.publish({ groupId: group.groupId, phase: 'stable', generationId })
      for (const member of group.members.values()) {
        const waiter = member.syncWaiter
        if (waiter === null) continue
        member.syncWaiter = null
        this.#scheduleSession(group, member)
        waiter.resolve({ protocolType: group.protocolType, protocolName: group.protocolName, assignment: member.assignment } satisfies SyncGroupResult)
      }
    }, (error: unknown) => {
      if (!current() || this.#closed) return
      this.#resetAssignments(group, storeFailure(error, `group ${group.groupId} metadata`))
      this.#prepareRebalance(group, 'storing the assignment failed')
    })
  }

  heartbeat (request: HeartbeatRequest): void {
    this.#checkOpen()
    const group = this.#knownGroup(request.groupId)
    const member = this.#validateMember(group, request.memberId, request.groupInstanceId)
    if (request.generationId !== group.generationId) {
      fail('ILLEGAL_GENERATION', `generation ${request.generationId} of ${request.memberId} is not the group's ${group.generationId}`)
    }
    switch (group.state) {
      case 'Empty':
      case 'Dead':
        return fail('UNKNOWN_MEMBER_ID', `group ${group.groupId} has no member ${request.memberId}`)
      case 'PreparingRebalance':
        this.#scheduleSession(group, member)
        return fail('REBALANCE_IN_PROGRESS', `group ${group.groupId} is rebalancing; rejoin`)
      case 'CompletingRebalance':
      case 'Stable':
        this.#scheduleSession(group, member)
    }
  }

  /** LeaveGroup (v3+ batched). An unknown group fails as a whole with UNKNOWN_MEMBER_ID. */
  leaveGroup (groupId: string, members: readonly LeaveGroupMember[]): LeaveGroupMemberResult[] {
    this.#checkOpen()
    const group = this.#knownGroup(groupId)
    if (members.length > this.options.groupMaxSize + group.pendingMembers.size) {
      fail('INVALID_REQUEST', `${members.length} members exceed group.max.size`)
    }
    const results: LeaveGroupMemberResult[] = []
    for (const { memberId, groupInstanceId } of members) {
      let errorCode: LeaveGroupMemberResult['errorCode'] = 'NONE'
      if (groupInstanceId !== null) {
        const holder = group.staticMembers.get(groupInstanceId)
        if (holder === undefined) errorCode = 'UNKNOWN_MEMBER_ID'
        else if (memberId !== '' && memberId !== holder) errorCode = 'FENCED_INSTANCE_ID'
        else this.#removeMember(group, group.members.get(holder)!, `static member ${groupInstanceId} left`)
      } else if (group.pendingMembers.has(memberId)) {
        this.options.timers.clearTimeout(group.pendingMembers.get(memberId))
        group.pendingMembers.delete(memberId)
        this.#maybeCompleteJoin(group)
      } else {
        const member = group.members.get(memberId)
        if (member === undefined) errorCode = 'UNKNOWN_MEMBER_ID'
        else this.#removeMember(group, member, 'left the group')
      }
      results.push({ memberId, groupInstanceId, errorCode })
    }
    this.#dropIfUnused(group)
    return results
  }

  // ---------------------------------------------------------------------------------------
  // DescribeGroups, ListGroups, DeleteGroups

  describeGroups (groupIds: readonly string[]): GroupDescription[] {
    this.#checkOpen()
    return groupIds.map((groupId): GroupDescription => {
      if (typeof groupId !== 'string' || groupId.length === 0) {
        return { groupId, errorCode: 'INVALID_GROUP_ID', groupState: 'Dead', protocolType: '', protocolData: '', members: [] }
      }
      const group = this.#groups.get(groupId)
      if (group === undefined || group.is('Dead')) {
        return { groupId, errorCode: 'NONE', groupState: 'Dead', protocolType: '', protocolData: '', members: [] }
      }
      const stable = group.is('Stable')
      return {
        groupId,
        errorCode: 'NONE',
        groupState: group.state,
        protocolType: group.protocolType ?? '',
        protocolData: stable ? (group.protocolName ?? '') : '',
        members: [...group.members.values()].map((member) => ({
          memberId: member.memberId,
          groupInstanceId: member.groupInstanceId,
          clientId: member.clientId,
          clientHost: member.clientHost,
          memberMetadata: stable ? member.metadata(group.protocolName) : EMPTY_BYTES,
          memberAssignment: stable ? member.assignment : EMPTY_BYTES
        }))
      }
    })
  }

  /** Groups in any of `statesFilter` (case-insensitive; empty or absent = all), sorted by id. */
  listGroups (statesFilter: readonly string[] = []): GroupListing[] {
    this.#checkOpen()
    const wanted = new Set(statesFilter.map((state) => state.toLowerCase()))
    const listings: GroupListing[] = []
    for (const group of this.#groups.values()) {
      if (group.is('Dead')) continue
      if (wanted.size > 0 && !wanted.has(group.state.toLowerCase())) continue
      listings.push({ groupId: group.groupId, protocolType: group.protocolType ?? '', groupState: group.state, groupType: 'classic' })
    }
    return listings.sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0))
  }

  /** Deletes Empty groups and their committed offsets (tombstones in `__consumer_offsets`). */
  async deleteGroups (groupIds: readonly string[]): Promise<DeleteGroupResult[]> {
    this.#checkOpen()
    const results: DeleteGroupResult[] = []
    for (const groupId of groupIds) {
      if (typeof groupId !== 'string' || groupId.length === 0) {
        results.push({ groupId, errorCode: 'INVALID_GROUP_ID' })
        continue
      }
      const group = this.#groups.get(groupId)
      if (group === undefined || group.is('Dead')) {
        results.push({ groupId, errorCode: 'GROUP_ID_NOT_FOUND' })
        continue
      }
      if (!group.is('Empty') || group.pendingMembers.size > 0) {
        results.push({ groupId, errorCode: 'NON_EMPTY_GROUP' })
        continue
      }
      const now = this.options.now()
      const records: OffsetStoreRecord[] = []
      for (const [topic, partitions] of group.offsets) {
        for (const partition of partitions.keys()) {
          records.push({ key: encodeOffsetCommitKey({ group: groupId, topic, partition }), value: null, timestamp: now })
        }
      }
      records.push({ key: encodeGroupMetadataKey(groupId), value: null, timestamp: now })
      group.transition('Dead', now)
      try {
        await this.#store.append(this.partitionFor(groupId), records)
      } catch (error) {
        // Nothing was deleted: bring the group back as it was.
        group.state = 'Empty'
        throw storeFailure(error, `deleting group ${groupId}`)
      }
      if (this.#groups.get(groupId) === group) this.#groups.delete(groupId)
      this.#clearGroupTimers(group)
      results.push({ groupId, errorCode: 'NONE' })
    }
    return results
  }

  // ---------------------------------------------------------------------------------------
  // Offsets

  async commitOffsets (request: CommitOffsetsRequest): Promise<CommitOffsetsPartitionResult[]> {
    this.#checkOpen()
    validateGroupId(request.groupId)
    let group = this.#groups.get(request.groupId)
    if (group === undefined) {
      // Kafka: a commit with generation -1 to an unknown group creates a "simple" group.
      if (request.generationId >= 0) fail('ILLEGAL_GENERATION', `group ${request.groupId} is unknown; generation ${request.generationId} is stale`)
      group = this.#createGroup(request.groupId)
    }
    this.#validateOffsetCommit(group, request)
    const now = this.options.now()
    const sequence = ++this.#commitSequence
    const results: CommitOffsetsPartitionResult[] = []
    const records: OffsetStoreRecord[] = []
    const accepted: Array<{ topic: string, partition: number, value: CommittedOffset, resultIndex: number }> = []
    let newKeys = 0
    const seen = new Set<string>()
    for (const entry of request.offsets) {
      const { topic, partition } = entry
      const metadata = entry.metadata ?? ''
      let errorCode: CommitOffsetsPartitionResult['errorCode'] = 'NONE'
      if (typeof topic !== 'string' || topic.length === 0 || topic.length > 0x7fff || !isValidPartition(partition)) {
        errorCode = 'UNKNOWN_TOPIC_OR_PARTITION'
      } else if (!Number.isSafeInteger(entry.offset) || !Number.isInteger(entry.leaderEpoch ?? -1)) {
        errorCode = 'INVALID_COMMIT_OFFSET_SIZE'
      } else if (metadata.length > this.options.offsetMetadataMaxBytes) {
        errorCode = 'OFFSET_METADATA_TOO_LARGE'
      }
      results.push({ topic, partition, errorCode })
      if (errorCode !== 'NONE') continue
      const value: CommittedOffset = {
        offset: entry.offset,
        leaderEpoch: entry.leaderEpoch ?? -1,
        metadata,
        commitTimestamp: now,
        expireTimestamp: -1,
        sequence
      }
      const keyText = `${partition}:${topic}`
      if (!seen.has(keyText) && group.offsets.get(topic)?.has(partition) !== true) newKeys++
      seen.add(keyText)
      accepted.push({ topic, partition, value, resultIndex: results.length - 1 })
      records.push({ key: encodeOffsetCommitKey({ group: group.groupId, topic, partition }), value: encodeOffsetCommitValue(value), timestamp: now })
    }
    if (group.offsetCount + newKeys > this.options.groupOffsetCountMax) {
      for (const item of accepted) results[item.resultIndex]!.errorCode = 'INVALID_COMMIT_OFFSET_SIZE'
      this.#dropIfUnused(group)
      return results
    }
    if (records.length > 0) {
      try {
        await this.#store.append(this.partitionFor(group.groupId), records)
      } catch (error) {
        this.#dropIfUnused(group)
        throw storeFailure(error, `committing offsets of group ${group.groupId}`)
      }
      // The group may have been deleted while the append was in flight; its tombstones win.
      if (this.#groups.get(group.groupId) === group && !group.is('Dead')) {
        for (const item of accepted) this.#cacheOffset(group, item.topic, item.partition, item.value)
      }
    }
    this.#dropIfUnused(group)
    return results
  }

  /**
   * OffsetDelete (KIP-496): removes committed offsets of an Empty group, or of topics no
   * member of a live consumer group subscribes to (others: GROUP_SUBSCRIBED_TO_TOPIC).
   * Unknown group: GROUP_ID_NOT_FOUND; a live group of another protocol type: NON_EMPTY_GROUP.
   */
  async deleteOffsets (groupId: string, topics: readonly TopicPartitions[]): Promise<DeleteOffsetsPartitionResult[]> {
    this.#checkOpen()
    validateGroupId(groupId)
    const group = this.#groups.get(groupId)
    if (group === undefined || group.is('Dead')) fail('GROUP_ID_NOT_FOUND', `group ${groupId} is unknown`)
    let subscribed: Set<string> | null = null
    if (!group.is('Empty')) {
      subscribed = group.protocolType === CONSUMER_PROTOCOL_TYPE && group.protocolName !== null ? this.#subscribedTopics(group) : null
      if (subscribed === null) fail('NON_EMPTY_GROUP', `group ${groupId} has members and no readable consumer subscriptions`)
    }
    const now = this.options.now()
    const results: DeleteOffsetsPartitionResult[] = []
    const deleted: Array<{ topic: string, partition: number, committed: CommittedOffset }> = []
    const records: OffsetStoreRecord[] = []
    for (const { topic, partitions } of topics) {
      for (const partition of partitions) {
        if (subscribed?.has(topic) === true) {
          results.push({ topic, partition, errorCode: 'GROUP_SUBSCRIBED_TO_TOPIC' })
          continue
        }
        results.push({ topic, partition, errorCode: 'NONE' })
        const committed = group.offsets.get(topic)?.get(partition)
        if (committed === undefined) continue
        deleted.push({ topic, partition, committed })
        records.push({ key: encodeOffsetCommitKey({ group: groupId, topic, partition }), value: null, timestamp: now })
      }
    }
    if (records.length === 0) return results
    try {
      await this.#store.append(this.partitionFor(groupId), records)
    } catch (error) {
      throw storeFailure(error, `deleting offsets of group ${groupId}`)
    }
    for (const { topic, partition, committed } of deleted) {
      const partitions = group.offsets.get(topic)
      if (partitions?.get(partition) !== committed) continue
      partitions.delete(partition)
      group.offsetCount--
      if (partitions.size === 0) group.offsets.delete(topic)
    }
    this.#dropIfUnused(group)
    return results
  }

  /** Kafka's OffsetCommit admission for classic groups. */
  #validateOffsetCommit (group: Group, request: CommitOffsetsRequest): void {
    if (group.is('Dead')) fail('COORDINATOR_NOT_AVAILABLE', `group ${group.groupId} is being deleted`)
    if (request.generationId < 0 && group.is('Empty')) return
    if (request.generationId >= 0 || request.memberId !== '' || request.groupInstanceId !== null) {
      this.#validateMember(group, request.memberId, request.groupInstanceId)
      if (request.generationId !== group.generationId) {
        fail('ILLEGAL_GENERATION', `generation ${request.generationId} of ${request.memberId} is not the group's ${group.generationId}`)
      }
    } else {
      fail('UNKNOWN_MEMBER_ID', `group ${group.groupId} is not Empty; a commit without member and generation is refused`)
    }
    if (group.is('CompletingRebalance')) fail('REBALANCE_IN_PROGRESS', `group ${group.groupId} is completing a rebalance`)
  }

  #cacheOffset (group: Group, topic: string, partition: number, value: CommittedOffset): void {
    let partitions = group.offsets.get(topic)
    if (partitions === undefined) {
      partitions = new Map()
      group.offsets.set(topic, partitions)
    }
    const existing = partitions.get(partition)
    if (existing !== undefined && existing.sequence > value.sequence) return
    if (existing === undefined) group.offsetCount++
    partitions.set(partition, value)
  }

  /**
   * Committed offsets of `groupId`: for the listed partitions (offset -1, leader epoch -1,
   * metadata '' where nothing is committed), or every committed partition when `topics` is null.
   */
  fetchOffsets (groupId: string, topics: readonly TopicPartitions[] | null): FetchedTopicOffsets[] {
    this.#checkOpen()
    validateGroupId(groupId)
    const group = this.#groups.get(groupId)
    const offsets = group === undefined || group.is('Dead') ? new Map<string, Map<number, CommittedOffset>>() : group.offsets
    const describe = (partition: number, committed: CommittedOffset | undefined): FetchedOffset => committed === undefined
      ? { partition, offset: -1, leaderEpoch: -1, metadata: '', errorCode: 'NONE' }
      : { partition, offset: committed.offset, leaderEpoch: committed.leaderEpoch, metadata: committed.metadata, errorCode: 'NONE' }
    if (topics === null) {
      const sortedTopics = [...offsets.keys()].sort()
      return sortedTopics.map((topic) => {
        const partitions = offsets.get(topic)!
        return {
          topic,
          partitions: [...partitions.keys()].sort((a, b) => a - b).map((partition) => describe(partition, partitions.get(partition)))
        }
      })
    }
    return topics.map(({ topic, partitions }) => ({
      topic,
      partitions: partitions.map((partition) => describe(partition, offsets.get(topic)?.get(partition)))
    }))
  }

  // ---------------------------------------------------------------------------------------
  // Offset retention

  #armRetention (): void {
    if (this.#closed) return
    this.#retentionTimer = this.#setTimer(() => {
      this.#retentionTimer = null
      this.expireOffsets().catch((error: unknown) => {
        storeErrorChannel.publish({ groupId: null, error })
      }).finally(() => { this.#armRetention() })
    }, this.options.offsetsRetentionCheckIntervalMs)
  }

  /**
   * Kafka's offset expiry (KIP-211), run every `offsetsRetentionCheckIntervalMs`: in an Empty
   * group every offset expires `offsetsRetentionMs` after the group became Empty; in a group
   * without a protocol (offsets only) and for topics no member of a live consumer group
   * subscribes to, `offsetsRetentionMs` after the commit. An Empty group left with no offsets
   * is deleted. Tombstones are written first; the cache follows once they are stored.
   * Returns the number of offsets expired.
   */
  async expireOffsets (): Promise<number> {
    this.#checkOpen()
    const now = this.options.now()
    let expiredCount = 0
    for (const group of [...this.#groups.values()]) {
      if (group.is('Dead')) continue
      const expired = this.#expiredOffsets(group, now)
      const deleteGroup = group.is('Empty') && group.members.size === 0 && group.pendingMembers.size === 0 &&
        group.offsetCount === expired.length
      if (expired.length === 0 && !deleteGroup) continue
      const records: OffsetStoreRecord[] = expired.map(({ topic, partition }) =>
        ({ key: encodeOffsetCommitKey({ group: group.groupId, topic, partition }), value: null, timestamp: now }))
      if (deleteGroup && group.protocolType !== null) records.push({ key: encodeGroupMetadataKey(group.groupId), value: null, timestamp: now })
      if (records.length > 0) await this.#store.append(this.partitionFor(group.groupId), records)
      if (this.#closed) return expiredCount
      for (const { topic, partition, committed } of expired) {
        const partitions = group.offsets.get(topic)
        // A commit that landed while the tombstones were written wins over them.
        if (partitions?.get(partition) !== committed) continue
        partitions.delete(partition)
        group.offsetCount--
        if (partitions.size === 0) group.offsets.delete(topic)
        expiredCount++
      }
      if (deleteGroup && group.is('Empty') && group.members.size === 0 && group.offsetCount === 0 && this.#groups.get(group.groupId) === group) {
        group.transition('Dead', now)
        this.#groups.delete(group.groupId)
        this.#clearGroupTimers(group)
      }
    }
    return expiredCount
  }

  #expiredOffsets (group: Group, now: number): Array<{ topic: string, partition: number, committed: CommittedOffset }> {
    const expired: Array<{ topic: string, partition: number, committed: CommittedOffset }> = []
    let baseTimestamp: ((committed: CommittedOffset) => number) | null = null
    let subscribed: Set<string> | null = null
    if (group.protocolType === null) {
      baseTimestamp = (committed) => committed.commitTimestamp
    } else if (group.is('Empty')) {
      baseTimestamp = () => group.stateTimestamp
    } else if (group.protocolType === CONSUMER_PROTOCOL_TYPE && group.protocolName !== null) {
      subscribed = this.#subscribedTopics(group)
      if (subscribed !== null) baseTimestamp = (committed) => committed.commitTimestamp
    }
    if (baseTimestamp === null) return expired
    for (const [topic, partitions] of group.offsets) {
      if (subscribed?.has(topic) === true) continue
      for (const [partition, committed] of partitions) {
        const due = committed.expireTimestamp >= 0
          ? now >= committed.expireTimestamp
          : baseTimestamp(committed) + this.options.offsetsRetentionMs <= now
        if (due) expired.push({ topic, partition, committed })
      }
    }
    return expired
  }

  /** Topics the members of a consumer group subscribe to; null when a subscription does not parse. */
  #subscribedTopics (group: Group): Set<string> | null {
    const topics = new Set<string>()
    for (const member of group.members.values()) {
      try {
        for (const topic of decodeSubscription(member.metadata(group.protocolName)).topics) topics.add(topic)
      } catch {
        return null
      }
    }
    return topics
  }

  // ---------------------------------------------------------------------------------------
  // Persistence

  #groupMetadataValue (group: Group, assignments?: Map<string, Uint8Array>): GroupMetadataValue {
    return {
      protocolType: group.protocolType ?? '',
      generationId: group.generationId,
      protocol: group.protocolName,
      leader: group.leaderId,
      currentStateTimestamp: group.stateTimestamp,
      members: [...group.members.values()].map((member) => ({
        memberId: member.memberId,
        groupInstanceId: member.groupInstanceId,
        clientId: member.clientId,
        clientHost: member.clientHost,
        rebalanceTimeoutMs: member.rebalanceTimeoutMs,
        sessionTimeoutMs: member.sessionTimeoutMs,
        subscription: member.metadata(group.protocolName),
        assignment: assignments === undefined ? member.assignment : (assignments.get(member.memberId) ?? EMPTY_BYTES)
      }))
    }
  }

  async #appendGroupMetadata (groupId: string, value: GroupMetadataValue): Promise<void> {
    const record = { key: encodeGroupMetadataKey(groupId), value: encodeGroupMetadataValue(value), timestamp: this.options.now() }
    await this.#store.append(this.partitionFor(groupId), [record])
  }

  async #storeGroupMetadata (group: Group): Promise<void> {
    await this.#appendGroupMetadata(group.groupId, this.#groupMetadataValue(group))
  }

  /** For transitions nothing waits on (to Empty): a failure is reported, the state stands. */
  #storeGroupMetadataInBackground (group: Group): void {
    if (group.protocolType === null) return
    this.#storeGroupMetadata(group).catch((error: unknown) => {
      storeErrorChannel.publish({ groupId: group.groupId, error })
    })
  }

  /** Replays `__consumer_offsets`: the newest record per key wins; tombstones delete. */
  async #load (): Promise<void> {
    const offsets = new Map<string, Map<string, Map<number, CommittedOffset>>>()
    const metadata = new Map<string, GroupMetadataValue>()
    for await (const record of this.#store.load()) {
      const key = decodeOffsetsRecordKey(record.key)
      if (key.type === 'other') continue
      if (key.type === 'group-metadata') {
        if (record.value === null) {
          metadata.delete(key.group)
          offsets.delete(key.group)
        } else {
          metadata.set(key.group, decodeGroupMetadataValue(record.value))
        }
        continue
      }
      let topics = offsets.get(key.group)
      if (record.value === null) {
        topics?.get(key.topic)?.delete(key.partition)
        continue
      }
      const value = decodeOffsetCommitValue(record.value)
      if (topics === undefined) {
        topics = new Map()
        offsets.set(key.group, topics)
      }
      let partitions = topics.get(key.topic)
      if (partitions === undefined) {
        partitions = new Map()
        topics.set(key.topic, partitions)
      }
      partitions.set(key.partition, { ...value, sequence: 0 })
    }
    const now = this.options.now()
    for (const [groupId, stored] of metadata) {
      // Kafka writes members only with a selected protocol; anything else loads as Empty.
      const value = stored.protocol === null ? { ...stored, members: [] } : stored
      const group = new Group(groupId, now, value.members.length === 0 ? 'Empty' : 'Stable')
      group.generationId = value.generationId
      group.protocolType = value.protocolType.length > 0 ? value.protocolType : null
      group.protocolName = value.members.length === 0 ? null : value.protocol
      for (const stored of value.members) {
        const protocols = value.protocol === null ? [] : [{ name: value.protocol, metadata: stored.subscription }]
        const member = new GroupMember(stored.memberId, stored.groupInstanceId, stored.clientId, stored.clientHost,
          stored.sessionTimeoutMs, stored.rebalanceTimeoutMs, group.protocolType ?? '', protocols)
        member.assignment = stored.assignment
        member.isNew = false
        group.add(member)
      }
      if (value.leader !== null && group.members.has(value.leader)) group.leaderId = value.leader
      this.#groups.set(groupId, group)
      // Loaded members get a full session to show up again, as after a coordinator failover.
      for (const member of group.members.values()) this.#scheduleSession(group, member)
    }
    for (const [groupId, topics] of offsets) {
      let group = this.#groups.get(groupId)
      if (group === undefined) {
        group = new Group(groupId, now)
        this.#groups.set(groupId, group)
      }
      for (const [topic, partitions] of topics) {
        for (const [partition, value] of partitions) this.#cacheOffset(group, topic, partition, value)
      }
      this.#dropIfUnused(group)
    }
  }

  // ---------------------------------------------------------------------------------------
  // Lifecycle and helpers

  #createGroup (groupId: string): Group {
    if (this.#groups.size >= this.options.groupCountMax) {
      fail('POLICY_VIOLATION', `the coordinator holds ${this.#groups.size} groups, its limit (groupCountMax)`)
    }
    const group = new Group(groupId, this.options.now())
    this.#groups.set(groupId, group)
    return group
  }

  /** Forgets a group that holds nothing: no members, no pending ids, no offsets, no history. */
  #dropIfUnused (group: Group): void {
    if (!group.is('Empty') || group.members.size > 0 || group.pendingMembers.size > 0 || group.offsetCount > 0) return
    if (group.protocolType !== null) return
    if (this.#groups.get(group.groupId) === group) this.#groups.delete(group.groupId)
    this.#clearGroupTimers(group)
  }

  /** Arms a timer unless closed: work finishing after close (a store append) must not re-arm. */
  #setTimer (callback: () => void, delayMs: number, keepAlive = false): unknown {
    if (this.#closed) return null
    return this.options.timers.setTimeout(callback, delayMs, keepAlive)
  }

  #clearTimer (group: Group, name: 'joinTimer' | 'syncTimer'): void {
    const handle = group[name]
    if (handle !== null) this.options.timers.clearTimeout(handle)
    group[name] = null
  }

  #clearGroupTimers (group: Group): void {
    this.#clearTimer(group, 'joinTimer')
    this.#clearTimer(group, 'syncTimer')
    for (const timer of group.pendingMembers.values()) this.options.timers.clearTimeout(timer)
    for (const member of group.members.values()) {
      if (member.sessionTimer !== null) this.options.timers.clearTimeout(member.sessionTimer)
      member.sessionTimer = null
    }
  }

  #checkOpen (): void {
    if (this.#closed) fail('SLUICE_CLOSED', 'group coordinator is closed')
  }

  #throwIfAborted (signal: AbortSignal | undefined): void {
    if (signal?.aborted === true) throw new SluiceError('SLUICE_ABORTED', 'aborted before it started', { cause: signal.reason })
  }

  /** Number of groups held (all states but Dead). */
  get groupCount (): number {
    return this.#groups.size
  }

  /** The state of a group, or null when unknown. */
  groupState (groupId: string): GroupState | null {
    return this.#groups.get(groupId)?.state ?? null
  }

  /** Clears every timer and rejects parked JoinGroup/SyncGroup calls with SLUICE_CLOSED. Idempotent. */
  close (): Promise<void> {
    if (this.#closePromise !== null) return this.#closePromise
    this.#closed = true
    if (this.#retentionTimer !== null) this.options.timers.clearTimeout(this.#retentionTimer)
    this.#retentionTimer = null
    const error = new SluiceError('SLUICE_CLOSED', 'group coordinator closed')
    for (const group of this.#groups.values()) {
      this.#clearGroupTimers(group)
      group.pendingMembers.clear()
      for (const member of group.members.values()) {
        const { joinWaiter, syncWaiter } = member
        member.joinWaiter = null
        member.syncWaiter = null
        joinWaiter?.reject(error)
        syncWaiter?.reject(error)
      }
    }
    this.#closePromise = Promise.resolve()
    return this.#closePromise
  }

  async [Symbol.asyncDispose] (): Promise<void> {
    await this.close()
  }
}

/** All group states, for ListGroups filters and validation. */
export const groupStates = GROUP_STATES
