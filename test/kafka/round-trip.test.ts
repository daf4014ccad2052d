/**
 * decode(encode(x)) = x, and encode(decode(bytes)) = bytes, for every implemented API, every
 * version, request and response, with generated values (fast-check prints the seed on failure).
 */
import { describe, expect } from 'vitest'
import { test } from '@fast-check/vitest'
import fc from 'fast-check'
import { apiSchemas } from '../../src/kafka/apis/index.js'
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../../src/kafka/protocol/frame.js'
import { inRange } from '../../src/kafka/schema/types.js'
import { structArbitrary } from './support/arbitrary-message.js'

const RUNS = 12

for (const api of apiSchemas) {
  describe(`${api.name} (key ${api.apiKey})`, () => {
    for (let version = api.validVersions[0]; version <= api.validVersions[1]; version++) {
      const flexible = inRange(api.flexibleVersions, version)
      const clientId = fc.option(fc.string({ maxLength: 8 }), { nil: null })

      test.prop([structArbitrary(api.request, version, flexible), fc.integer({ min: -0x80000000, max: 0x7fffffff }), clientId], { numRuns: RUNS })(
        `request v${version} round trips`,
        (body, correlationId, client) => {
          const frame = Buffer.concat(encodeRequest(api, { apiVersion: version, correlationId, clientId: client, body }))
          expect(frame.readInt32BE(0)).toBe(frame.length - 4)
          const decoded = decodeRequest(frame.subarray(4))
          expect(decoded.apiKey).toBe(api.apiKey)
          expect(decoded.apiVersion).toBe(version)
          expect(decoded.correlationId).toBe(correlationId)
          expect(decoded.clientId).toBe(client)
          expect(decoded.body).toEqual(body)
          const again = Buffer.concat(encodeRequest(api, { apiVersion: version, correlationId, clientId: client, body: decoded.body }))
          expect(again.equals(frame)).toBe(true)
        }
      )

      test.prop([structArbitrary(api.response, version, flexible)], { numRuns: RUNS })(
        `response v${version} round trips`,
        (body) => {
          const frame = Buffer.concat(encodeResponse(api, { apiVersion: version, correlationId: 77, body }))
          expect(frame.readInt32BE(0)).toBe(frame.length - 4)
          const decoded = decodeResponse(api, version, frame.subarray(4))
          expect(decoded.correlationId).toBe(77)
          expect(decoded.body).toEqual(body)
          const again = Buffer.concat(encodeResponse(api, { apiVersion: version, correlationId: 77, body: decoded.body }))
          expect(again.equals(frame)).toBe(true)
        }
      )
    }
  })
}
