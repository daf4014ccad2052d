/**
 * The generated API modules: the advertised versions are exactly the implemented ones, the
 * field lists are internally consistent, and the generator turns Kafka-style JSON (comments,
 * commonStructs, tagged fields, later-version fields) into the expected module.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { apiSchemas, ApiKey } from '../../src/kafka/apis/index.js'
import { requestHeaderSchema } from '../../src/kafka/apis/request-header.js'
import { responseHeaderSchema } from '../../src/kafka/apis/response-header.js'
import { supportedApiVersions, requestHeaderVersion, responseHeaderVersion, findApi } from '../../src/kafka/protocol/registry.js'
import { structCodec } from '../../src/kafka/schema/codec.js'
import { Reader } from '../../src/kafka/protocol/reader.js'
import { Writer } from '../../src/kafka/protocol/writer.js'
import { inRange, VERSION_MAX, type FieldSchema } from '../../src/kafka/schema/types.js'

/** The ranges the broker advertises (table 7.4 of the reference, "rec. advertise"). */
const EXPECTED: Array<[number, number]> = [
  [0, 9], [1, 12], [2, 7], [3, 12], [8, 8], [9, 8], [10, 4], [11, 6], [12, 4], [13, 4], [14, 4],
  [15, 5], [16, 5], [17, 1], [18, 3], [19, 7], [20, 6], [21, 2], [22, 4], [24, 3], [25, 3],
  [26, 3], [28, 3], [32, 4], [33, 2], [36, 2], [37, 3], [42, 2], [44, 1]
]

function walk (fields: readonly FieldSchema[], visit: (field: FieldSchema, siblings: readonly FieldSchema[]) => void): void {
  for (const field of fields) {
    visit(field, fields)
    if (field.fields !== undefined) walk(field.fields, visit)
  }
}

describe('implemented APIs', () => {
  test('supportedApiVersions lists exactly the implemented ranges, all from version 0', () => {
    expect(supportedApiVersions()).toEqual(EXPECTED.map(([apiKey, maxVersion]) => ({ apiKey, minVersion: 0, maxVersion })))
  })

  test('keys are unique and the lookup table agrees', () => {
    const keys = apiSchemas.map((api) => api.apiKey)
    expect(new Set(keys).size).toBe(keys.length)
    for (const api of apiSchemas) {
      expect(findApi(api.apiKey)).toBe(api)
      expect(ApiKey[api.name as keyof typeof ApiKey]).toBe(api.apiKey)
    }
    expect(findApi(23)).toBeUndefined()
    expect(findApi(-1)).toBeUndefined()
    expect(findApi(10_000)).toBeUndefined()
  })

  test('field lists are consistent: names unique, ranges sane, tags unique within flexible versions', () => {
    for (const api of apiSchemas) {
      for (const fields of [api.request, api.response]) {
        walk(fields, (field, siblings) => {
          const where = `${api.name}.${field.name}`
          expect(siblings.filter((sibling) => sibling.name === field.name), where).toHaveLength(1)
          expect(field.name, where).toMatch(/^[a-z][A-Za-z0-9]*$/)
          expect(field.versions[0], where).toBeLessThanOrEqual(field.versions[1])
          expect(field.versions[0], `${where} starts after the implemented range`).toBeLessThanOrEqual(api.validVersions[1])
          expect(field.versions[1] === VERSION_MAX || field.versions[1] <= api.validVersions[1] + 10, where).toBe(true)
          if (field.type === 'struct') expect(field.fields?.length, where).toBeGreaterThan(0)
          if (field.tag !== undefined) {
            expect(field.taggedVersions, where).toBeDefined()
            expect(api.flexibleVersions, where).not.toBeNull()
            expect(field.taggedVersions![0], where).toBeGreaterThanOrEqual(api.flexibleVersions![0])
            const sameTag = siblings.filter((sibling) => sibling.tag === field.tag)
            expect(sameTag, `${where}: tag ${field.tag} reused`).toHaveLength(1)
          }
        })
      }
    }
  })

  test('the headers: request v1/v2, response v0/v1, and ApiVersions responses always v0', () => {
    expect(requestHeaderSchema.fields.map((field) => field.name)).toEqual(['requestApiKey', 'requestApiVersion', 'correlationId', 'clientId'])
    expect(requestHeaderSchema.fields[3]!.flexibleVersions).toBeNull()
    expect(responseHeaderSchema.fields.map((field) => field.name)).toEqual(['correlationId'])
    for (const api of apiSchemas) {
      for (let version = 0; version <= api.validVersions[1]; version++) {
        const flexible = inRange(api.flexibleVersions, version)
        expect(requestHeaderVersion(api, version)).toBe(flexible ? 2 : 1)
        expect(responseHeaderVersion(api, version)).toBe(api.apiKey === ApiKey.ApiVersions ? 0 : flexible ? 1 : 0)
      }
    }
  })

  test('key fields of the reference layouts are where Kafka puts them', () => {
    const names = (fields: readonly FieldSchema[], version: number): string[] =>
      fields.filter((field) => inRange(field.versions, version) && !(field.tag !== undefined && inRange(field.taggedVersions, version))).map((field) => field.name)
    const produce = apiSchemas.find((api) => api.name === 'Produce')!
    expect(names(produce.request, 3)).toEqual(['transactionalId', 'acks', 'timeoutMs', 'topicData'])
    expect(names(produce.request, 2)).toEqual(['acks', 'timeoutMs', 'topicData'])
    const fetch = apiSchemas.find((api) => api.name === 'Fetch')!
    expect(names(fetch.request, 12)).toEqual(['replicaId', 'maxWaitMs', 'minBytes', 'maxBytes', 'isolationLevel', 'sessionId', 'sessionEpoch', 'topics', 'forgottenTopicsData', 'rackId'])
    const partition = fetch.response[3]!.fields![1]!.fields!
    expect(names(partition, 12)).toEqual(['partitionIndex', 'errorCode', 'highWatermark', 'lastStableOffset', 'logStartOffset', 'abortedTransactions', 'preferredReadReplica', 'records'])
    expect(partition.filter((field) => field.tag !== undefined).map((field) => [field.name, field.tag])).toEqual([['divergingEpoch', 0], ['currentLeader', 1], ['snapshotId', 2]])
    const offsetFetch = apiSchemas.find((api) => api.name === 'OffsetFetch')!
    expect(names(offsetFetch.request, 7)).toEqual(['groupId', 'topics', 'requireStable'])
    expect(names(offsetFetch.request, 8)).toEqual(['groups', 'requireStable'])
  })
})

