import { describe, expect, it } from 'vitest'
import { fc, test } from '@fast-check/vitest'
import {
  decodeGroupMetadataValue, decodeOffsetCommitValue, decodeOffsetsRecordKey, encodeGroupMetadataKey,
  encodeGroupMetadataValue, encodeOffsetCommitKey, encodeOffsetCommitValue, javaStringHashCode, offsetsPartitionFor,
  type GroupMetadataValue, type OffsetCommitValue
} from '../../src/engine/offset-records.js'
import { MemoryOffsetStore } from '../../src/engine/offset-store.js'
import { isSluiceError } from '../../src/core/errors.js'

const fromHex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text.replace(/\s+/g, ''), 'hex'))
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')

describe('group -> __consumer_offsets partition', () => {
  it('uses Java String.hashCode (values checked against an independent computation)', () => {
    expect(javaStringHashCode('')).toBe(0)
    expect(javaStringHashCode('hello')).toBe(99162322)
    expect(javaStringHashCode('my-group')).toBe(-1906497762)
    expect(javaStringHashCode('Aa')).toBe(javaStringHashCode('BB'))
  })

  it('applies Kafka Utils.abs (Integer.MIN_VALUE -> 0) then % 50', () => {
    expect(javaStringHashCode('polygenelubricants')).toBe(-2147483648)
    expect(offsetsPartitionFor('polygenelubricants')).toBe(0)
    expect(offsetsPartitionFor('hello')).toBe(22)
    expect(offsetsPartitionFor('my-group')).toBe(12)
    expect(offsetsPartitionFor('console-consumer-1234')).toBe(9)
    expect(offsetsPartitionFor('my-group', 7)).toBe(1906497762 % 7)
  })

  test.prop([fc.string({ maxLength: 40 }), fc.integer({ min: 1, max: 200 })])('is always a valid partition', (groupId, count) => {
    const partition = offsetsPartitionFor(groupId, count)
    expect(Number.isInteger(partition) && partition >= 0 && partition < count).toBe(true)
  })
})

describe('keys', () => {
  it('encodes OffsetCommitKey v1 and GroupMetadataKey v2 byte for byte', () => {
    expect(hex(encodeOffsetCommitKey({ group: 'g', topic: 't', partition: 1 }))).toBe('0001' + '000167' + '000174' + '00000001')
    expect(hex(encodeGroupMetadataKey('g'))).toBe('0002' + '000167')
  })

  test.prop([fc.string({ maxLength: 30 }), fc.string({ maxLength: 30 }), fc.integer({ min: 0, max: 0x7fffffff })])('roundtrip', (group, topic, partition) => {
    expect(decodeOffsetsRecordKey(encodeOffsetCommitKey({ group, topic, partition }))).toEqual({ type: 'offset-commit', group, topic, partition })
    expect(decodeOffsetsRecordKey(encodeGroupMetadataKey(group))).toEqual({ type: 'group-metadata', group })
  })

  it('reads key version 0 and passes over record types of newer coordinators', () => {
    expect(decodeOffsetsRecordKey(fromHex('0000 000167 000174 00000002'))).toEqual({ type: 'offset-commit', group: 'g', topic: 't', partition: 2 })
    expect(decodeOffsetsRecordKey(fromHex('0003 000167'))).toEqual({ type: 'other', version: 3 })
  })
})

const arbOffsetValue: fc.Arbitrary<OffsetCommitValue> = fc.record({
  offset: fc.integer({ min: -1, max: Number.MAX_SAFE_INTEGER }),
  leaderEpoch: fc.integer({ min: -1, max: 0x7fffffff }),
  metadata: fc.string({ maxLength: 40 }),
  commitTimestamp: fc.integer({ min: 0, max: 2 ** 45 }),
  expireTimestamp: fc.constant(-1)
})

describe('OffsetCommitValue', () => {
  it('encodes version 3 byte for byte', () => {
    const bytes = encodeOffsetCommitValue({ offset: 42, leaderEpoch: 5, metadata: 'm', commitTimestamp: 1000, expireTimestamp: -1 })
    expect(hex(bytes)).toBe('0003' + '000000000000002a' + '00000005' + '00016d' + '00000000000003e8')
  })

  test.prop([arbOffsetValue])('roundtrip (version 3)', (value) => {
    expect(decodeOffsetCommitValue(encodeOffsetCommitValue(value))).toEqual(value)
  })

  it('keeps an expire timestamp by writing version 1', () => {
    const value = { offset: 1, leaderEpoch: -1, metadata: '', commitTimestamp: 10, expireTimestamp: 20 }
    const bytes = encodeOffsetCommitValue(value)
    expect(hex(bytes.subarray(0, 2))).toBe('0001')
    expect(decodeOffsetCommitValue(bytes)).toEqual(value)
  })

  it('reads versions 0, 2 and the flexible version 4', () => {
    const v0 = decodeOffsetCommitValue(fromHex('0000 0000000000000007 000161 0000000000000064'))
    expect(v0).toEqual({ offset: 7, leaderEpoch: -1, metadata: 'a', commitTimestamp: 100, expireTimestamp: -1 })
    const v2 = decodeOffsetCommitValue(fromHex('0002 0000000000000008 0000 0000000000000065'))
    expect(v2).toEqual({ offset: 8, leaderEpoch: -1, metadata: '', commitTimestamp: 101, expireTimestamp: -1 })
    // v4: compact string "ab" (length+1 = 3) and a tagged-field section holding one unknown tag.
    const v4 = decodeOffsetCommitValue(fromHex('0004 0000000000000009 00000003 036162 0000000000000066 01 05 02 ffff'))
    expect(v4).toEqual({ offset: 9, leaderEpoch: 3, metadata: 'ab', commitTimestamp: 102, expireTimestamp: -1 })
  })

  it('raises SLUICE_CORRUPT_SEGMENT for unknown versions and truncated bytes', () => {
    for (const bytes of ['0005 0000000000000001', '0003 00000000', 'ff', '']) {
      try {
        decodeOffsetCommitValue(fromHex(bytes))
        throw new Error(`decoded ${bytes}`)
      } catch (error) {
        expect(isSluiceError(error, 'SLUICE_CORRUPT_SEGMENT'), String(error)).toBe(true)
      }
    }
  })
})

