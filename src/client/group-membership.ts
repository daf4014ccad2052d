/**
 * One consumer's membership in a consumer group, over the engine's coordinator with Kafka's
 * classic protocol: JoinGroup (with MEMBER_ID_REQUIRED), the leader's assignment, SyncGroup,
 * heartbeats, LeaveGroup.
 *
 * Rebalance protocols (KIP-429), decided as Java's consumer does: cooperative only when every
 * configured assignor is cooperative, eager otherwise.
 * - eager: before rejoining, every owned partition is revoked (committed, fetching stops); the
 *   new assignment is then taken as a whole.
 * - cooperative: the member keeps consuming what it owns while the group rebalances and
 *   declares it in its subscription; after SyncGroup it revokes only what it lost, and if it
 *   revoked anything, rejoins at once so the follow-up rebalance can hand those partitions on.
 *
 * The membership loop runs beside the consumer's fetch loop on the same event loop. It never
 * calls user code; the consumer's hooks do (revoke: commit and stop; assign: start).
 */
import { SluiceError, isSluiceError } from '../core/errors.js'
import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription } from '../engine/consumer-protocol.js'
import type { TopicPartitions } from '../engine/consumer-protocol.js'
import type { Engine } from '../engine/engine.js'
import { builtInAssignors } from './assignors/index.js'
import type { AssignorMember, PartitionAssignor } from './assignors/index.js'
import type { ResolvedConsumerOptions } from './consumer-options.js'

export interface MembershipHooks {
  /** The topics this member subscribes to now (RegExps resolved). */
  subscribedTopics: () => string[]
  /** Stop fetching these partitions; commit their progress unless `lost` (the group already moved on). */
  revoke: (partitions: TopicPartitions[], lost: boolean) => Promise<void>
  /** Start fetching these partitions (their positions come from committed offsets). */
  assign: (partitions: TopicPartitions[], generationId: number) => Promise<void>
  /** Resolves when no handler is running past max.poll.interval.ms. */
  handlerIdle: () => Promise<void>
  /** A fatal membership error (FENCED_INSTANCE_ID, INCONSISTENT_GROUP_PROTOCOL, ...). */
  fatal: (error: SluiceError) => void
}

const REJOIN_BACKOFF_MS = 100
const REJOIN_BACKOFF_MAX_MS = 2000

function keyOf (topic: string, partition: number): string { return `${topic}\u0000${partition}` }

function toList (keys: Iterable<string>): TopicPartitions[] {
  const byTopic = new Map<string, number[]>()
  for (const key of keys) {
    const separator = key.indexOf('\u0000')
    const topic = key.slice(0, separator)
    let list = byTopic.get(topic)
    if (list === undefined) byTopic.set(topic, list = [])
    list.push(Number(key.slice(separator + 1)))
  }
  return [...byTopic].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([topic, partitions]) => ({ topic, partitions: partitions.sort((a, b) => a - b) }))
}

function keysOf (list: readonly TopicPartitions[]): Set<string> {
  const keys = new Set<string>()
  for (const { topic, partitions } of list) for (const partition of partitions) keys.add(keyOf(topic, partition))
  return keys
}

export class GroupMembership {
  memberId = ''
  generationId = -1
  protocolName: string | null = null
  leaderId = ''
  private owned = new Set<string>()
  private readonly assignors: PartitionAssignor[]
  readonly rebalanceProtocol: 'eager' | 'cooperative'
  private rejoinNeeded = true
  private wakeLoop: (() => void) | undefined
  private heartbeatTimer: NodeJS.Timeout | undefined
  private loop: Promise<void> | undefined
  private stopping = false
  private joining: AbortController | undefined
  /** Rebalances completed by this member (for tests and metrics). */
  rebalances = 0

  constructor (
    private readonly engine: Engine,
    private readonly groupId: string,
    private readonly options: Readonly<ResolvedConsumerOptions>,
    private readonly hooks: MembershipHooks
  ) {
    this.assignors = options.partitionAssigners.map((name) => {
      const assignor = builtInAssignors.get(name)
      if (assignor === undefined) throw new SluiceError('SLUICE_INVALID_OPTION', `unknown assignor ${name}; known: ${[...builtInAssignors.keys()].join(', ')}`)
      return assignor
    })
    this.rebalanceProtocol = this.assignors.every((assignor) => assignor.rebalanceProtocol === 'cooperative') ? 'cooperative' : 'eager'
  }