describe('the generator', () => {
  test('turns Kafka message JSON into a module the codec can use', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'sluice-gen-'))
    try {
      writeFileSync(join(directory, 'WidgetRequest.json'), `// header comment
{
  "apiKey": 1000,
  "type": "request",
  "name": "WidgetRequest",
  // Version 2 is the first flexible version.
  "validVersions": "0-4",
  "flexibleVersions": "2+",
  "fields": [
    { "name": "Url", "type": "string", "versions": "0+", "about": "A URL like http://example.com // not a comment. Second sentence." },
    { "name": "Parts", "type": "[]WidgetPart", "versions": "1+", "nullableVersions": "1+", "about": "The parts." },
    { "name": "Hint", "type": "int64", "versions": "2+", "taggedVersions": "2+", "tag": 0, "default": "-1" },
    { "name": "Future", "type": "bool", "versions": "4+" }
  ],
  "commonStructs": [
    { "name": "WidgetPart", "versions": "0+", "fields": [
      { "name": "Index", "type": "int32", "versions": "0+" },
      { "name": "Labels", "type": "[]string", "versions": "0+" }
    ]}
  ]
}
`)
      writeFileSync(join(directory, 'WidgetResponse.json'), `{
  "apiKey": 1000, "type": "response", "name": "WidgetResponse", "validVersions": "0-4", "flexibleVersions": "2+",
  "fields": [ { "name": "ErrorCode", "type": "int16", "versions": "0+" } ]
}
`)
      execFileSync(process.execPath, ['scripts/gen-kafka-apis.mjs', directory, directory, '--only', 'Widget:3'])
      const text = readFileSync(join(directory, 'widget.ts'), 'utf8')
      expect(text).toContain('Widget (API key 1000): versions 0-3, flexible from version 2.')
      expect(text).toContain('/** A URL like http://example.com // not a comment. Versions 0+. */')
      expect(text).toContain('  parts: WidgetPart[] | null')
      expect(text).toContain("{ name: 'hint', type: 'int64', versions: [2, 32767], tag: 0, taggedVersions: [2, 32767], default: -1 }")
      expect(text).not.toContain('future')
      expect(() => execFileSync(process.execPath, ['scripts/gen-kafka-apis.mjs', directory, directory, '--only', 'Widget:5'], { stdio: 'pipe' })).toThrow()
      expect(() => execFileSync(process.execPath, ['scripts/gen-kafka-apis.mjs', directory, directory, '--only', 'Widget:3', '--check'], { stdio: 'pipe' })).not.toThrow()

      const module = await import(join(directory, 'widget.ts')) as { widgetApi: { request: FieldSchema[] } }
      const value = { url: 'u', parts: [{ index: 3, labels: ['a', 'b'] }], hint: 12 }
      const writer = new Writer()
      structCodec(module.widgetApi.request, 3, true).write(writer, value)
      const bytes = writer.toBuffer()
      expect(bytes).toEqual(Buffer.from('02' + '75' + '02' + '00000003' + '03' + '0261' + '0262' + '00' + '01' + '00' + '08' + '000000000000000c', 'hex'))
      expect(structCodec(module.widgetApi.request, 3, true).read(new Reader(bytes))).toEqual(value)
    } finally {
      rmSync(directory, { recursive: true, force: true })
    }
  })
})
