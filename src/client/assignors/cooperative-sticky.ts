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
 *    constrained first, to the least-loaded eligible member; then partitions move from a
 *    member to an eligible member holding at least two fewer, preferring partitions the
 *    member did not own, until no such move exists. Each move lowers the sum of squared
 *    loads, so the loop ends.
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

  // Each move lowers the sum of squared loads by at least 2, so the passes end; a pass that
  // moves nothing proves the assignment balanced. The budget only guards against a bug.
  let movesLeft = slots.size * slots.size + 1
  let moved = true
  while (moved && movesLeft > 0) {
    moved = false
    const byLoad = [...loads].sort((a, b) => b.slots.size - a.slots.size || a.order - b.order)
    for (const source of byLoad) {
      // Partitions the member did not own move first: they cost no stickiness.
      const candidates = [...source.slots.values()].sort((a, b) =>
        Number(source.owned.has(a.key)) - Number(source.owned.has(b.key)) || compareSlots(a, b))
      for (const slot of candidates) {
        const target = leastLoaded(eligible.get(slot.key)!)
        if (target === undefined || target === source || target.slots.size > source.slots.size - 2) continue
        source.slots.delete(slot.key)
        target.slots.set(slot.key, slot)
        moved = true
        if (--movesLeft === 0) return
      }
    }
  }
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
