import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { fc, test } from '@fast-check/vitest'
import {
  decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription,
  type ConsumerProtocolAssignment, type ConsumerProtocolSubscription
} from '../../src/engine/consumer-protocol.js'
import { isSluiceError } from '../../src/core/errors.js'

const require = createRequire(import.meta.url)
const { AssignerProtocol } = require('kafkajs') as {
  AssignerProtocol: {
    MemberMetadata: {
      encode (input: { version: number, topics: string[], userData?: Buffer }): Buffer
      decode (buffer: Buffer): { version: number, topics: string[], userData: Buffer }
    }
    MemberAssignment: {
      encode (input: { version: number, assignment: Record<string, number[]>, userData?: Buffer }): Buffer
      decode (buffer: Buffer): { version: number, assignment: Record<string, number[]>, userData: Buffer } | null
    }
  }
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')

const arbTopicPartitions = fc.array(fc.record({
  topic: fc.string({ minLength: 1, maxLength: 12 }),
  partitions: fc.array(fc.integer({ min: 0, max: 0x7fffffff }), { maxLength: 6 })
}), { maxLength: 5 })
const arbUserData = fc.option(fc.uint8Array({ maxLength: 32 }), { nil: null })

const arbSubscription: fc.Arbitrary<ConsumerProtocolSubscription> = fc.record({
  version: fc.integer({ min: 0, max: 3 }),
  topics: fc.array(fc.string({ maxLength: 16 }), { maxLength: 8 }),
  userData: arbUserData,
  ownedPartitions: arbTopicPartitions,
  generationId: fc.integer({ min: -1, max: 0x7fffffff }),
  rackId: fc.option(fc.string({ maxLength: 8 }), { nil: null })
})

const arbAssignment: fc.Arbitrary<ConsumerProtocolAssignment> = fc.record({
  version: fc.integer({ min: 0, max: 3 }),
  assignedPartitions: arbTopicPartitions,
  userData: arbUserData
})

/** What a version keeps of a subscription: later fields take Kafka's defaults. */
function truncatedTo (subscription: ConsumerProtocolSubscription): ConsumerProtocolSubscription {
  const { version } = subscription
  return {
    ...subscription,
    ownedPartitions: version >= 1 ? subscription.ownedPartitions : [],
    generationId: version >= 2 ? subscription.generationId : -1,
    rackId: version >= 3 ? subscription.rackId : null
  }
}

function expectInvalidRequest (action: () => unknown): void {
  try {
    action()
  } catch (error) {
    expect(isSluiceError(error, 'INVALID_REQUEST'), String(error)).toBe(true)
    return
  }
  throw new Error('expected INVALID_REQUEST')
}

describe('subscription', () => {
  it('encodes version 0 with Kafka\'s byte layout', () => {
    const bytes = encodeSubscription({ version: 0, topics: ['ab', 'c'], userData: null, ownedPartitions: [], generationId: -1, rackId: null })
    // version 0 | 2 topics | "ab" | "c" | user_data null
    expect(hex(bytes)).toBe('0000' + '00000002' + '00026162' + '000163' + 'ffffffff')
  })

  it('encodes version 3 with owned partitions, generation and rack', () => {
    const bytes = encodeSubscription({
      version: 3, topics: ['t'], userData: new Uint8Array([9]), ownedPartitions: [{ topic: 't', partitions: [1, 2] }], generationId: 7, rackId: 'r'
    })
    expect(hex(bytes)).toBe('0003' + '00000001' + '000174' + '0000000109' +
      '00000001' + '000174' + '00000002' + '00000001' + '00000002' + '00000007' + '000172')
  })

  test.prop([arbSubscription])('decode(encode(s)) keeps exactly the fields of its version', (subscription) => {
    expect(decodeSubscription(encodeSubscription(subscription))).toEqual(truncatedTo(subscription))
  })

  test.prop([fc.array(fc.string({ maxLength: 10 }), { maxLength: 6 }), fc.uint8Array({ maxLength: 16 })])('interoperates with kafkajs MemberMetadata', (topics, userData) => {
    const fromKafkajs = decodeSubscription(AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.from(userData) }))
    expect(fromKafkajs.topics).toEqual(topics)
    expect(fromKafkajs.userData).toEqual(userData)
    const ours = encodeSubscription({ version: 0, topics, userData, ownedPartitions: [], generationId: -1, rackId: null })
    const decoded = AssignerProtocol.MemberMetadata.decode(Buffer.from(ours))
    expect(decoded.topics).toEqual(topics)
    expect(new Uint8Array(decoded.userData)).toEqual(userData)
  })

  it('reads the known prefix of a newer version and ignores the rest', () => {
    const v3 = encodeSubscription({ version: 3, topics: ['t'], userData: null, ownedPartitions: [], generationId: 4, rackId: 'rack' })
    const v9 = new Uint8Array([...v3, 1, 2, 3, 4, 5])
    v9[1] = 9
    expect(decodeSubscription(v9)).toEqual({ version: 9, topics: ['t'], userData: null, ownedPartitions: [], generationId: 4, rackId: 'rack' })
  })

  it('refuses to write a version it does not know', () => {
    expectInvalidRequest(() => encodeSubscription({ version: 4, topics: [], userData: null, ownedPartitions: [], generationId: -1, rackId: null }))
  })

  test.prop([arbSubscription, fc.nat()])('every truncation of a valid encoding is INVALID_REQUEST', (subscription, cut) => {
    const bytes = encodeSubscription(subscription)
    expectInvalidRequest(() => decodeSubscription(bytes.subarray(0, cut % bytes.byteLength)))
  })

  it('rejects a negative version and absurd counts without allocating them', () => {
    expectInvalidRequest(() => decodeSubscription(new Uint8Array([0xff, 0xff, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff])))
    expectInvalidRequest(() => decodeSubscription(new Uint8Array([0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 1, 0x41])))
    expectInvalidRequest(() => decodeSubscription(new Uint8Array([0, 0, 0xff, 0xff, 0xff, 0xfe])))
    // Negative partition inside owned_partitions.
    expectInvalidRequest(() => decodeSubscription(new Uint8Array([0, 1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0, 1, 0x74, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff])))
  })

  test.prop([fc.uint8Array({ maxLength: 96 })])('garbage either decodes or raises INVALID_REQUEST, never anything else', (bytes) => {
    for (const decode of [decodeSubscription, decodeAssignment]) {
      try {
        decode(bytes)
      } catch (error) {
        expect(isSluiceError(error, 'INVALID_REQUEST'), String(error)).toBe(true)
      }
    }
  })
})

