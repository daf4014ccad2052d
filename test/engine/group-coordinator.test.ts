import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  GroupCoordinator, type GroupCoordinatorOptions, type GroupTimers, type JoinGroupRequest, type JoinGroupResult
} from '../../src/engine/group-coordinator.js'
import { encodeAssignment, encodeSubscription, decodeAssignment, decodeSubscription, type TopicPartitions } from '../../src/engine/consumer-protocol.js'
import { cooperativeStickyAssign } from '../../src/client/assignors/cooperative-sticky.js'
import { MemoryOffsetStore, type OffsetStore, type OffsetStoreRecord } from '../../src/engine/offset-store.js'
import { decodeOffsetsRecordKey } from '../../src/engine/offset-records.js'
import { isSluiceError } from '../../src/core/errors.js'

const SESSION_MS = 10_000
const REBALANCE_MS = 30_000

const subscription = (topics: string[]): Uint8Array =>
  encodeSubscription({ version: 0, topics, userData: null, ownedPartitions: [], generationId: -1, rackId: null })

const assignmentBytes = (topic: string, partitions: number[]): Uint8Array =>
  encodeAssignment({ version: 0, assignedPartitions: [{ topic, partitions }], userData: null })

function joinRequest (overrides: Partial<JoinGroupRequest> = {}): JoinGroupRequest {
  return {
    groupId: 'g',
    memberId: '',
    groupInstanceId: null,
    clientId: 'client',
    clientHost: '/127.0.0.1',
    sessionTimeoutMs: SESSION_MS,
    rebalanceTimeoutMs: REBALANCE_MS,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: subscription(['t']) }],
    requireKnownMemberId: false,
    ...overrides
  }
}

async function expectCode (promise: Promise<unknown> | (() => unknown), code: string): Promise<void> {
  try {
    await (typeof promise === 'function' ? promise() : promise)
  } catch (error) {
    expect(isSluiceError(error), String(error)).toBe(true)
    expect((error as { code: string }).code).toBe(code)
    return
  }
  throw new Error(`expected ${code}`)
}

/** Settles a promise that is expected to be pending without advancing time. */
async function isPending (promise: Promise<unknown>): Promise<boolean> {
  const marker = Symbol('pending')
  const winner = await Promise.race([promise.then(() => 'settled', () => 'settled'), Promise.resolve().then(() => marker)])
  return winner === marker
}

let coordinator: GroupCoordinator
let store: MemoryOffsetStore

async function open (options: GroupCoordinatorOptions = {}): Promise<GroupCoordinator> {
  coordinator = await GroupCoordinator.open({ store, ...options })
  return coordinator
}

/** Joins `count` members that arrive together; returns their join results once the generation forms. */
async function formGroup (count: number, options: { delayMs?: number, groupId?: string, instanceIds?: (string | null)[] } = {}): Promise<JoinGroupResult[]> {
  const joins = []
  for (let index = 0; index < count; index++) {
    joins.push(coordinator.joinGroup(joinRequest({ groupId: options.groupId ?? 'g', clientId: `c${index}`, groupInstanceId: options.instanceIds?.[index] ?? null })))
  }
  // Members joining during the initial delay extend it once (3 s + 3 s).
  await vi.advanceTimersByTimeAsync(options.delayMs ?? 6000)
  return await Promise.all(joins)
}

async function syncAll (results: JoinGroupResult[], assignments: Map<string, Uint8Array>, groupId = 'g'): Promise<Uint8Array[]> {
  const leader = results.find((result) => result.memberId === result.leader)!
  const followers = results.filter((result) => result !== leader).map((result) =>
    coordinator.syncGroup({ groupId, generationId: result.generationId, memberId: result.memberId, groupInstanceId: null, assignments: [] }))
  const leaderSync = coordinator.syncGroup({
    groupId,
    generationId: leader.generationId,
    memberId: leader.memberId,
    groupInstanceId: null,
    assignments: [...assignments].map(([memberId, assignment]) => ({ memberId, assignment }))
  })
  const synced = await Promise.all([leaderSync, ...followers])
  return synced.map((result) => result.assignment)
}

beforeEach(() => {
  vi.useFakeTimers()
  store = new MemoryOffsetStore()
})

afterEach(async () => {
  await coordinator?.close()
  // Every timer the coordinator armed is cleared on close.
  expect(vi.getTimerCount()).toBe(0)
  vi.useRealTimers()
})

