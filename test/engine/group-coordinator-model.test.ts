/**
 * Random interleavings of JoinGroup / SyncGroup / Heartbeat / LeaveGroup / OffsetCommit,
 * client restarts and the passage of time, from several clients (dynamic and static). The
 * coordinator must only ever fail with SluiceError (no assertion or TypeError escapes), every
 * parked call must settle by close, no timer may survive close, and each generation must
 * agree on one leader and one protocol.
 */
import { afterEach, beforeEach, expect } from 'vitest'
import { fc, test } from '@fast-check/vitest'
import { vi } from 'vitest'
import { GroupCoordinator, type JoinGroupResult } from '../../src/engine/group-coordinator.js'
import { MemoryOffsetStore } from '../../src/engine/offset-store.js'
import { isSluiceError } from '../../src/core/errors.js'

type Command =
  | { type: 'join', client: number, requireKnownMemberId: boolean, protocols: number }
  | { type: 'sync', client: number }
  | { type: 'heartbeat', client: number }
  | { type: 'leave', client: number }
  | { type: 'commit', client: number, partition: number }
  | { type: 'restart', client: number }
  | { type: 'abortable-join', client: number, abortAfterMs: number }
  | { type: 'advance', ms: number }

const clientCount = 4
const arbClient = fc.nat(clientCount - 1)
const arbCommand: fc.Arbitrary<Command> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ type: fc.constant('join' as const), client: arbClient, requireKnownMemberId: fc.boolean(), protocols: fc.nat(2) }) },
  { weight: 5, arbitrary: fc.record({ type: fc.constant('sync' as const), client: arbClient }) },
  { weight: 4, arbitrary: fc.record({ type: fc.constant('heartbeat' as const), client: arbClient }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('leave' as const), client: arbClient }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('commit' as const), client: arbClient, partition: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('restart' as const), client: arbClient }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('abortable-join' as const), client: arbClient, abortAfterMs: fc.integer({ min: 0, max: 2000 }) }) },
  { weight: 6, arbitrary: fc.record({ type: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 1500 }) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('advance' as const), ms: fc.integer({ min: 1500, max: 16_000 }) }) }
)

const protocolSets = [['range'], ['range', 'roundrobin'], ['roundrobin', 'range']]

interface Client {
  memberId: string
  generationId: number
  lastJoin: JoinGroupResult | null
  /** Clients 0 and 1 are static members. */
  instanceId: string | null
}

beforeEach(() => { vi.useFakeTimers() })
afterEach(() => { vi.useRealTimers() })

test.prop([fc.array(arbCommand, { minLength: 30, maxLength: 150 })], { numRuns: 200 })(
  'random operation sequences only fail with SluiceError and keep generations consistent',
  async (commands) => {
    const coordinator = await GroupCoordinator.open({ store: new MemoryOffsetStore(), groupInitialRebalanceDelayMs: 500 })
    const clients: Client[] = Array.from({ length: clientCount }, (_, index) => ({
      memberId: '', generationId: -1, lastJoin: null, instanceId: index < 2 ? `instance-${index}` : null
    }))
    const unexpected: unknown[] = []
    const pending: Array<Promise<unknown>> = []
    const leaders = new Map<number, string>()
    const protocolsByGeneration = new Map<number, string | null>()
    /** Like a real client: an unknown member id is dropped so the next join starts afresh. */
    const onError = (client: Client, error: unknown): void => {
      if (!isSluiceError(error)) {
        unexpected.push(error)
        return
      }
      if (error.code === 'UNKNOWN_MEMBER_ID' || error.code === 'FENCED_INSTANCE_ID') {
        client.memberId = ''
        client.generationId = -1
        client.lastJoin = null
      }
    }
    const guard = (client: Client, action: () => unknown): void => {
      try {
        const result = action()
        if (result instanceof Promise) pending.push(result.catch((error: unknown) => { onError(client, error) }))
      } catch (error) {
        onError(client, error)
      }
    }
    const onJoin = (client: Client, result: JoinGroupResult): void => {
      client.memberId = result.memberId
      if (result.errorCode !== 'NONE') return
      client.generationId = result.generationId
      client.lastJoin = result
      const leader = leaders.get(result.generationId)
      if (leader === undefined) leaders.set(result.generationId, result.leader)
      // A static leader replaced in place keeps the generation under a new id; otherwise one leader per generation.
      else if (leader !== result.leader && !result.leader.startsWith('instance-')) expect(result.leader).toBe(leader)
      const protocol = protocolsByGeneration.get(result.generationId)
      if (protocol === undefined) protocolsByGeneration.set(result.generationId, result.protocolName)
      else expect(result.protocolName).toBe(protocol)
    }

    for (const command of commands) {
      if (command.type === 'advance') {
        await vi.advanceTimersByTimeAsync(command.ms)
        continue
      }
      const client = clients[command.client]!
      const base = { groupId: 'g', memberId: client.memberId, groupInstanceId: client.instanceId }
      switch (command.type) {
        case 'join':
        case 'abortable-join': {
          const controller = new AbortController()
          guard(client, () => coordinator.joinGroup({
            ...base,
            clientId: `client-${command.client}`,
            clientHost: 'h',
            sessionTimeoutMs: 10_000,
            rebalanceTimeoutMs: 15_000,
            protocolType: 'consumer',
            protocols: protocolSets[command.type === 'join' ? command.protocols : 0]!.map((name) => ({ name, metadata: new Uint8Array([command.client]) })),
            requireKnownMemberId: command.type === 'join' && command.requireKnownMemberId,
            signal: controller.signal
          }).then((result) => onJoin(client, result)))
          if (command.type === 'abortable-join') setTimeout(() => controller.abort(), command.abortAfterMs)
          break
        }
        case 'sync': {
          const join = client.lastJoin
          const assignments = join !== null && join.leader === join.memberId
            ? join.members.map((member, index) => ({ memberId: member.memberId, assignment: new Uint8Array([index]) }))
            : []
          guard(client, () => coordinator.syncGroup({ ...base, generationId: client.generationId, assignments }))
          break
        }
        case 'heartbeat':
          guard(client, () => coordinator.heartbeat({ ...base, generationId: client.generationId }))
          break
        case 'leave':
          guard(client, () => coordinator.leaveGroup('g', [{ memberId: client.memberId, groupInstanceId: client.instanceId }]))
          client.memberId = ''
          client.generationId = -1
          client.lastJoin = null
          break
        case 'commit':
          guard(client, () => coordinator.commitOffsets({ ...base, generationId: client.generationId, offsets: [{ topic: 't', partition: command.partition, offset: 1 }] }))
          break
        case 'restart':
          // The process restarts: a static member rejoins under its instance id with no member id.
          client.memberId = ''
          client.generationId = -1
          client.lastJoin = null
          break
      }
      const [description] = coordinator.describeGroups(['g'])
      const state = description!.groupState
      if (state === 'Stable' || state === 'CompletingRebalance') expect(description!.members.length).toBeGreaterThan(0)
      if (state === 'Empty' || state === 'Dead') expect(description!.members).toEqual([])
      const ids = description!.members.map((member) => member.memberId)
      expect(new Set(ids).size).toBe(ids.length)
      const instances = description!.members.map((member) => member.groupInstanceId).filter((id) => id !== null)
      expect(new Set(instances).size).toBe(instances.length)
    }
    await coordinator.close()
    await vi.advanceTimersByTimeAsync(5000) // fire the abort timers the test itself armed
    await Promise.all(pending)
    expect(unexpected).toEqual([])
    expect(vi.getTimerCount()).toBe(0)
  })
