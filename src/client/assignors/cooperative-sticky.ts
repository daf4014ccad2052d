/**
 * `cooperative-sticky` (KIP-429): a balanced assignment that moves as few partitions as
 * possible, handed out in two phases so no partition is ever owned by two members at once.
 *
 * Phase one (this function): compute the sticky balanced target, then withhold from each
 * member every partition that another member still lists as owned. The old owner, not
 * seeing it in its assignment, revokes it; because it revoked something it rejoins, and in
 * that follow-up rebalance nobody owns the partition any more, so the target owner gets it.
 * Partitions that do not move stay with their owners through both rebalances: no
 * stop-the-world.
 *
 * The target:
 * 1. Ownership claims are validated: the topic must still exist and be subscribed by the
 *    claimant; when several members claim a partition, the highest generation wins and a tie
 *    at the highest generation voids the claim (Kafka treats it as a bug and reassigns).
 * 2. Equal subscriptions (the common case): with P partitions over C members, everyone
 *    gets floor(P/C) or ceil(P/C), exactly P % C members the larger quota. Owners keep their
 *    partitions up to their quota (the members that own most get the larger quotas first);
 *    the remainder is dealt to members below quota. Balance: max - min <= 1.
 * 3. Different subscriptions: owners keep everything valid; unowned partitions go, most
 *    constrained first, to the least-loaded eligible member; then partitions move, directly
 *    or along chains of members, towards members holding at least two fewer, until no such
 *    move exists (the optimum of the sum of squared loads). Owned partitions are pinned
 *    first and move only if balance cannot be reached without them.
 * Ties always break on Kafka's member order and (topic, partition) order: deterministic.
 */
import {
  AssignmentBuilder, compareMembers, compareStrings, partitionCount,
  type AssignorMember, type GroupAssignment, type PartitionAssignor
} from './assignor.js'

interface Slot {
  topic: string
  partition: number
  key: string
}

function keyOf (topic: string, partition: number): string {
  return `${topic}\u0000${partition}`
}

function compareSlots (a: Slot, b: Slot): number {
  return compareStrings(a.topic, b.topic) || a.partition - b.partition
}

interface Load {
  member: AssignorMember
  order: number
  subscribed: Set<string>
  /** Current partitions, by key. */
  slots: Map<string, Slot>
  /** Validly owned going in: moving these costs stickiness. */
  owned: Set<string>
}

/**
 * The sticky balanced target, before withholding partitions that change owner. Exposed for
 * tests and for an eager `sticky` assignor should one be wanted.
 */
export function stickyTarget (members: readonly AssignorMember[], partitionsPerTopic: ReadonlyMap<string, number>): GroupAssignment {
  const sorted = [...members].sort(compareMembers)
  const loads: Load[] = sorted.map((member, order) => ({
    member,
    order,
    subscribed: new Set(member.topics.filter((topic) => partitionCount(partitionsPerTopic, topic) > 0)),
    slots: new Map(),
    owned: new Set()
  }))
  const builder = new AssignmentBuilder(sorted.map((member) => member.memberId))
  if (loads.length === 0) return builder.build()

  const slots = new Map<string, Slot>()
  const eligible = new Map<string, Load[]>()
  const topics = new Set<string>()
  for (const load of loads) for (const topic of load.subscribed) topics.add(topic)
  for (const topic of [...topics].sort(compareStrings)) {
    const subscribers = loads.filter((load) => load.subscribed.has(topic))
    for (let partition = 0; partition < partitionCount(partitionsPerTopic, topic); partition++) {
      const slot = { topic, partition, key: keyOf(topic, partition) }
      slots.set(slot.key, slot)
      eligible.set(slot.key, subscribers)
    }
  }

  // 1. Valid ownership: highest generation wins; a tie at the highest voids the claim.
  const claims = new Map<string, { load: Load | null, generationId: number }>()
  for (const load of loads) {
    for (const { topic, partitions } of load.member.ownedPartitions) {
      if (!load.subscribed.has(topic)) continue
      for (const partition of new Set(partitions)) {
        const key = keyOf(topic, partition)
        if (!slots.has(key)) continue
        const claim = claims.get(key)
        const generationId = load.member.generationId
        if (claim === undefined || generationId > claim.generationId) claims.set(key, { load, generationId })
        else if (generationId === claim.generationId && claim.load !== load) claim.load = null
      }
    }
  }
  for (const [key, claim] of claims) {
    if (claim.load !== null) claim.load.owned.add(key)
  }

  const allEqual = loads.every((load) => load.subscribed.size === loads[0]!.subscribed.size &&
    [...load.subscribed].every((topic) => loads[0]!.subscribed.has(topic)))
  if (allEqual) assignEqual(loads, slots)
  else assignGeneral(loads, slots, eligible)

  for (const load of loads) for (const slot of load.slots.values()) builder.add(load.member.memberId, slot.topic, slot.partition)
  return builder.build()
}