describe('join and sync', () => {
  it('forms a generation from several members: first joiner leads, only the leader gets the members', async () => {
    await open()
    const results = await formGroup(3)
    expect(new Set(results.map((result) => result.generationId))).toEqual(new Set([1]))
    expect(results.every((result) => result.leader === results[0]!.memberId)).toBe(true)
    expect(results.every((result) => result.protocolName === 'range' && result.protocolType === 'consumer')).toBe(true)
    expect(results[0]!.members.map((member) => member.memberId)).toEqual(results.map((result) => result.memberId))
    expect(results[0]!.members[1]!.metadata).toEqual(subscription(['t']))
    expect(results[1]!.members).toEqual([])
    expect(results[0]!.memberId.startsWith('c0-')).toBe(true)
    expect(coordinator.groupState('g')).toBe('CompletingRebalance')

    const assignments = new Map(results.map((result, index) => [result.memberId, assignmentBytes('t', [index])]))
    const synced = await syncAll(results, assignments)
    expect(synced.map((bytes) => decodeAssignment(bytes).assignedPartitions)).toEqual([[{ topic: 't', partitions: [0] }], [{ topic: 't', partitions: [1] }], [{ topic: 't', partitions: [2] }]])
    expect(coordinator.groupState('g')).toBe('Stable')
    const [description] = coordinator.describeGroups(['g'])
    expect(description).toMatchObject({ groupState: 'Stable', protocolType: 'consumer', protocolData: 'range', errorCode: 'NONE' })
    expect(description!.members.map((member) => member.memberAssignment)).toEqual([...assignments.values()])
    expect(coordinator.listGroups()).toEqual([{ groupId: 'g', protocolType: 'consumer', groupState: 'Stable', groupType: 'classic' }])
    expect(coordinator.listGroups(['stable'])).toHaveLength(1)
    expect(coordinator.listGroups(['Empty'])).toHaveLength(0)
  })

  it('waits group.initial.rebalance.delay.ms, extending while members keep arriving, up to the rebalance timeout', async () => {
    await open({ groupInitialRebalanceDelayMs: 3000 })
    const first = coordinator.joinGroup(joinRequest({ clientId: 'a' }))
    await vi.advanceTimersByTimeAsync(2000)
    const second = coordinator.joinGroup(joinRequest({ clientId: 'b' }))
    await vi.advanceTimersByTimeAsync(1500) // t = 3500: first delay ended, a member came: extended to 6000
    expect(await isPending(first)).toBe(true)
    await vi.advanceTimersByTimeAsync(2499)
    expect(await isPending(first)).toBe(true)
    await vi.advanceTimersByTimeAsync(1)
    expect((await first).generationId).toBe(1)
    expect((await second).members).toEqual([])
  })

  it('replies MEMBER_ID_REQUIRED to a new dynamic member of a v4+ caller, then accepts the rejoin with that id', async () => {
    await open()
    const first = await coordinator.joinGroup(joinRequest({ requireKnownMemberId: true, clientId: 'kafkajs' }))
    expect(first.errorCode).toBe('MEMBER_ID_REQUIRED')
    expect(first.memberId).toMatch(/^kafkajs-[0-9a-f-]{36}$/)
    expect(first.generationId).toBe(-1)
    expect(coordinator.groupState('g')).toBe('Empty')
    const rejoin = coordinator.joinGroup(joinRequest({ requireKnownMemberId: true, memberId: first.memberId }))
    await vi.advanceTimersByTimeAsync(3000)
    const result = await rejoin
    expect(result).toMatchObject({ errorCode: 'NONE', memberId: first.memberId, leader: first.memberId, generationId: 1 })
    await expectCode(coordinator.joinGroup(joinRequest({ memberId: 'made-up' })), 'UNKNOWN_MEMBER_ID')
  })

  it('forgets a pending member id after the session timeout', async () => {
    await open()
    const first = await coordinator.joinGroup(joinRequest({ requireKnownMemberId: true }))
    await vi.advanceTimersByTimeAsync(SESSION_MS)
    await expectCode(coordinator.joinGroup(joinRequest({ memberId: first.memberId })), 'UNKNOWN_MEMBER_ID')
    expect(coordinator.groupState('g')).toBeNull()
  })

  it('selects the protocol all members support with the most first-preference votes', async () => {
    await open()
    const offer = (names: string[]) => names.map((name) => ({ name, metadata: new Uint8Array([name.length]) }))
    const joins = [
      coordinator.joinGroup(joinRequest({ protocols: offer(['range', 'roundrobin', 'cooperative-sticky']) })),
      coordinator.joinGroup(joinRequest({ protocols: offer(['roundrobin', 'range']) })),
      coordinator.joinGroup(joinRequest({ protocols: offer(['cooperative-sticky', 'roundrobin', 'range']) }))
    ]
    await vi.advanceTimersByTimeAsync(6000)
    const results = await Promise.all(joins)
    // cooperative-sticky is not supported by the second member; roundrobin has 2 votes, range 1.
    expect(results.map((result) => result.protocolName)).toEqual(['roundrobin', 'roundrobin', 'roundrobin'])
    expect(results[0]!.members.map((member) => [...member.metadata])).toEqual([[10], [10], [10]])
  })

  it('refuses incompatible protocols with INCONSISTENT_GROUP_PROTOCOL', async () => {
    await open()
    await expectCode(coordinator.joinGroup(joinRequest({ protocols: [] })), 'INCONSISTENT_GROUP_PROTOCOL')
    await expectCode(coordinator.joinGroup(joinRequest({ protocolType: '' })), 'INCONSISTENT_GROUP_PROTOCOL')
    const results = await formGroup(1)
    await expectCode(coordinator.joinGroup(joinRequest({ protocols: [{ name: 'roundrobin', metadata: new Uint8Array() }] })), 'INCONSISTENT_GROUP_PROTOCOL')
    await expectCode(coordinator.joinGroup(joinRequest({ protocolType: 'connect' })), 'INCONSISTENT_GROUP_PROTOCOL')
    await expectCode(coordinator.syncGroup({ groupId: 'g', generationId: 1, memberId: results[0]!.memberId, groupInstanceId: null, protocolName: 'roundrobin', assignments: [] }), 'INCONSISTENT_GROUP_PROTOCOL')
  })

  it('validates group ids and session timeouts', async () => {
    await open()
    await expectCode(coordinator.joinGroup(joinRequest({ groupId: '' })), 'INVALID_GROUP_ID')
    await expectCode(coordinator.commitOffsets({ groupId: '', generationId: -1, memberId: '', groupInstanceId: null, offsets: [] }), 'INVALID_GROUP_ID')
    await expectCode(() => coordinator.fetchOffsets('', null), 'INVALID_GROUP_ID')
    await expectCode(() => coordinator.heartbeat({ groupId: '', generationId: 1, memberId: 'm', groupInstanceId: null }), 'INVALID_GROUP_ID')
    await expectCode(coordinator.syncGroup({ groupId: '', generationId: 1, memberId: 'm', groupInstanceId: null, assignments: [] }), 'INVALID_GROUP_ID')
    expect(coordinator.describeGroups([''])[0]!.errorCode).toBe('INVALID_GROUP_ID')
    expect((await coordinator.deleteGroups(['']))[0]!.errorCode).toBe('INVALID_GROUP_ID')
    await expectCode(coordinator.joinGroup(joinRequest({ sessionTimeoutMs: 5999 })), 'INVALID_SESSION_TIMEOUT')
    await expectCode(coordinator.joinGroup(joinRequest({ sessionTimeoutMs: 1_800_001 })), 'INVALID_SESSION_TIMEOUT')
    expect(coordinator.groupCount).toBe(0)
  })

  it('enforces group.max.size', async () => {
    await open({ groupMaxSize: 2 })
    await formGroup(2)
    await expectCode(coordinator.joinGroup(joinRequest()), 'GROUP_MAX_SIZE_REACHED')
  })

  it('answers a follower\'s repeated JoinGroup in a Stable group without a rebalance, but a leader\'s rejoin rebalances', async () => {
    await open()
    const results = await formGroup(2)
    await syncAll(results, new Map())
    const again = await coordinator.joinGroup(joinRequest({ memberId: results[1]!.memberId }))
    expect(again.generationId).toBe(1)
    expect(coordinator.groupState('g')).toBe('Stable')
    const leaderRejoin = coordinator.joinGroup(joinRequest({ memberId: results[0]!.memberId }))
    expect(coordinator.groupState('g')).toBe('PreparingRebalance')
    await expectCode(() => coordinator.heartbeat({ groupId: 'g', generationId: 1, memberId: results[1]!.memberId, groupInstanceId: null }), 'REBALANCE_IN_PROGRESS')
    const followerRejoin = coordinator.joinGroup(joinRequest({ memberId: results[1]!.memberId }))
    const [leaderResult, followerResult] = await Promise.all([leaderRejoin, followerRejoin])
    expect(leaderResult.generationId).toBe(2)
    expect(followerResult.leader).toBe(results[0]!.memberId)
  })

  it('answers a repeated JoinGroup during CompletingRebalance with the current generation', async () => {
    await open()
    const results = await formGroup(2)
    const again = await coordinator.joinGroup(joinRequest({ memberId: results[0]!.memberId }))
    expect(again).toMatchObject({ generationId: 1, leader: results[0]!.memberId })
    expect(again.members).toHaveLength(2)
    expect(coordinator.groupState('g')).toBe('CompletingRebalance')
  })

  it('Heartbeat checks member and generation', async () => {
    await open()
    const results = await formGroup(1)
    await syncAll(results, new Map())
    const memberId = results[0]!.memberId
    await expectCode(() => coordinator.heartbeat({ groupId: 'g', generationId: 0, memberId, groupInstanceId: null }), 'ILLEGAL_GENERATION')
    await expectCode(() => coordinator.heartbeat({ groupId: 'g', generationId: 1, memberId: 'other', groupInstanceId: null }), 'UNKNOWN_MEMBER_ID')
    await expectCode(() => coordinator.heartbeat({ groupId: 'nope', generationId: 1, memberId, groupInstanceId: null }), 'UNKNOWN_MEMBER_ID')
    await expectCode(() => coordinator.heartbeat({ groupId: 'g', generationId: 1, memberId, groupInstanceId: 'not-static' }), 'UNKNOWN_MEMBER_ID')
    coordinator.heartbeat({ groupId: 'g', generationId: 1, memberId, groupInstanceId: null })
  })

  it('bounds the number of groups and the protocols of one join, and validates timeouts', async () => {
    await open({ groupCountMax: 1 })
    await formGroup(1)
    await expectCode(coordinator.joinGroup(joinRequest({ groupId: 'second' })), 'POLICY_VIOLATION')
    await expectCode(coordinator.commitOffsets({ groupId: 'second', generationId: -1, memberId: '', groupInstanceId: null, offsets: [] }), 'POLICY_VIOLATION')
    const protocols = Array.from({ length: 65 }, (_, index) => ({ name: `p${index}`, metadata: new Uint8Array() }))
    await expectCode(coordinator.joinGroup(joinRequest({ protocols })), 'INVALID_REQUEST')
    await expectCode(coordinator.joinGroup(joinRequest({ rebalanceTimeoutMs: -1 })), 'INVALID_REQUEST')
    await expectCode(coordinator.joinGroup(joinRequest({ groupInstanceId: '' })), 'INVALID_REQUEST')
    expect(coordinator.describeGroups(['second'])).toEqual([{ groupId: 'second', errorCode: 'NONE', groupState: 'Dead', protocolType: '', protocolData: '', members: [] }])
    await expectCode(async () => await GroupCoordinator.open({ groupMaxSize: 0 }), 'SLUICE_INVALID_OPTION')
    await expectCode(async () => await GroupCoordinator.open({ groupMinSessionTimeoutMs: 10, groupMaxSessionTimeoutMs: 5 }), 'SLUICE_INVALID_OPTION')
    await expectCode(async () => await GroupCoordinator.open({ sessionTimeout: 5 } as GroupCoordinatorOptions), 'SLUICE_INVALID_OPTION')
  })

  it('SyncGroup checks member and generation, and REBALANCE_IN_PROGRESS while preparing', async () => {
    await open()
    const results = await formGroup(2)
    const [leader, follower] = results as [JoinGroupResult, JoinGroupResult]
    await expectCode(coordinator.syncGroup({ groupId: 'g', generationId: 0, memberId: follower.memberId, groupInstanceId: null, assignments: [] }), 'ILLEGAL_GENERATION')
    await expectCode(coordinator.syncGroup({ groupId: 'g', generationId: 1, memberId: 'nobody', groupInstanceId: null, assignments: [] }), 'UNKNOWN_MEMBER_ID')
    await expectCode(coordinator.syncGroup({ groupId: 'other', generationId: 1, memberId: 'nobody', groupInstanceId: null, assignments: [] }), 'UNKNOWN_MEMBER_ID')
    // A member leaving while the follower's sync is parked voids the generation.
    const parked = coordinator.syncGroup({ groupId: 'g', generationId: 1, memberId: follower.memberId, groupInstanceId: null, assignments: [] })
    expect(coordinator.leaveGroup('g', [{ memberId: leader.memberId, groupInstanceId: null }])).toEqual([{ memberId: leader.memberId, groupInstanceId: null, errorCode: 'NONE' }])
    await expectCode(parked, 'REBALANCE_IN_PROGRESS')
    await expectCode(coordinator.syncGroup({ groupId: 'g', generationId: 1, memberId: follower.memberId, groupInstanceId: null, assignments: [] }), 'REBALANCE_IN_PROGRESS')
  })
})

