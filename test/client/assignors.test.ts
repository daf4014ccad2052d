import { describe, expect, it } from 'vitest'
import { fc, test } from '@fast-check/vitest'
import {
  builtInAssignors, cooperativeStickyAssign, rangeAssign, roundRobinAssign, stickyTarget,
  type AssignorMember, type GroupAssignment, type TopicPartitions
} from '../../src/client/assignors/index.js'

function member (memberId: string, topics: string[], options: Partial<AssignorMember> = {}): AssignorMember {
  return { memberId, groupInstanceId: null, topics, ownedPartitions: [], generationId: -1, ...options }
}

/** memberId -> ['topic-partition', ...] for compact expectations. */
function flat (assignment: GroupAssignment): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const [memberId, list] of assignment) out[memberId] = list.flatMap(({ topic, partitions }) => partitions.map((p) => `${topic}-${p}`))
  return out
}

function counts (assignment: GroupAssignment): number[] {
  return [...assignment.values()].map((list) => list.reduce((sum, entry) => sum + entry.partitions.length, 0))
}

/** Every partition of a subscribed topic exactly once, each to a member subscribed to its topic. */
function expectCompleteAndValid (members: AssignorMember[], partitionsPerTopic: Map<string, number>, assignment: GroupAssignment): void {
  const seen = new Map<string, string>()
  for (const [memberId, list] of assignment) {
    const subscriber = members.find((m) => m.memberId === memberId)!
    for (const { topic, partitions } of list) {
      expect(subscriber.topics).toContain(topic)
      for (const partition of partitions) {
        const key = `${topic}-${partition}`
        expect(seen.has(key), `${key} assigned twice`).toBe(false)
        seen.set(key, memberId)
      }
    }
  }
  for (const [topic, count] of partitionsPerTopic) {
    const subscribed = members.some((m) => m.topics.includes(topic))
    for (let partition = 0; partition < count; partition++) {
      expect(seen.has(`${topic}-${partition}`), `${topic}-${partition}`).toBe(subscribed)
    }
  }
  expect([...assignment.keys()].sort()).toEqual(members.map((m) => m.memberId).sort())
}

/**
 * Balance where subscriptions differ: no member can pass a partition, directly or along a
 * chain of members each passing one on, to an eligible member holding at least two fewer.
 * (The optimality condition of the sum of squared loads; checked here by its own search.)
 */
function expectNoImprovingChain (members: AssignorMember[], assignment: GroupAssignment): void {
  const size = new Map([...assignment].map(([id, list]) => [id, list.reduce((sum, e) => sum + e.partitions.length, 0)]))
  const topicsOf = new Map(members.map((m) => [m.memberId, new Set(m.topics)]))
  for (const [source] of assignment) {
    const reached = new Set([source])
    const queue = [source]
    while (queue.length > 0) {
      const at = queue.shift()!
      for (const { topic } of assignment.get(at)!) {
        for (const other of members) {
          if (reached.has(other.memberId) || !topicsOf.get(other.memberId)!.has(topic)) continue
          expect(size.get(source)! - size.get(other.memberId)!, `${source} could pass a partition to ${other.memberId} via ${at}`).toBeLessThanOrEqual(1)
          reached.add(other.memberId)
          queue.push(other.memberId)
        }
      }
    }
  }
}

function toOwned (list: TopicPartitions[] | undefined): TopicPartitions[] {
  return (list ?? []).map(({ topic, partitions }) => ({ topic, partitions: [...partitions] }))
}

describe('range', () => {
  it('splits each topic into contiguous ranges, the first members taking the extra partitions (Kafka javadoc example)', () => {
    // RangeAssignor javadoc: C0, C1 both subscribe t0 and t1, 3 partitions each.
    const result = rangeAssign([member('C1', ['t0', 't1']), member('C0', ['t0', 't1'])], new Map([['t0', 3], ['t1', 3]]))
    expect(flat(result)).toEqual({ C0: ['t0-0', 't0-1', 't1-0', 't1-1'], C1: ['t0-2', 't1-2'] })
  })

  it('orders static members first by instance id, then dynamic members by member id', () => {
    const result = rangeAssign([
      member('a', ['t']),
      member('z', ['t'], { groupInstanceId: 'i2' }),
      member('y', ['t'], { groupInstanceId: 'i1' })
    ], new Map([['t', 4]]))
    expect(flat(result)).toEqual({ y: ['t-0', 't-1'], z: ['t-2'], a: ['t-3'] })
  })

  it('assigns a topic only among its subscribers and skips unknown topics', () => {
    const result = rangeAssign([member('m1', ['a', 'ghost']), member('m2', ['a', 'b'])], new Map([['a', 2], ['b', 3]]))
    expect(flat(result)).toEqual({ m1: ['a-0'], m2: ['a-1', 'b-0', 'b-1', 'b-2'] })
  })
})