function sortedOwned (load: Load, slots: Map<string, Slot>): Slot[] {
  return [...load.owned].map((key) => slots.get(key)!).sort(compareSlots)
}

function assignEqual (loads: Load[], slots: Map<string, Slot>): void {
  const total = slots.size
  const minQuota = Math.floor(total / loads.length)
  const maxQuota = Math.ceil(total / loads.length)
  let largerQuotasLeft = minQuota === maxQuota ? 0 : total % loads.length
  const unassigned = new Set(slots.keys())
  const byOwned = [...loads].sort((a, b) => b.owned.size - a.owned.size || a.order - b.order)
  for (const load of byOwned) {
    let keep = Math.min(load.owned.size, minQuota)
    if (load.owned.size >= maxQuota && largerQuotasLeft > 0) {
      keep = maxQuota
      largerQuotasLeft--
    }
    for (const slot of sortedOwned(load, slots).slice(0, keep)) {
      load.slots.set(slot.key, slot)
      unassigned.delete(slot.key)
    }
  }
  const remaining = [...unassigned].map((key) => slots.get(key)!).sort(compareSlots)
  let next = 0
  for (const load of loads) {
    while (load.slots.size < minQuota) {
      const slot = remaining[next++]!
      load.slots.set(slot.key, slot)
    }
  }
  for (const load of loads) {
    if (next >= remaining.length) break
    if (load.slots.size === minQuota && largerQuotasLeft > 0) {
      const slot = remaining[next++]!
      load.slots.set(slot.key, slot)
      largerQuotasLeft--
    }
  }
  if (next !== remaining.length) throw new RangeError('cooperative-sticky: quota arithmetic left partitions unassigned')
}

function leastLoaded (candidates: readonly Load[]): Load | undefined {
  let best: Load | undefined
  for (const load of candidates) {
    if (best === undefined || load.slots.size < best.slots.size || (load.slots.size === best.slots.size && load.order < best.order)) best = load
  }
  return best
}

function assignGeneral (loads: Load[], slots: Map<string, Slot>, eligible: Map<string, Load[]>): void {
  const unassigned: Slot[] = []
  for (const load of loads) for (const key of load.owned) load.slots.set(key, slots.get(key)!)
  const taken = new Set<string>()
  for (const load of loads) for (const key of load.owned) taken.add(key)
  for (const slot of slots.values()) if (!taken.has(slot.key)) unassigned.push(slot)
  unassigned.sort((a, b) => eligible.get(a.key)!.length - eligible.get(b.key)!.length || compareSlots(a, b))
  for (const slot of unassigned) leastLoaded(eligible.get(slot.key)!)!.slots.set(slot.key, slot)
  // First balance with every owned partition pinned to its owner; then let owned partitions
  // move only if balance still needs it. When the owners hold part of an earlier balanced
  // target (the follow-up rebalance), the pinned phase already reaches the optimum, so no
  // owned partition moves and the handover completes in two rebalances.
  balance(loads, eligible, (load, key) => !load.owned.has(key))
  balance(loads, eligible, () => true)
}

/** Candidate partitions of a member: movable ones, those it did not own first, then by (topic, partition). */
function movableSlots (load: Load, movable: (load: Load, key: string) => boolean): Slot[] {
  return [...load.slots.values()].filter((slot) => movable(load, slot.key)).sort((a, b) =>
    Number(load.owned.has(a.key)) - Number(load.owned.has(b.key)) || compareSlots(a, b))
}