describe('liveness', () => {
  it('expires a member that stops heartbeating and rebalances the rest; heartbeats see REBALANCE_IN_PROGRESS', async () => {
    await open()
    const results = await formGroup(3)
    await syncAll(results, new Map())
    const [a, b, c] = results as [JoinGroupResult, JoinGroupResult, JoinGroupResult]
    const beat = (member: JoinGroupResult, generationId = 1): void =>
      coordinator.heartbeat({ groupId: 'g', generationId, memberId: member.memberId, groupInstanceId: null })
    for (let elapsed = 0; elapsed < SESSION_MS - 3000; elapsed += 3000) {
      await vi.advanceTimersByTimeAsync(3000)
      beat(a)
      beat(c)
    }
    expect(coordinator.groupState('g')).toBe('Stable')
    await vi.advanceTimersByTimeAsync(3000) // b's session (10 s) has now expired
    expect(coordinator.groupState('g')).toBe('PreparingRebalance')
    await expectCode(() => beat(a), 'REBALANCE_IN_PROGRESS')
    await expectCode(() => beat(b), 'UNKNOWN_MEMBER_ID')
    const rejoins = [a, c].map((member) => coordinator.joinGroup(joinRequest({ memberId: member.memberId })))
    const next = await Promise.all(rejoins)
    expect(next.map((result) => result.generationId)).toEqual([2, 2])
    expect(next[0]!.members.map((member) => member.memberId)).toEqual([a.memberId, c.memberId])
    await expectCode(coordinator.commitOffsets({ groupId: 'g', generationId: 1, memberId: a.memberId, groupInstanceId: null, offsets: [{ topic: 't', partition: 0, offset: 5 }] }), 'ILLEGAL_GENERATION')
    void b
  })

  it('drops members that do not rejoin within the rebalance timeout', async () => {
    await open()
    const results = await formGroup(2)
    await syncAll(results, new Map())
    const [a, b] = results as [JoinGroupResult, JoinGroupResult]
    const rejoin = coordinator.joinGroup(joinRequest({ memberId: b.memberId, protocols: [{ name: 'range', metadata: subscription(['t', 'u']) }] }))
    // a keeps heartbeating (learning of the rebalance) but never rejoins.
    for (let elapsed = 0; elapsed < REBALANCE_MS; elapsed += 3000) {
      await vi.advanceTimersByTimeAsync(3000)
      try { coordinator.heartbeat({ groupId: 'g', generationId: 1, memberId: a.memberId, groupInstanceId: null }) } catch {}
    }
    const result = await rejoin
    expect(result).toMatchObject({ generationId: 2, leader: b.memberId })
    expect(result.members.map((member) => member.memberId)).toEqual([b.memberId])
  })

  it('removes members that never send SyncGroup within the rebalance timeout', async () => {
    await open()
    // Sessions longer than the rebalance timeout, so only the sync deadline can remove the leader.
    const joins = [0, 1].map((index) => coordinator.joinGroup(joinRequest({ clientId: `c${index}`, sessionTimeoutMs: 60_000 })))
    await vi.advanceTimersByTimeAsync(6000)
    const results = await Promise.all(joins)
    const follower = coordinator.syncGroup({ groupId: 'g', generationId: 1, memberId: results[1]!.memberId, groupInstanceId: null, assignments: [] })
    const outcome = follower.then(() => null, (error: unknown) => error)
    await vi.advanceTimersByTimeAsync(REBALANCE_MS - 1)
    expect(await isPending(follower)).toBe(true)
    await vi.advanceTimersByTimeAsync(1)
    expect(await outcome).toMatchObject({ code: 'REBALANCE_IN_PROGRESS' })
    expect(coordinator.groupState('g')).toBe('PreparingRebalance')
    expect(coordinator.describeGroups(['g'])[0]!.members.map((member) => member.memberId)).toEqual([results[1]!.memberId])
  })

  it('a member that heartbeats but never syncs is removed from a Stable group after the rebalance timeout', async () => {
    await open()
    const results = await formGroup(3)
    await syncAll(results.slice(0, 2), new Map([[results[2]!.memberId, assignmentBytes('t', [2])]]))
    expect(coordinator.groupState('g')).toBe('Stable')
    const late = results[2]!
    for (let elapsed = 0; elapsed < REBALANCE_MS - 3000; elapsed += 3000) {
      await vi.advanceTimersByTimeAsync(3000)
      for (const member of results) coordinator.heartbeat({ groupId: 'g', generationId: 1, memberId: member.memberId, groupInstanceId: null })
    }
    expect(coordinator.groupState('g')).toBe('Stable')
    await vi.advanceTimersByTimeAsync(3000)
    expect(coordinator.groupState('g')).toBe('PreparingRebalance')
    await expectCode(() => coordinator.heartbeat({ groupId: 'g', generationId: 1, memberId: late.memberId, groupInstanceId: null }), 'UNKNOWN_MEMBER_ID')
  })

  it('a follower syncing after the group became Stable gets its assignment at once', async () => {
    await open()
    const results = await formGroup(2)
    await syncAll(results.slice(0, 1), new Map([[results[1]!.memberId, assignmentBytes('t', [1])]]))
    const late = await coordinator.syncGroup({ groupId: 'g', generationId: 1, memberId: results[1]!.memberId, groupInstanceId: null, assignments: [] })
    expect(late.assignment).toEqual(assignmentBytes('t', [1]))
    await vi.advanceTimersByTimeAsync(REBALANCE_MS)
    expect(coordinator.groupState('g')).toBe('Empty') // nobody heartbeated: both sessions expired, not the sync deadline
  })

  it('goes Empty with a new generation when the last member leaves', async () => {
    await open()
    const results = await formGroup(2)
    await syncAll(results, new Map())
    const left = coordinator.leaveGroup('g', [
      { memberId: results[0]!.memberId, groupInstanceId: null },
      { memberId: results[1]!.memberId, groupInstanceId: null },
      { memberId: 'ghost', groupInstanceId: null }
    ])
    expect(left.map((entry) => entry.errorCode)).toEqual(['NONE', 'NONE', 'UNKNOWN_MEMBER_ID'])
    expect(coordinator.groupState('g')).toBe('Empty')
    expect(coordinator.describeGroups(['g'])[0]).toMatchObject({ groupState: 'Empty', protocolType: 'consumer', members: [] })
    await expectCode(() => coordinator.leaveGroup('unknown', [{ memberId: 'x', groupInstanceId: null }]), 'UNKNOWN_MEMBER_ID')
  })

  it('an aborted first join removes the member; an aborted later wait rejects with SLUICE_ABORTED', async () => {
    await open()
    const controller = new AbortController()
    const join = coordinator.joinGroup(joinRequest({ signal: controller.signal }))
    controller.abort()
    await expectCode(join, 'SLUICE_ABORTED')
    expect(coordinator.groupState('g')).toBe('PreparingRebalance')
    await vi.advanceTimersByTimeAsync(3000)
    expect(coordinator.groupState('g')).toBe('Empty')
    const aborted = new AbortController()
    aborted.abort()
    await expectCode(coordinator.joinGroup(joinRequest({ signal: aborted.signal })), 'SLUICE_ABORTED')
  })

  it('close rejects parked calls with SLUICE_CLOSED and refuses later ones', async () => {
    await open()
    const join = coordinator.joinGroup(joinRequest())
    await coordinator.close()
    await expectCode(join, 'SLUICE_CLOSED')
    await expectCode(coordinator.joinGroup(joinRequest()), 'SLUICE_CLOSED')
    expect(coordinator.close()).toBe(coordinator.close())
  })

  it('a store append finishing after close arms no timers and changes nothing', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => { release = resolve })
    let gated = false
    const slow: OffsetStore = {
      append: async (partition, records) => {
        if (gated) await gate
        await store.append(partition, records)
      },
      load: () => store.load()
    }
    await open({ store: slow })
    const results = await formGroup(1)
    gated = true
    const sync = coordinator.syncGroup({ groupId: 'g', generationId: 1, memberId: results[0]!.memberId, groupInstanceId: null, assignments: [] })
    const outcome = sync.then(() => null, (error: unknown) => error)
    await coordinator.close()
    release()
    expect(await outcome).toMatchObject({ code: 'SLUICE_CLOSED' })
    await vi.advanceTimersByTimeAsync(0)
    expect(coordinator.groupState('g')).toBe('CompletingRebalance')
  })

  it('a parked join keeps the process alive; an idle group does not', async () => {
    vi.useRealTimers()
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./group-keepalive-child.ts', import.meta.url))], { stdio: ['ignore', 'pipe', 'pipe'] })
      let output = ''
      child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
      child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
      const started = Date.now()
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
      expect(output).toBe('joined generation 1\n')
      expect(code).toBe(0)
      // It exited without waiting for the 10 s session timer or the 30 s sync deadline.
      expect(Date.now() - started).toBeLessThan(9000)
    } finally {
      vi.useFakeTimers()
    }
  })

  it('runs on injected timers and clock', async () => {
    vi.useRealTimers()
    let now = 0
    const pending = new Map<number, { at: number, callback: () => void }>()
    let nextId = 0
    const timers: GroupTimers = {
      setTimeout: (callback, delayMs) => { pending.set(++nextId, { at: now + delayMs, callback }); return nextId },
      clearTimeout: (handle) => { pending.delete(handle as number) }
    }
    const advance = async (ms: number): Promise<void> => {
      const until = now + ms
      for (;;) {
        const due = [...pending].filter(([, timer]) => timer.at <= until).sort((x, y) => x[1].at - y[1].at)[0]
        if (due === undefined) break
        pending.delete(due[0])
        now = due[1].at
        due[1].callback()
        await Promise.resolve()
      }
      now = until
    }
    await open({ timers, now: () => now, groupInitialRebalanceDelayMs: 100 })
    const join = coordinator.joinGroup(joinRequest())
    await advance(99)
    expect(await isPending(join)).toBe(true)
    await advance(1)
    const result = await join
    await syncAll([result], new Map())
    await advance(SESSION_MS)
    expect(coordinator.groupState('g')).toBe('Empty')
    await coordinator.close()
    expect(pending.size).toBe(0)
    vi.useFakeTimers()
  })
})