  /** Partitions currently owned. */
  assignment (): TopicPartitions[] { return toList(this.owned) }

  start (): void {
    this.loop ??= this.run()
  }

  /** Asks for a rebalance (subscription or metadata changed, heartbeat said so). */
  requestRejoin (): void {
    this.rejoinNeeded = true
    this.wakeLoop?.()
  }

  private async run (): Promise<void> {
    let failures = 0
    while (!this.stopping) {
      if (!this.rejoinNeeded) {
        await new Promise<void>((resolve) => { this.wakeLoop = resolve })
        this.wakeLoop = undefined
        continue
      }
      this.rejoinNeeded = false
      try {
        await this.hooks.handlerIdle()
        if (this.stopping) break
        await this.joinAndSync()
        failures = 0
      } catch (error) {
        if (this.stopping) break
        const code = isSluiceError(error) ? error.code : undefined
        if (code === 'FENCED_INSTANCE_ID' || code === 'INCONSISTENT_GROUP_PROTOCOL' || code === 'GROUP_MAX_SIZE_REACHED' || code === 'INVALID_GROUP_ID' || code === 'SLUICE_CLOSED' || code === 'INVALID_SESSION_TIMEOUT') {
          this.stopHeartbeats()
          await this.loseAll()
          this.hooks.fatal(error as SluiceError)
          return
        }
        if (code === 'UNKNOWN_MEMBER_ID') {
          this.memberId = ''
          await this.loseAll()
        }
        this.rejoinNeeded = true
        failures++
        const backoff = Math.min(REJOIN_BACKOFF_MS * 2 ** Math.min(failures, 10), REJOIN_BACKOFF_MAX_MS)
        await new Promise<void>((resolve) => { setTimeout(resolve, code === 'REBALANCE_IN_PROGRESS' || code === 'ILLEGAL_GENERATION' ? 0 : backoff).unref() })
      }
    }
  }

  private async joinAndSync (): Promise<void> {
    if (this.rebalanceProtocol === 'eager' && this.owned.size > 0) {
      const revoked = toList(this.owned)
      this.owned.clear()
      await this.hooks.revoke(revoked, false)
    }
    const topics = this.hooks.subscribedTopics()
    const ownedList = this.rebalanceProtocol === 'cooperative' ? toList(this.owned) : []
    const protocols = this.assignors.map((assignor) => ({
      name: assignor.name,
      metadata: encodeSubscription({ version: Math.max(assignor.version, 1), topics, userData: null, ownedPartitions: ownedList, generationId: this.generationId, rackId: null })
    }))
    this.joining = new AbortController()
    let join
    try {
      for (;;) {
        join = await this.engine.groups.joinGroup({
          groupId: this.groupId,
          memberId: this.memberId,
          groupInstanceId: this.options.groupInstanceId ?? null,
          clientId: this.options.clientId,
          clientHost: 'in-process',
          sessionTimeoutMs: this.options.sessionTimeoutMs,
          rebalanceTimeoutMs: this.options.maxPollIntervalMs,
          protocolType: 'consumer',
          protocols,
          requireKnownMemberId: true,
          signal: this.joining.signal
        })
        this.memberId = join.memberId
        if (join.errorCode !== 'MEMBER_ID_REQUIRED') break
      }
    } finally {
      this.joining = undefined
    }
    this.protocolName = join.protocolName
    this.leaderId = join.leader
    const assignments = join.leader === join.memberId ? this.assign(join.protocolName, join.members) : []
    this.startHeartbeats(join.generationId)
    const sync = await this.engine.groups.syncGroup({
      groupId: this.groupId,
      generationId: join.generationId,
      memberId: this.memberId,
      groupInstanceId: this.options.groupInstanceId ?? null,
      protocolType: 'consumer',
      protocolName: join.protocolName,
      assignments
    })
    this.generationId = join.generationId
    const assigned = sync.assignment.byteLength === 0 ? [] : decodeAssignment(sync.assignment).assignedPartitions
    const target = keysOf(assigned)
    const revoked = [...this.owned].filter((key) => !target.has(key))
    const added = [...target].filter((key) => !this.owned.has(key))
    if (revoked.length > 0) {
      for (const key of revoked) this.owned.delete(key)
      await this.hooks.revoke(toList(revoked), false)
    }
    for (const key of added) this.owned.add(key)
    this.rebalances++
    await this.hooks.assign(toList(added), this.generationId)
    // Cooperative: partitions given up this round reach their new owner in the next one.
    if (this.rebalanceProtocol === 'cooperative' && revoked.length > 0) this.rejoinNeeded = true
  }

