/**
 * Hostile input: random bytes, truncated frames, flipped bytes, absurd lengths. Decoding must
 * return a request or throw a SluiceError (INVALID_REQUEST or UNSUPPORTED_VERSION) — never a
 * RangeError, TypeError or assertion — and must not allocate for lengths the frame cannot hold.
 */
import { describe, expect } from 'vitest'
import { test } from '@fast-check/vitest'
import fc from 'fast-check'
import { test as plainTest } from 'vitest'
import { apiSchemas } from '../../src/kafka/apis/index.js'
import { decodeRequest, encodeRequest, KafkaRequestError, readFrameSize } from '../../src/kafka/protocol/frame.js'
import { inRange } from '../../src/kafka/schema/types.js'
import { isSluiceError } from '../../src/core/errors.js'
import { structArbitrary } from './support/arbitrary-message.js'

/** Decodes and reports 'ok' or the SluiceError code; rethrows anything else. */
function outcome (payload: Buffer): string {
  try {
    decodeRequest(payload)
    return 'ok'
  } catch (error) {
    if (isSluiceError(error)) return error.code
    throw error
  }
}

const validFrame = fc.constantFrom(...apiSchemas).chain((api) =>
  fc.integer({ min: api.validVersions[0], max: api.validVersions[1] }).chain((version) =>
    structArbitrary(api.request, version, inRange(api.flexibleVersions, version)).map((body) =>
      Buffer.concat(encodeRequest(api, { apiVersion: version, correlationId: 5, clientId: 'fuzz', body })).subarray(4))))

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('absurd' as const), at: fc.nat(), value: fc.constantFrom(0x7fffffff, 0x80000000, 0xffffffff, 0x7fff0000) }),
  fc.record({ kind: fc.constant('varint' as const), at: fc.nat() })
)

function mutate (payload: Buffer, change: { kind: string, at: number, value?: number }): Buffer {
  const copy = Buffer.from(payload)
  // Keep the first 8 header bytes in most cases so that mutations reach the body decoder.
  const bodyStart = Math.min(8, copy.length)
  const span = Math.max(1, copy.length - bodyStart)
  const at = bodyStart + (change.at % span)
  switch (change.kind) {
    case 'truncate':
      return copy.subarray(0, at)
    case 'flip':
      if (at < copy.length) copy[at] = change.value!
      return copy
    case 'absurd':
      if (at + 4 <= copy.length) copy.writeUInt32BE(change.value!, at)
      return copy
    default: {
      // An overlong unsigned varint where a compact length may sit.
      const varint = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f])
      return Buffer.concat([copy.subarray(0, at), varint, copy.subarray(at)])
    }
  }
}

describe('request decoding under hostile input', () => {
  test.prop([fc.uint8Array({ maxLength: 256 })], { numRuns: 2000 })('random bytes', (bytes) => {
    expect(['ok', 'INVALID_REQUEST', 'UNSUPPORTED_VERSION']).toContain(outcome(Buffer.from(bytes)))
  })

  test.prop([fc.constantFrom(...apiSchemas), fc.nat(), fc.uint8Array({ maxLength: 256 })], { numRuns: 2000 })(
    'random bodies behind a valid header',
    (api, versionSeed, bytes) => {
      const version = api.validVersions[0] + (versionSeed % (api.validVersions[1] - api.validVersions[0] + 1))
      const header = Buffer.alloc(10)
      header.writeInt16BE(api.apiKey, 0)
      header.writeInt16BE(version, 2)
      header.writeInt32BE(1, 4)
      header.writeInt16BE(-1, 8)
      expect(['ok', 'INVALID_REQUEST']).toContain(outcome(Buffer.concat([header, Buffer.from(bytes)])))
    }
  )

  test.prop([validFrame, fc.array(mutation, { minLength: 1, maxLength: 3 })], { numRuns: 3000 })(
    'mutated valid frames',
    (payload, changes) => {
      let mutated: Buffer = payload
      for (const change of changes) mutated = mutate(mutated, change)
      expect(['ok', 'INVALID_REQUEST', 'UNSUPPORTED_VERSION']).toContain(outcome(mutated))
    }
  )

  plainTest('every truncation of every valid frame is INVALID_REQUEST, with the correlation id when readable', () => {
    fc.assert(fc.property(validFrame, (payload) => {
      for (let length = 0; length < payload.length; length++) {
        try {
          decodeRequest(payload.subarray(0, length))
        } catch (error) {
          expect(error).toBeInstanceOf(KafkaRequestError)
          expect((error as KafkaRequestError).code).toBe('INVALID_REQUEST')
          expect((error as KafkaRequestError).correlationId).toBe(length >= 8 ? 5 : undefined)
          continue
        }
        // A prefix may only decode if the tail it lost was empty tagged/optional data: impossible
        // for these frames, since every body ends with at least one byte.
        expect.unreachable(`prefix of ${length}/${payload.length} bytes decoded`)
      }
    }), { numRuns: 150 })
  })

  plainTest('absurd array and byte lengths fail before allocation', () => {
    // CreateTopics v3 (non-flexible) whose topics array claims 2^31 - 1 elements.
    const nonFlexible = Buffer.concat([Buffer.from('00130003000000010000', 'hex'), Buffer.from('7fffffff', 'hex')])
    const before = process.memoryUsage()
    for (let index = 0; index < 10_000; index++) {
      expect(outcome(nonFlexible)).toBe('INVALID_REQUEST')
      // Compact array count of 2^32 - 2 elements in a flexible Metadata v12 request.
      expect(outcome(Buffer.concat([Buffer.from('0003000c00000001ffff00', 'hex'), Buffer.from('ffffffff0f', 'hex')]))).toBe('INVALID_REQUEST')
      // Produce v3 records claiming 2 GiB.
      expect(outcome(Buffer.concat([Buffer.from('0000000300000001ffff', 'hex'), Buffer.from('ffff0001000003e8000000010000000000000001000000007fffffff', 'hex')]))).toBe('INVALID_REQUEST')
    }
    const after = process.memoryUsage()
    expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(16 * 1024 * 1024)
  })

  plainTest('unknown API keys and versions are UNSUPPORTED_VERSION with the header fields', () => {
    let error: KafkaRequestError | undefined
    try { decodeRequest(Buffer.from('03e7000000000063ffff', 'hex')) } catch (caught) { error = caught as KafkaRequestError }
    expect(error?.code).toBe('UNSUPPORTED_VERSION')
    expect(error?.kafkaCode).toBe(35)
    expect(error?.apiKey).toBe(999)
    expect(error?.correlationId).toBe(99)
    error = undefined
    try { decodeRequest(Buffer.from('0012000400000063ffff00', 'hex')) } catch (caught) { error = caught as KafkaRequestError }
    expect(error?.code).toBe('UNSUPPORTED_VERSION')
    expect(error?.apiKey).toBe(18)
    expect(error?.apiVersion).toBe(4)
  })
})

describe('frame sizes', () => {
  plainTest('readFrameSize waits for 4 bytes and rejects negative sizes', () => {
    expect(readFrameSize(Buffer.from('000001', 'hex'))).toBe(-1)
    expect(readFrameSize(Buffer.from('ff0000000a', 'hex'), 1)).toBe(10)
    let error: unknown
    try { readFrameSize(Buffer.from('80000000', 'hex')) } catch (caught) { error = caught }
    expect(isSluiceError(error, 'INVALID_REQUEST')).toBe(true)
  })
})