describe('static membership', () => {
  it('a restarted static member takes over without a rebalance; the old member id is fenced', async () => {
    await open()
    const results = await formGroup(2, { instanceIds: ['i0', 'i1'] })
    const assignments = new Map([[results[0]!.memberId, assignmentBytes('t', [0])], [results[1]!.memberId, assignmentBytes('t', [1])]])
    await syncAll(results, assignments)
    const old = results[1]!
    const restarted = await coordinator.joinGroup(joinRequest({ groupInstanceId: 'i1', clientId: 'c1' }))
    expect(restarted.memberId).not.toBe(old.memberId)
    expect(restarted.memberId.startsWith('i1-')).toBe(true)
    expect(restarted).toMatchObject({ errorCode: 'NONE', generationId: 1, leader: results[0]!.memberId, members: [] })
    expect(coordinator.groupState('g')).toBe('Stable')
    await expectCode(() => coordinator.heartbeat({ groupId: 'g', generationId: 1, memberId: old.memberId, groupInstanceId: 'i1' }), 'FENCED_INSTANCE_ID')
    await expectCode(coordinator.commitOffsets({ groupId: 'g', generationId: 1, memberId: old.memberId, groupInstanceId: 'i1', offsets: [] }), 'FENCED_INSTANCE_ID')
    coordinator.heartbeat({ groupId: 'g', generationId: 1, memberId: restarted.memberId, groupInstanceId: 'i1' })
    const synced = await coordinator.syncGroup({ groupId: 'g', generationId: 1, memberId: restarted.memberId, groupInstanceId: 'i1', assignments: [] })
    expect(synced.assignment).toEqual(assignments.get(old.memberId))
    expect(coordinator.leaveGroup('g', [{ memberId: old.memberId, groupInstanceId: 'i1' }])[0]!.errorCode).toBe('FENCED_INSTANCE_ID')
    expect(coordinator.leaveGroup('g', [{ memberId: '', groupInstanceId: 'nope' }])[0]!.errorCode).toBe('UNKNOWN_MEMBER_ID')
  })

  it('a restarted static leader gets the members with skipAssignment; new metadata triggers a rebalance', async () => {
    await open()
    const results = await formGroup(2, { instanceIds: ['i0', 'i1'] })
    await syncAll(results, new Map())
    const leader = await coordinator.joinGroup(joinRequest({ groupInstanceId: 'i0' }))
    expect(leader.skipAssignment).toBe(true)
    expect(leader.leader).toBe(leader.memberId)
    expect(leader.members.map((member) => member.groupInstanceId)).toEqual(['i1', 'i0'])
    const changed = coordinator.joinGroup(joinRequest({ groupInstanceId: 'i1', protocols: [{ name: 'range', metadata: subscription(['t', 'new']) }] }))
    expect(coordinator.groupState('g')).toBe('PreparingRebalance')
    const leaderRejoin = coordinator.joinGroup(joinRequest({ groupInstanceId: 'i0', memberId: leader.memberId }))
    const [a, b] = await Promise.all([changed, leaderRejoin])
    expect([a.generationId, b.generationId]).toEqual([2, 2])
  })
})