const arbGroupValue: fc.Arbitrary<GroupMetadataValue> = fc.record({
  protocolType: fc.string({ maxLength: 10 }),
  generationId: fc.integer({ min: 0, max: 0x7fffffff }),
  protocol: fc.option(fc.string({ maxLength: 20 }), { nil: null }),
  leader: fc.option(fc.string({ maxLength: 20 }), { nil: null }),
  currentStateTimestamp: fc.integer({ min: -1, max: 2 ** 45 }),
  members: fc.array(fc.record({
    memberId: fc.string({ maxLength: 20 }),
    groupInstanceId: fc.option(fc.string({ maxLength: 10 }), { nil: null }),
    clientId: fc.string({ maxLength: 10 }),
    clientHost: fc.string({ maxLength: 10 }),
    rebalanceTimeoutMs: fc.integer({ min: 0, max: 0x7fffffff }),
    sessionTimeoutMs: fc.integer({ min: 0, max: 0x7fffffff }),
    subscription: fc.uint8Array({ maxLength: 20 }),
    assignment: fc.uint8Array({ maxLength: 20 })
  }), { maxLength: 4 })
})

describe('GroupMetadataValue', () => {
  test.prop([arbGroupValue])('roundtrip (version 3)', (value) => {
    expect(decodeGroupMetadataValue(encodeGroupMetadataValue(value))).toEqual(value)
  })

  it('reads version 0 (no rebalance timeout: it equals the session timeout, as Kafka loads it)', () => {
    const bytes = fromHex('0000 0008 636f6e73756d6572 00000003 0005 72616e6765 0002 6d31 00000001' +
      '0002 6d31 0001 63 0001 68 00002710 00000001 aa 00000000')
    expect(decodeGroupMetadataValue(bytes)).toEqual({
      protocolType: 'consumer',
      generationId: 3,
      protocol: 'range',
      leader: 'm1',
      currentStateTimestamp: -1,
      members: [{ memberId: 'm1', groupInstanceId: null, clientId: 'c', clientHost: 'h', rebalanceTimeoutMs: 10000, sessionTimeoutMs: 10000, subscription: new Uint8Array([0xaa]), assignment: new Uint8Array(0) }]
    })
  })

  it('reads the flexible version 4', () => {
    const bytes = fromHex('0004 09 636f6e73756d6572 00000003 00 00 0000000000000010 02' +
      '03 6d31 00 02 63 02 68 00007530 00002710 01 01 00 00')
    expect(decodeGroupMetadataValue(bytes)).toEqual({
      protocolType: 'consumer',
      generationId: 3,
      protocol: null,
      leader: null,
      currentStateTimestamp: 16,
      members: [{ memberId: 'm1', groupInstanceId: null, clientId: 'c', clientHost: 'h', rebalanceTimeoutMs: 30000, sessionTimeoutMs: 10000, subscription: new Uint8Array(0), assignment: new Uint8Array(0) }]
    })
  })

  test.prop([fc.uint8Array({ maxLength: 80 })])('garbage raises SLUICE_CORRUPT_SEGMENT or decodes, nothing else', (bytes) => {
    for (const decode of [decodeGroupMetadataValue, decodeOffsetCommitValue, decodeOffsetsRecordKey]) {
      try {
        decode(bytes)
      } catch (error) {
        expect(isSluiceError(error, 'SLUICE_CORRUPT_SEGMENT'), String(error)).toBe(true)
      }
    }
  })
})

describe('MemoryOffsetStore', () => {
  it('replays appends in order and compacts to the newest record per key past its bound', async () => {
    const store = new MemoryOffsetStore({ recordCountMax: 4 })
    const key = (n: number): Uint8Array => new Uint8Array([n])
    await store.append(3, [{ key: key(1), value: new Uint8Array([1]), timestamp: 1 }, { key: key(2), value: new Uint8Array([2]), timestamp: 1 }])
    await store.append(3, [{ key: key(1), value: new Uint8Array([3]), timestamp: 2 }, { key: key(2), value: null, timestamp: 2 }])
    expect(store.recordCount(3)).toBe(4)
    await store.append(3, [{ key: key(1), value: new Uint8Array([4]), timestamp: 3 }])
    expect(store.recordCount(3)).toBe(1)
    const replayed = []
    for await (const record of store.load()) replayed.push([...record.key, ...(record.value ?? [])])
    expect(replayed).toEqual([[1, 4]])
  })

  it('refuses an append that would exceed its bound even after compaction, leaving the partition as it was', async () => {
    const store = new MemoryOffsetStore({ recordCountMax: 2 })
    await store.append(0, [{ key: new Uint8Array([1]), value: new Uint8Array([1]), timestamp: 1 }])
    await expect(store.append(0, [1, 2, 3].map((n) => ({ key: new Uint8Array([n + 1]), value: new Uint8Array([n]), timestamp: 1 }))))
      .rejects.toMatchObject({ code: 'SLUICE_BUFFER_FULL' })
    expect(store.recordCount(0)).toBe(1)
  })
})