describe('roundrobin', () => {
  it('deals sorted partitions circularly over sorted members (Kafka javadoc example, equal subscriptions)', () => {
    const result = roundRobinAssign([member('C0', ['t0', 't1']), member('C1', ['t0', 't1'])], new Map([['t0', 3], ['t1', 3]]))
    expect(flat(result)).toEqual({ C0: ['t0-0', 't0-2', 't1-1'], C1: ['t0-1', 't1-0', 't1-2'] })
  })

  it('skips members not subscribed to a topic (Kafka javadoc example, different subscriptions)', () => {
    // C0: t0; C1: t0, t1; C2: t0, t1, t2 with t0 1 partition, t1 2, t2 3.
    const result = roundRobinAssign([
      member('C0', ['t0']), member('C1', ['t0', 't1']), member('C2', ['t0', 't1', 't2'])
    ], new Map([['t0', 1], ['t1', 2], ['t2', 3]]))
    expect(flat(result)).toEqual({ C0: ['t0-0'], C1: ['t1-0'], C2: ['t1-1', 't2-0', 't2-1', 't2-2'] })
  })

  it('is registered under Kafka\'s and kafkajs\'s protocol names with the same algorithm', () => {
    expect(builtInAssignors.get('roundrobin')!.assign).toBe(builtInAssignors.get('RoundRobinAssigner')!.assign)
    expect(builtInAssignors.get('RoundRobinAssigner')!.version).toBe(0)
    expect([...builtInAssignors.keys()].sort()).toEqual(['RoundRobinAssigner', 'cooperative-sticky', 'range', 'roundrobin'])
  })
})

const arbTopics = fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd'), { minLength: 1, maxLength: 4 })
const arbPartitionCounts = fc.record({ a: fc.nat(12), b: fc.nat(12), c: fc.nat(12), d: fc.nat(12) })
  .map((counts) => new Map(Object.entries(counts)))