describe('offsets', () => {
  it('enforces Kafka\'s generation and member checks on commit', async () => {
    await open()
    // Simple commit to an unknown group creates an Empty group.
    expect(await coordinator.commitOffsets({ groupId: 'g', generationId: -1, memberId: '', groupInstanceId: null, offsets: [{ topic: 't', partition: 0, offset: 3 }] }))
      .toEqual([{ topic: 't', partition: 0, errorCode: 'NONE' }])
    await expectCode(coordinator.commitOffsets({ groupId: 'other', generationId: 4, memberId: 'm', groupInstanceId: null, offsets: [] }), 'ILLEGAL_GENERATION')
    const joins = [coordinator.joinGroup(joinRequest()), coordinator.joinGroup(joinRequest())]
    await vi.advanceTimersByTimeAsync(6000)
    const results = await Promise.all(joins)
    const member = results[1]!
    const commit = (generationId: number, memberId = member.memberId) =>
      coordinator.commitOffsets({ groupId: 'g', generationId, memberId, groupInstanceId: null, offsets: [{ topic: 't', partition: 1, offset: 10 }] })
    await expectCode(commit(1), 'REBALANCE_IN_PROGRESS') // CompletingRebalance
    await syncAll(results, new Map())
    await expectCode(commit(0), 'ILLEGAL_GENERATION')
    await expectCode(commit(1, 'stranger'), 'UNKNOWN_MEMBER_ID')
    await expectCode(commit(-1, ''), 'UNKNOWN_MEMBER_ID') // simple commits only while Empty
    expect(await commit(1)).toEqual([{ topic: 't', partition: 1, errorCode: 'NONE' }])
    const results2 = await coordinator.commitOffsets({
      groupId: 'g',
      generationId: 1,
      memberId: member.memberId,
      groupInstanceId: null,
      offsets: [
        { topic: 't', partition: 2, offset: 20, metadata: 'x'.repeat(4097) },
        { topic: 't', partition: 3, offset: 30, metadata: 'x'.repeat(4096), leaderEpoch: 7 },
        { topic: 't', partition: -1, offset: 1 }
      ]
    })
    expect(results2.map((result) => result.errorCode)).toEqual(['OFFSET_METADATA_TOO_LARGE', 'NONE', 'UNKNOWN_TOPIC_OR_PARTITION'])
    expect(coordinator.fetchOffsets('g', [{ topic: 't', partitions: [0, 1, 2, 3] }])).toEqual([{
      topic: 't',
      partitions: [
        { partition: 0, offset: 3, leaderEpoch: -1, metadata: '', errorCode: 'NONE' },
        { partition: 1, offset: 10, leaderEpoch: -1, metadata: '', errorCode: 'NONE' },
        { partition: 2, offset: -1, leaderEpoch: -1, metadata: '', errorCode: 'NONE' },
        { partition: 3, offset: 30, leaderEpoch: 7, metadata: 'x'.repeat(4096), errorCode: 'NONE' }
      ]
    }])
    expect(coordinator.fetchOffsets('g', null)[0]!.partitions.map((p) => p.partition)).toEqual([0, 1, 3])
    expect(coordinator.fetchOffsets('nobody', null)).toEqual([])
  })

  it('commits are allowed during PreparingRebalance for the current generation', async () => {
    await open()
    const results = await formGroup(2)
    await syncAll(results, new Map())
    const rejoin = coordinator.joinGroup(joinRequest({ memberId: results[0]!.memberId }))
    expect(coordinator.groupState('g')).toBe('PreparingRebalance')
    expect((await coordinator.commitOffsets({ groupId: 'g', generationId: 1, memberId: results[1]!.memberId, groupInstanceId: null, offsets: [{ topic: 't', partition: 0, offset: 1 }] }))[0]!.errorCode).toBe('NONE')
    await vi.advanceTimersByTimeAsync(REBALANCE_MS)
    await rejoin
  })

  it('offsets and the group survive a coordinator restart (replayed from the store)', async () => {
    await open()
    const results = await formGroup(2)
    const assignments = new Map([[results[0]!.memberId, assignmentBytes('t', [0])], [results[1]!.memberId, assignmentBytes('t', [1])]])
    await syncAll(results, assignments)
    await coordinator.commitOffsets({ groupId: 'g', generationId: 1, memberId: results[0]!.memberId, groupInstanceId: null, offsets: [{ topic: 't', partition: 0, offset: 41, metadata: 'm' }] })
    await coordinator.commitOffsets({ groupId: 'g', generationId: 1, memberId: results[1]!.memberId, groupInstanceId: null, offsets: [{ topic: 't', partition: 1, offset: 7 }] })
    await coordinator.commitOffsets({ groupId: 'g', generationId: 1, memberId: results[0]!.memberId, groupInstanceId: null, offsets: [{ topic: 't', partition: 0, offset: 42, metadata: 'm2' }] })
    await coordinator.commitOffsets({ groupId: 'simple', generationId: -1, memberId: '', groupInstanceId: null, offsets: [{ topic: 'u', partition: 5, offset: 9 }] })
    const before = coordinator.fetchOffsets('g', null)
    await coordinator.close()

    await open()
    expect(coordinator.fetchOffsets('g', null)).toEqual(before)
    expect(before[0]!.partitions[0]).toMatchObject({ offset: 42, metadata: 'm2' })
    expect(coordinator.fetchOffsets('simple', [{ topic: 'u', partitions: [5] }])[0]!.partitions[0]!.offset).toBe(9)
    const [description] = coordinator.describeGroups(['g'])
    expect(description).toMatchObject({ groupState: 'Stable', protocolData: 'range' })
    expect(description!.members.map((member) => member.memberAssignment)).toEqual([...assignments.values()])
    // Members carry on in the same generation after the restart.
    await vi.advanceTimersByTimeAsync(SESSION_MS / 2)
    coordinator.heartbeat({ groupId: 'g', generationId: 1, memberId: results[0]!.memberId, groupInstanceId: null })
    expect(coordinator.groupState('g')).toBe('Stable')
    // ... and the ones that went away expire after their session timeout.
    await vi.advanceTimersByTimeAsync(SESSION_MS / 2)
    expect(coordinator.groupState('g')).toBe('PreparingRebalance')
    expect(coordinator.describeGroups(['g'])[0]!.members.map((member) => member.memberId)).toEqual([results[0]!.memberId])
  })

  it('offsets survive a restart after the store compacted the offsets partition many times', async () => {
    store = new MemoryOffsetStore({ recordCountMax: 16 })
    await open()
    for (let round = 0; round < 50; round++) {
      await coordinator.commitOffsets({
        groupId: 'g', generationId: -1, memberId: '', groupInstanceId: null,
        offsets: [0, 1, 2].map((partition) => ({ topic: 't', partition, offset: round * 10 + partition }))
      })
    }
    await coordinator.commitOffsets({ groupId: 'gone', generationId: -1, memberId: '', groupInstanceId: null, offsets: [{ topic: 't', partition: 0, offset: 1 }] })
    await coordinator.deleteGroups(['gone'])
    expect(store.recordCount(coordinator.partitionFor('g'))).toBeLessThanOrEqual(16)
    await coordinator.close()
    await open()
    expect(coordinator.fetchOffsets('g', null)[0]!.partitions.map((p) => p.offset)).toEqual([490, 491, 492])
    expect(coordinator.groupState('gone')).toBeNull()
  })

  it('deleteGroups refuses a live group, deletes an Empty one with tombstones, and the deletion survives a restart', async () => {
    await open()
    const results = await formGroup(1)
    await syncAll(results, new Map())
    await coordinator.commitOffsets({ groupId: 'g', generationId: 1, memberId: results[0]!.memberId, groupInstanceId: null, offsets: [{ topic: 't', partition: 0, offset: 1 }] })
    expect(await coordinator.deleteGroups(['g', 'nope'])).toEqual([{ groupId: 'g', errorCode: 'NON_EMPTY_GROUP' }, { groupId: 'nope', errorCode: 'GROUP_ID_NOT_FOUND' }])
    coordinator.leaveGroup('g', [{ memberId: results[0]!.memberId, groupInstanceId: null }])
    expect(await coordinator.deleteGroups(['g'])).toEqual([{ groupId: 'g', errorCode: 'NONE' }])
    expect(coordinator.describeGroups(['g'])[0]!.groupState).toBe('Dead')
    expect(coordinator.fetchOffsets('g', [{ topic: 't', partitions: [0] }])[0]!.partitions[0]!.offset).toBe(-1)
    await coordinator.close()
    await open()
    expect(coordinator.groupState('g')).toBeNull()
    expect(coordinator.fetchOffsets('g', null)).toEqual([])
  })

  it('writes Kafka records to the group\'s __consumer_offsets partition', async () => {
    const appended: Array<{ partition: number, records: readonly OffsetStoreRecord[] }> = []
    const recording: OffsetStore = {
      append: async (partition, records) => { appended.push({ partition, records }); await store.append(partition, records) },
      load: () => store.load()
    }
    await open({ store: recording })
    await coordinator.commitOffsets({ groupId: 'hello', generationId: -1, memberId: '', groupInstanceId: null, offsets: [{ topic: 't', partition: 2, offset: 5 }] })
    expect(appended).toHaveLength(1)
    expect(appended[0]!.partition).toBe(22)
    expect(decodeOffsetsRecordKey(appended[0]!.records[0]!.key)).toEqual({ type: 'offset-commit', group: 'hello', topic: 't', partition: 2 })
    expect(coordinator.partitionFor('hello')).toBe(22)
  })

  it('a failed append is COORDINATOR_NOT_AVAILABLE and leaves the committed offset unchanged', async () => {
    let failing = false
    const flaky: OffsetStore = {
      append: async (partition, records) => {
        if (failing) throw new Error('disk on fire')
        await store.append(partition, records)
      },
      load: () => store.load()
    }
    await open({ store: flaky })
    const commit = (offset: number) => coordinator.commitOffsets({ groupId: 'g', generationId: -1, memberId: '', groupInstanceId: null, offsets: [{ topic: 't', partition: 0, offset }] })
    await commit(1)
    failing = true
    await expectCode(commit(2), 'COORDINATOR_NOT_AVAILABLE')
    expect(coordinator.fetchOffsets('g', null)[0]!.partitions[0]!.offset).toBe(1)
  })

  it('expires offsets after offsets.retention: Empty groups from when they emptied, simple groups from the commit', async () => {
    const day = 24 * 3600 * 1000
    await open({ offsetsRetentionMs: 7 * day, offsetsRetentionCheckIntervalMs: 3600 * 1000 })
    await coordinator.commitOffsets({ groupId: 'simple', generationId: -1, memberId: '', groupInstanceId: null, offsets: [{ topic: 't', partition: 0, offset: 1 }] })
    const results = await formGroup(1)
    await syncAll(results, new Map())
    const member = results[0]!
    const commit = (topic: string) => coordinator.commitOffsets({ groupId: 'g', generationId: 1, memberId: member.memberId, groupInstanceId: null, offsets: [{ topic, partition: 0, offset: 5 }] })
    await commit('t')
    await commit('unsubscribed')
    // Keep the member alive for 8 days; only the unsubscribed topic's offset and the simple group's expire.
    for (let elapsed = 0; elapsed < 8 * day; elapsed += 5000) {
      coordinator.heartbeat({ groupId: 'g', generationId: 1, memberId: member.memberId, groupInstanceId: null })
      await vi.advanceTimersByTimeAsync(5000)
    }
    expect(coordinator.fetchOffsets('g', null).map((topic) => topic.topic)).toEqual(['t'])
    expect(coordinator.groupState('simple')).toBeNull()
    coordinator.leaveGroup('g', [{ memberId: member.memberId, groupInstanceId: null }])
    await vi.advanceTimersByTimeAsync(6 * day)
    expect(coordinator.fetchOffsets('g', null)).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(day + 3600 * 1000)
    expect(coordinator.fetchOffsets('g', null)).toEqual([])
    expect(coordinator.groupState('g')).toBeNull()
    await coordinator.close()
    await open()
    expect(coordinator.groupCount).toBe(0)
  })

  it('deleteOffsets removes offsets of an Empty group, and only unsubscribed topics of a live consumer group', async () => {
    await open()
    const results = await formGroup(1)
    await syncAll(results, new Map())
    const memberId = results[0]!.memberId
    await coordinator.commitOffsets({ groupId: 'g', generationId: 1, memberId, groupInstanceId: null, offsets: [{ topic: 't', partition: 0, offset: 1 }, { topic: 'old', partition: 0, offset: 2 }] })
    expect(await coordinator.deleteOffsets('g', [{ topic: 't', partitions: [0] }, { topic: 'old', partitions: [0, 9] }])).toEqual([
      { topic: 't', partition: 0, errorCode: 'GROUP_SUBSCRIBED_TO_TOPIC' },
      { topic: 'old', partition: 0, errorCode: 'NONE' },
      { topic: 'old', partition: 9, errorCode: 'NONE' }
    ])
    expect(coordinator.fetchOffsets('g', null).map((topic) => topic.topic)).toEqual(['t'])
    await expectCode(coordinator.deleteOffsets('nope', []), 'GROUP_ID_NOT_FOUND')
    coordinator.leaveGroup('g', [{ memberId, groupInstanceId: null }])
    expect((await coordinator.deleteOffsets('g', [{ topic: 't', partitions: [0] }]))[0]!.errorCode).toBe('NONE')
    await coordinator.close()
    await open()
    expect(coordinator.fetchOffsets('g', null)).toEqual([])
  })

  it('bounds committed partitions per group', async () => {
    await open({ groupOffsetCountMax: 2 })
    const offsets = [0, 1, 2].map((partition) => ({ topic: 't', partition, offset: 1 }))
    const result = await coordinator.commitOffsets({ groupId: 'g', generationId: -1, memberId: '', groupInstanceId: null, offsets })
    expect(result.map((entry) => entry.errorCode)).toEqual(['INVALID_COMMIT_OFFSET_SIZE', 'INVALID_COMMIT_OFFSET_SIZE', 'INVALID_COMMIT_OFFSET_SIZE'])
    expect(coordinator.groupCount).toBe(0)
  })
})