/**
 * Moves partitions until no member can hand one, directly or along a chain of members each
 * passing one on, to an eligible member holding at least two fewer. That is the optimality
 * condition of this convex assignment problem, so the result minimises the sum of squared
 * loads: balanced as far as the subscriptions allow. Every move or chain lowers that sum by
 * at least 2, which bounds the loops.
 */
function balance (loads: Load[], eligible: Map<string, Load[]>, movable: (load: Load, key: string) => boolean): void {
  // Direct moves first: cheap, and they do nearly all the work.
  let moved = true
  while (moved) {
    moved = false
    const byLoad = [...loads].sort((a, b) => b.slots.size - a.slots.size || a.order - b.order)
    for (const source of byLoad) {
      for (const slot of movableSlots(source, movable)) {
        const target = leastLoaded(eligible.get(slot.key)!)
        if (target === undefined || target === source || target.slots.size > source.slots.size - 2) continue
        source.slots.delete(slot.key)
        target.slots.set(slot.key, slot)
        moved = true
      }
    }
  }
  // Then chains, found breadth-first from the most loaded members. A member reached from a
  // more loaded source without finding a target cannot lead a less loaded source to one
  // either, so one visited set serves the whole pass.
  for (;;) {
    const byLoad = [...loads].sort((a, b) => b.slots.size - a.slots.size || a.order - b.order)
    const visited = new Set<Load>()
    let path: Array<{ slot: Slot, from: Load, to: Load }> | null = null
    for (const source of byLoad) {
      if (visited.has(source)) continue
      path = findChain(source, eligible, movable, visited)
      if (path !== null) break
    }
    if (path === null) return
    for (const { slot, from, to } of path) {
      from.slots.delete(slot.key)
      to.slots.set(slot.key, slot)
    }
  }
}

function findChain (source: Load, eligible: Map<string, Load[]>, movable: (load: Load, key: string) => boolean, visited: Set<Load>): Array<{ slot: Slot, from: Load, to: Load }> | null {
  const limit = source.slots.size - 2
  const parent = new Map<Load, { slot: Slot, from: Load }>()
  const queue: Load[] = [source]
  visited.add(source)
  for (let head = 0; head < queue.length; head++) {
    const member = queue[head]!
    for (const slot of movableSlots(member, movable)) {
      for (const next of eligible.get(slot.key)!) {
        if (visited.has(next)) continue
        visited.add(next)
        parent.set(next, { slot, from: member })
        if (next.slots.size <= limit) {
          const path: Array<{ slot: Slot, from: Load, to: Load }> = []
          for (let at = next; at !== source;) {
            const step = parent.get(at)!
            path.push({ slot: step.slot, from: step.from, to: at })
            at = step.from
          }
          return path
        }
        queue.push(next)
      }
    }
  }
  return null
}

/**
 * Phase one of a cooperative rebalance: the target minus every partition another member
 * still claims to own (it must revoke it first; the follow-up rebalance hands it over).
 */
export function cooperativeStickyAssign (members: readonly AssignorMember[], partitionsPerTopic: ReadonlyMap<string, number>): GroupAssignment {
  const target = stickyTarget(members, partitionsPerTopic)
  const claimants = new Map<string, Set<string>>()
  for (const member of members) {
    for (const { topic, partitions } of member.ownedPartitions) {
      for (const partition of partitions) {
        const key = keyOf(topic, partition)
        let set = claimants.get(key)
        if (set === undefined) {
          set = new Set()
          claimants.set(key, set)
        }
        set.add(member.memberId)
      }
    }
  }
  const assignment: GroupAssignment = new Map()
  for (const [memberId, list] of target) {
    const kept = []
    for (const { topic, partitions } of list) {
      const free = partitions.filter((partition) => {
        const owners = claimants.get(keyOf(topic, partition))
        return owners === undefined || (owners.size === 1 && owners.has(memberId))
      })
      if (free.length > 0) kept.push({ topic, partitions: free })
    }
    assignment.set(memberId, kept)
  }
  return assignment
}

export const cooperativeStickyAssignor: PartitionAssignor = Object.freeze({
  name: 'cooperative-sticky',
  version: 0,
  rebalanceProtocol: 'cooperative',
  assign: cooperativeStickyAssign
})