const arbMembers = (topicsArb: fc.Arbitrary<string[]>) => fc.uniqueArray(fc.string({ minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 7 })
  .chain((ids) => fc.tuple(...ids.map((id) => topicsArb.map((topics) => member(`m-${id}`, topics)))))

describe('properties of every assignor', () => {
  for (const [name, assignor] of builtInAssignors) {
    test.prop([arbMembers(arbTopics), arbPartitionCounts])(`${name}: each subscribed partition once, to a subscriber; input order does not matter`, (members, partitionsPerTopic) => {
      const result = assignor.assign(members, partitionsPerTopic)
      if (name === 'cooperative-sticky') {
        // Nobody owns anything yet, so nothing is withheld: the full target is handed out.
        expect(result).toEqual(stickyTarget(members, partitionsPerTopic))
      }
      expectCompleteAndValid(members, partitionsPerTopic, result)
      expect(assignor.assign([...members].reverse(), partitionsPerTopic)).toEqual(result)
    })
  }

  test.prop([arbMembers(arbTopics), arbPartitionCounts])('cooperative-sticky is balanced as far as different subscriptions allow', (members, partitionsPerTopic) => {
    expectNoImprovingChain(members, stickyTarget(members, partitionsPerTopic))
  })

  test.prop([fc.uniqueArray(fc.string({ minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 9 }), arbTopics, arbPartitionCounts])(
    'roundrobin and cooperative-sticky are balanced (max - min <= 1) when every member subscribes to the same topics',
    (ids, topics, partitionsPerTopic) => {
      const members = ids.map((id) => member(id, topics))
      for (const assign of [roundRobinAssign, cooperativeStickyAssign]) {
        const sizes = counts(assign(members, partitionsPerTopic))
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1)
      }
    })
})

describe('cooperative-sticky', () => {
  const six = new Map([['t', 6]])

  it('keeps an unchanged group exactly as it is', () => {
    const members = [member('m1', ['t']), member('m2', ['t']), member('m3', ['t'])]
    const first = cooperativeStickyAssign(members, six)
    const again = cooperativeStickyAssign(members.map((m) => ({ ...m, ownedPartitions: toOwned(first.get(m.memberId)), generationId: 1 })), six)
    expect(again).toEqual(first)
  })

  it('revokes first and hands over in the follow-up rebalance when a member joins', () => {
    const owned = [
      member('m1', ['t'], { ownedPartitions: [{ topic: 't', partitions: [0, 1, 2] }], generationId: 1 }),
      member('m2', ['t'], { ownedPartitions: [{ topic: 't', partitions: [3, 4, 5] }], generationId: 1 })
    ]
    const joined = [...owned, member('m3', ['t'])]
    const phaseOne = cooperativeStickyAssign(joined, six)
    // m1 and m2 each give up one partition; m3 gets nothing yet.
    expect(flat(phaseOne)).toEqual({ m1: ['t-0', 't-1'], m2: ['t-3', 't-4'], m3: [] })
    const target = stickyTarget(joined, six)
    expect(flat(target)).toEqual({ m1: ['t-0', 't-1'], m2: ['t-3', 't-4'], m3: ['t-2', 't-5'] })
    const phaseTwo = cooperativeStickyAssign(joined.map((m) => ({ ...m, ownedPartitions: toOwned(phaseOne.get(m.memberId)), generationId: 2 })), six)
    expect(phaseTwo).toEqual(target)
  })

  it('ignores claims of unsubscribed topics and older generations, and voids ties', () => {
    const result = stickyTarget([
      member('m1', ['t'], { ownedPartitions: [{ topic: 't', partitions: [0, 1] }, { topic: 'x', partitions: [0] }], generationId: 5 }),
      member('m2', ['t'], { ownedPartitions: [{ topic: 't', partitions: [0, 2] }], generationId: 4 }),
      member('m3', ['t'], { ownedPartitions: [{ topic: 't', partitions: [3] }], generationId: 5 }),
      member('m4', ['t'], { ownedPartitions: [{ topic: 't', partitions: [3] }], generationId: 5 })
    ], new Map([['t', 8], ['x', 1]]))
    const f = flat(result)
    expect(f.m1).toEqual(['t-0', 't-1'])
    expect(f.m2).toContain('t-2')
    expect(counts(result)).toEqual([2, 2, 2, 2])
  })

  it('balances members with different subscriptions without giving a topic to a non-subscriber', () => {
    const members = [
      member('m1', ['a', 'b'], { ownedPartitions: [{ topic: 'a', partitions: [0, 1, 2, 3] }, { topic: 'b', partitions: [0, 1, 2, 3] }], generationId: 3 }),
      member('m2', ['a']),
      member('m3', ['b'])
    ]
    const partitionsPerTopic = new Map([['a', 4], ['b', 4]])
    const target = stickyTarget(members, partitionsPerTopic)
    expectCompleteAndValid(members, partitionsPerTopic, target)
    expect(counts(target).sort()).toEqual([2, 3, 3])
  })

  const arbStep = fc.record({
    join: fc.subarray(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6']),
    leave: fc.subarray(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6'])
  })

  test.prop([fc.array(arbStep, { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 24 }), fc.boolean()], { numRuns: 300 })(
    'a partition is never owned by two members at once, moves are minimal, and the follow-up rebalance converges to a balanced assignment',
    (steps, partitionCount, differentSubscriptions) => {
      const partitionsPerTopic = new Map([['a', partitionCount], ['b', Math.floor(partitionCount / 2)]])
      const topicsOf = (id: string): string[] => (differentSubscriptions && id < 'm3' ? ['a'] : ['a', 'b'])
      const owned = new Map<string, TopicPartitions[]>()
      let generationId = 0
      const rebalance = (): GroupAssignment => {
        generationId++
        const members = [...owned.keys()].map((id) => member(id, topicsOf(id), { ownedPartitions: owned.get(id)!, generationId: generationId - 1 }))
        const assignment = cooperativeStickyAssign(members, partitionsPerTopic)
        // Safety: nothing handed out is still owned by someone else.
        for (const [id, list] of assignment) {
          for (const { topic, partitions } of list) {
            for (const partition of partitions) {
              for (const [other, otherOwned] of owned) {
                if (other === id) continue
                expect(otherOwned.some((e) => e.topic === topic && e.partitions.includes(partition)), `${topic}-${partition} to ${id} while ${other} owns it`).toBe(false)
              }
            }
          }
        }
        // Members revoke what they were not given and take what they got.
        for (const [id, list] of assignment) owned.set(id, toOwned(list))
        return assignment
      }
      for (const step of steps) {
        for (const id of step.leave) owned.delete(id)
        for (const id of step.join) if (!owned.has(id)) owned.set(id, [])
        if (owned.size === 0) continue
        const before = new Map([...owned].map(([id, list]) => [id, new Set(list.flatMap((e) => e.partitions.map((p) => `${e.topic}-${p}`)))]))
        rebalance()
        const second = rebalance()
        const members = [...owned.keys()].map((id) => member(id, topicsOf(id)))
        expectCompleteAndValid(members, partitionsPerTopic, second)
        // The follow-up is stable: another rebalance changes nothing.
        expect(rebalance()).toEqual(second)
        if (!differentSubscriptions) {
          const sizes = counts(second)
          expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1)
          // Minimal movement: a member keeps min(owned, its quota) of what it owned before.
          const total = partitionCount + Math.floor(partitionCount / 2)
          const minQuota = Math.floor(total / owned.size)
          for (const [id, had] of before) {
            if (!owned.has(id)) continue
            const kept = flat(second)[id]!.filter((key) => had.has(key)).length
            expect(kept).toBeGreaterThanOrEqual(Math.min(had.size, minQuota))
          }
        }
        expectNoImprovingChain(members, second)
      }
    })
})