describe('cooperative rebalancing through the coordinator', () => {
  /** A minimal client: subscribes to 't', reports owned partitions, runs cooperative-sticky when it leads. */
  class SimulatedConsumer {
    memberId = ''
    generationId = -1
    owned: TopicPartitions[] = []
    revokedLastTime = false
    constructor (readonly name: string) {}

    partitions (): string[] {
      return this.owned.flatMap(({ topic, partitions }) => partitions.map((partition) => `${topic}-${partition}`))
    }

    join (): Promise<JoinGroupResult> {
      const metadata = encodeSubscription({ version: 2, topics: ['t'], userData: null, ownedPartitions: this.owned, generationId: this.generationId, rackId: null })
      return coordinator.joinGroup(joinRequest({ memberId: this.memberId, clientId: this.name, protocols: [{ name: 'cooperative-sticky', metadata }] }))
    }

    async sync (join: JoinGroupResult): Promise<void> {
      this.memberId = join.memberId
      let assignments: Array<{ memberId: string, assignment: Uint8Array }> = []
      if (join.leader === join.memberId) {
        const members = join.members.map((member) => {
          const decoded = decodeSubscription(member.metadata)
          return { memberId: member.memberId, groupInstanceId: member.groupInstanceId, topics: decoded.topics, ownedPartitions: decoded.ownedPartitions, generationId: decoded.generationId }
        })
        const plan = cooperativeStickyAssign(members, new Map([['t', 6]]))
        assignments = [...plan].map(([memberId, list]) => ({ memberId, assignment: encodeAssignment({ version: 0, assignedPartitions: list, userData: null }) }))
      }
      const result = await coordinator.syncGroup({ groupId: 'g', generationId: join.generationId, memberId: join.memberId, groupInstanceId: null, assignments })
      const assigned = decodeAssignment(result.assignment).assignedPartitions
      const assignedKeys = new Set(assigned.flatMap(({ topic, partitions }) => partitions.map((p) => `${topic}-${p}`)))
      this.revokedLastTime = this.partitions().some((key) => !assignedKeys.has(key))
      this.owned = assigned
      this.generationId = join.generationId
    }
  }

  async function rebalance (consumers: SimulatedConsumer[]): Promise<void> {
    // Joins in the order given: a newcomer listed first triggers the rebalance before the
    // others rejoin (otherwise the known members alone would complete the join phase).
    const joins = consumers.map((consumer) => consumer.join())
    await vi.advanceTimersByTimeAsync(6000)
    const results = await Promise.all(joins)
    await Promise.all(consumers.map((consumer, index) => consumer.sync(results[index]!)))
    // Safety: no partition is owned by two consumers after any generation.
    const all = consumers.flatMap((consumer) => consumer.partitions())
    expect(new Set(all).size).toBe(all.length)
  }

  it('a joining member gets its partitions in a follow-up rebalance while unaffected partitions never stop', async () => {
    await open()
    const a = new SimulatedConsumer('a')
    const b = new SimulatedConsumer('b')
    await rebalance([a, b])
    expect([a.partitions(), b.partitions()]).toEqual([['t-0', 't-1', 't-2'], ['t-3', 't-4', 't-5']])
    const aBefore = a.partitions()
    const bBefore = b.partitions()

    const c = new SimulatedConsumer('c')
    await rebalance([c, a, b])
    expect(a.generationId).toBe(2)
    expect(c.partitions()).toEqual([]) // the partitions it will get are still being revoked
    expect(a.revokedLastTime || b.revokedLastTime).toBe(true)
    // Partitions a and b keep were never given up.
    expect(a.partitions().every((key) => aBefore.includes(key))).toBe(true)
    expect(b.partitions().every((key) => bBefore.includes(key))).toBe(true)

    // Members that revoked rejoin at once; the follow-up completes the handover.
    await rebalance([a, b, c])
    expect(a.generationId).toBe(3)
    expect([a.partitions().length, b.partitions().length, c.partitions().length]).toEqual([2, 2, 2])
    expect([...a.partitions(), ...b.partitions(), ...c.partitions()].sort()).toEqual(['t-0', 't-1', 't-2', 't-3', 't-4', 't-5'])
  })
})