describe('assignment', () => {
  it('encodes Kafka\'s byte layout', () => {
    const bytes = encodeAssignment({ version: 0, assignedPartitions: [{ topic: 't', partitions: [0, 3] }], userData: null })
    expect(hex(bytes)).toBe('0000' + '00000001' + '000174' + '00000002' + '00000000' + '00000003' + 'ffffffff')
  })

  test.prop([arbAssignment])('decode(encode(a)) = a', (assignment) => {
    expect(decodeAssignment(encodeAssignment(assignment))).toEqual(assignment)
  })

  test.prop([fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.array(fc.nat(1000), { maxLength: 5 }), { maxKeys: 4 })])(
    'interoperates with kafkajs MemberAssignment', (assignment) => {
      const ours = decodeAssignment(AssignerProtocol.MemberAssignment.encode({ version: 1, assignment }))
      expect(ours.version).toBe(1)
      expect(Object.fromEntries(ours.assignedPartitions.map((e) => [e.topic, e.partitions]))).toEqual(assignment)
      const theirs = AssignerProtocol.MemberAssignment.decode(Buffer.from(encodeAssignment({
        version: 0, assignedPartitions: Object.entries(assignment).map(([topic, partitions]) => ({ topic, partitions })), userData: null
      })))
      expect(theirs?.assignment).toEqual(assignment)
    })

  it('reads zero bytes (a member the leader left out) as an empty assignment', () => {
    expect(decodeAssignment(new Uint8Array(0))).toEqual({ version: 0, assignedPartitions: [], userData: null })
  })

  it('rejects a partition that is not an INT32 >= 0 on encode', () => {
    expectInvalidRequest(() => encodeAssignment({ version: 0, assignedPartitions: [{ topic: 't', partitions: [-1] }], userData: null }))
  })
})