  /** The leader's job: decode every member's subscription and run the chosen assignor. */
  private assign (protocolName: string | null, members: ReadonlyArray<{ memberId: string, groupInstanceId: string | null, metadata: Uint8Array }>): Array<{ memberId: string, assignment: Uint8Array }> {
    const assignor = this.assignors.find((candidate) => candidate.name === protocolName)
    if (assignor === undefined) throw new SluiceError('INCONSISTENT_GROUP_PROTOCOL', `the group chose assignor ${String(protocolName)}, which this member does not have`)
    const assignorMembers: AssignorMember[] = members.map((member) => {
      const subscription = decodeSubscription(member.metadata)
      return { memberId: member.memberId, groupInstanceId: member.groupInstanceId, topics: subscription.topics, ownedPartitions: subscription.ownedPartitions, generationId: subscription.generationId }
    })
    const partitionsPerTopic = new Map<string, number>()
    for (const member of assignorMembers) {
      for (const topic of member.topics) {
        const description = this.engine.topics.find(topic)
        if (description !== undefined) partitionsPerTopic.set(topic, description.partitionCount)
      }
    }
    const result = assignor.assign(assignorMembers, partitionsPerTopic)
    return members.map((member) => ({
      memberId: member.memberId,
      assignment: encodeAssignment({ version: 0, assignedPartitions: result.get(member.memberId) ?? [], userData: null })
    }))
  }

  private startHeartbeats (generationId: number): void {
    this.stopHeartbeats()
    this.heartbeatTimer = setInterval(() => { this.heartbeat(generationId) }, this.options.heartbeatIntervalMs)
    this.heartbeatTimer.unref()
  }

  private stopHeartbeats (): void {
    if (this.heartbeatTimer !== undefined) clearInterval(this.heartbeatTimer)
    this.heartbeatTimer = undefined
  }

  private heartbeat (generationId: number): void {
    if (this.stopping) return
    try {
      this.engine.groups.heartbeat({ groupId: this.groupId, generationId, memberId: this.memberId, groupInstanceId: this.options.groupInstanceId ?? null })
    } catch (error) {
      const code = isSluiceError(error) ? error.code : undefined
      if (code === 'FENCED_INSTANCE_ID') {
        this.stopHeartbeats()
        void this.loseAll().then(() => { this.hooks.fatal(error as SluiceError) })
        return
      }
      if (code === 'UNKNOWN_MEMBER_ID') {
        this.stopHeartbeats()
        this.memberId = ''
        void this.loseAll().then(() => { this.requestRejoin() })
        return
      }
      // REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION and transient errors: rejoin.
      this.requestRejoin()
    }
  }

  /**
   * max.poll.interval.ms passed inside a handler: leave the group so its partitions move on
   * (as Java's heartbeat thread does); the member rejoins when the handler returns.
   */
  async leaveForSlowHandler (): Promise<void> {
    if (this.memberId === '' || this.stopping) return
    this.stopHeartbeats()
    this.leave()
    if (this.options.groupInstanceId === undefined) this.memberId = ''
    await this.loseAll()
    this.requestRejoin()
  }

  private leave (): void {
    try {
      this.engine.groups.leaveGroup(this.groupId, [{ memberId: this.memberId, groupInstanceId: this.options.groupInstanceId ?? null, reason: 'consumer left' }])
    } catch {
      // Leaving an unknown group or as an unknown member changes nothing.
    }
  }

  private async loseAll (): Promise<void> {
    if (this.owned.size === 0) return
    const lost = toList(this.owned)
    this.owned.clear()
    await this.hooks.revoke(lost, true)
  }

  /** Revokes (committing), leaves the group and stops. Static members do not leave: their id keeps the assignment. */
  async stop (): Promise<void> {
    if (this.stopping) return
    const revoked = toList(this.owned)
    this.owned.clear()
    if (revoked.length > 0) await this.hooks.revoke(revoked, false)
    this.stopping = true
    this.stopHeartbeats()
    this.joining?.abort()
    this.wakeLoop?.()
    if (this.memberId !== '' && this.options.groupInstanceId === undefined) this.leave()
    await this.loop?.catch(() => {})
  }
}
