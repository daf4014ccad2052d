import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { nodeFileSystem, type FileSystem } from '../../src/io/file-system.js'
import { TOPICS_FILE, TopicRegistry } from '../../src/engine/topic-registry.js'

let directory: string
const opened: TopicRegistry[] = []

beforeEach(async () => { directory = await mkdtemp(join(tmpdir(), 'sluice-topics-')) })
afterEach(async () => {
  for (const registry of opened.splice(0)) await registry.close()
  await rm(directory, { recursive: true, force: true })
})

async function open (fs: FileSystem = nodeFileSystem, hooks = {}): Promise<TopicRegistry> {
  const registry = await TopicRegistry.open({ dataDirectory: directory, fs, hooks })
  opened.push(registry)
  return registry
}

async function rejection (promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise
  } catch (error) {
    return (error as { code?: string }).code
  }
  return undefined
}

/** The real file system with chosen operations made to fail, as a crash or a full disk would. */
function failing (failures: Partial<Record<keyof FileSystem, (path: string) => boolean>>): FileSystem {
  const fs = { ...nodeFileSystem } as Record<string, unknown>
  for (const [name, when] of Object.entries(failures)) {
    const original = (nodeFileSystem as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[name]!
    fs[name] = async (...args: unknown[]) => {
      if (when!(String(args[0]))) throw Object.assign(new Error(`injected EIO on ${name}`), { code: 'EIO' })
      return await original(...args)
    }
  }
  return fs as unknown as FileSystem
}

async function partitionDirectories (): Promise<string[]> {
  return (await readdir(directory)).filter((name) => /-\d+$/.test(name)).sort()
}

describe('topic registry', () => {
  test('create, list, describe and reopen', async () => {
    const registry = await open()
    const created = await registry.create('orders', { partitions: 3, configs: { 'retention.ms': '1000', 'cleanup.policy': 'compact' } })
    await registry.create('payments')
    await registry.create('__consumer_offsets', { partitions: 2, internal: true, configs: { 'cleanup.policy': 'compact' } })
    expect(registry.list()).toEqual(['orders', 'payments'])
    expect(registry.list({ includeInternal: true })).toEqual(['__consumer_offsets', 'orders', 'payments'])
    expect(created.partitionCount).toBe(3)
    expect(created.config.retentionMs).toBe(1000)
    expect(created.config.cleanupPolicy).toBe('compact')
    expect(created.overrides).toEqual({ 'retention.ms': '1000', 'cleanup.policy': 'compact' })
    expect(await partitionDirectories()).toEqual(['__consumer_offsets-0', '__consumer_offsets-1', 'orders-0', 'orders-1', 'orders-2', 'payments-0'])
    await registry.close()

    const again = await open()
    expect(again.list({ includeInternal: true })).toEqual(['__consumer_offsets', 'orders', 'payments'])
    expect(again.describe('orders')).toEqual(created)
    expect(again.describe('__consumer_offsets').internal).toBe(true)
  })

  test('typed errors for bad names, counts, configs and duplicates; nothing stored changes', async () => {
    const registry = await open()
    await registry.create('kept', { partitions: 2 })
    const before = await readFile(join(directory, TOPICS_FILE))
    expect(await rejection(registry.create('bad name'))).toBe('INVALID_TOPIC_EXCEPTION')
    expect(await rejection(registry.create('..'))).toBe('INVALID_TOPIC_EXCEPTION')
    expect(await rejection(registry.create('__internal'))).toBe('INVALID_TOPIC_EXCEPTION')
    expect(await rejection(registry.create('t', { partitions: 0 }))).toBe('INVALID_PARTITIONS')
    expect(await rejection(registry.create('t', { partitions: 1.5 }))).toBe('INVALID_PARTITIONS')
    expect(await rejection(registry.create('t', { partitions: 10_000_000 }))).toBe('INVALID_PARTITIONS')
    expect(await rejection(registry.create('t', { configs: { 'retention.ms': 'soon' } }))).toBe('INVALID_CONFIG')
    expect(await rejection(registry.create('t', { configs: { 'no.such.config': '1' } }))).toBe('INVALID_CONFIG')
    expect(await rejection(registry.create('kept'))).toBe('TOPIC_ALREADY_EXISTS')
    expect(await rejection(registry.delete('missing'))).toBe('UNKNOWN_TOPIC_OR_PARTITION')
    expect(await rejection(registry.alterConfigs('missing', {}))).toBe('UNKNOWN_TOPIC_OR_PARTITION')
    expect(await rejection(registry.alterConfigs('kept', { 'segment.bytes': '1' }))).toBe('INVALID_CONFIG')
    expect(() => registry.describe('missing')).toThrow(expect.objectContaining({ code: 'UNKNOWN_TOPIC_OR_PARTITION' }))
    expect(await readFile(join(directory, TOPICS_FILE))).toEqual(before)
    expect(registry.list()).toEqual(['kept'])
    expect(await partitionDirectories()).toEqual(['kept-0', 'kept-1'])
  })

  test('partitions grow, never shrink', async () => {
    const registry = await open()
    await registry.create('grow', { partitions: 2 })
    expect(await rejection(registry.createPartitions('grow', 1))).toBe('INVALID_PARTITIONS')
    expect(await rejection(registry.createPartitions('grow', 2))).toBe('INVALID_PARTITIONS')
    expect(await rejection(registry.createPartitions('missing', 4))).toBe('UNKNOWN_TOPIC_OR_PARTITION')
    const validated = await registry.createPartitions('grow', 9, { validateOnly: true })
    expect(validated.partitionCount).toBe(9)
    expect(registry.describe('grow').partitionCount).toBe(2)
    const grown = await registry.createPartitions('grow', 4)
    expect(grown.partitionCount).toBe(4)
    expect(grown.topicId).toBe(registry.describe('grow').topicId)
    expect(await partitionDirectories()).toEqual(['grow-0', 'grow-1', 'grow-2', 'grow-3'])
    await registry.close()
    expect((await open()).describe('grow').partitionCount).toBe(4)
  })

  test('validateOnly creates nothing', async () => {
    const registry = await open()
    const description = await registry.create('dry', { partitions: 2, validateOnly: true })
    expect(description.partitionCount).toBe(2)
    expect(registry.list()).toEqual([])
    expect(await partitionDirectories()).toEqual([])
  })

  test('alterConfigs: incremental, revert with null, replace', async () => {
    const changes: Array<[string, number]> = []
    const registry = await open(nodeFileSystem, { configChanged: (topic: string, config: { retentionMs: number }) => { changes.push([topic, config.retentionMs]) } })
    await registry.create('c', { configs: { 'retention.ms': '100', 'segment.bytes': '1024' } })
    let described = await registry.alterConfigs('c', { 'retention.ms': '200' })
    expect(described.overrides).toEqual({ 'retention.ms': '200', 'segment.bytes': '1024' })
    described = await registry.alterConfigs('c', { 'segment.bytes': null })
    expect(described.overrides).toEqual({ 'retention.ms': '200' })
    described = await registry.alterConfigs('c', { 'cleanup.policy': 'compact' }, { mode: 'replace' })
    expect(described.overrides).toEqual({ 'cleanup.policy': 'compact' })
    expect(described.config.retentionMs).toBe(604800000)
    expect(changes).toEqual([['c', 200], ['c', 200], ['c', 604800000]])
    await registry.close()
    expect((await open()).describe('c').overrides).toEqual({ 'cleanup.policy': 'compact' })
  })

  test('delete removes the data and the name can be reused at once', async () => {
    const released: string[] = []
    const registry = await open(nodeFileSystem, { releasePartitions: async (topic: string, count: number) => { released.push(`${topic}/${count}`) } })
    const first = await registry.create('gone', { partitions: 2 })
    await writeFile(join(directory, 'gone-0', '00000000000000000000.log'), 'old data')
    await registry.delete('gone')
    expect(released).toEqual(['gone/2'])
    expect(registry.list()).toEqual([])
    expect(await partitionDirectories()).toEqual([])
    const second = await registry.create('gone', { partitions: 1 })
    expect(second.topicId).not.toBe(first.topicId)
    expect(await readdir(join(directory, 'gone-0'))).toEqual([])
    await registry.close()
    expect((await readdir(directory)).filter((name) => name.endsWith('-delete'))).toEqual([])
  })

  test('internal topics need the internal flag to be deleted', async () => {
    const registry = await open()
    await registry.create('__state', { internal: true })
    expect(await rejection(registry.delete('__state'))).toBe('INVALID_TOPIC_EXCEPTION')
    await registry.delete('__state', { internal: true })
    expect(registry.list({ includeInternal: true })).toEqual([])
  })

  test('crash after the delete is persisted but before directories are renamed: open finishes it', async () => {
    const registry = await open(nodeFileSystem, { releasePartitions: async () => { throw new Error('crash') } })
    await registry.create('half', { partitions: 2 })
    await registry.create('other')
    await writeFile(join(directory, 'half-1', 'data'), 'x')
    await expect(registry.delete('half')).rejects.toThrow('crash')
    expect(await partitionDirectories()).toEqual(['half-0', 'half-1', 'other-0'])
    await registry.close()
    const reopened = await open()
    expect(reopened.list()).toEqual(['other'])
    await reopened.close()
    expect(await partitionDirectories()).toEqual(['other-0'])
    expect((await readdir(directory)).filter((name) => name.endsWith('-delete'))).toEqual([])
  })

  test('leftover -delete directories are removed at open; directories without a registry are kept', async () => {
    await mkdir(join(directory, 'x-0.0123abcd-delete'))
    await writeFile(join(directory, 'x-0.0123abcd-delete', '00000000000000000000.log'), 'x')
    await mkdir(join(directory, 'logonly-0'))
    const registry = await open()
    await registry.close()
    expect((await readdir(directory)).sort()).toEqual(['logonly-0'])
  })

  test('crash after create is persisted but before mkdir: open creates the directories', async () => {
    const registry = await open(failing({ mkdir: (path) => path.endsWith('-1') }))
    expect(await rejection(registry.create('part', { partitions: 2 }))).toBe('KAFKA_STORAGE_ERROR')
    await registry.close()
    const reopened = await open()
    expect(reopened.describe('part').partitionCount).toBe(2)
    expect(await partitionDirectories()).toEqual(['part-0', 'part-1'])
  })

  test('a failed metadata write is a storage error and changes nothing', async () => {
    let fail = false
    const registry = await open(failing({ rename: () => fail }))
    await registry.create('keep')
    fail = true
    expect(await rejection(registry.create('lost'))).toBe('KAFKA_STORAGE_ERROR')
    expect(await rejection(registry.alterConfigs('keep', { 'retention.ms': '1' }))).toBe('KAFKA_STORAGE_ERROR')
    expect(registry.list()).toEqual(['keep'])
    expect(registry.describe('keep').overrides).toEqual({})
    fail = false
    await registry.create('later')
    await registry.close()
    expect((await open()).list()).toEqual(['keep', 'later'])
  })

  test('concurrent creates of one name: exactly one wins', async () => {
    const registry = await open()
    const results = await Promise.allSettled([registry.create('race'), registry.create('race'), registry.create('race')])
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1)
    for (const result of results) {
      if (result.status === 'rejected') expect(result.reason.code).toBe('TOPIC_ALREADY_EXISTS')
    }
  })

  test('a corrupt metadata file is reported, not trusted', async () => {
    const registry = await open()
    await registry.create('t')
    await registry.close()
    const path = join(directory, TOPICS_FILE)
    const bytes = await readFile(path)
    bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 0x01
    await writeFile(path, bytes)
    expect(await rejection(TopicRegistry.open({ dataDirectory: directory }))).toBe('SLUICE_CORRUPT_SEGMENT')
    await writeFile(path, 'garbage')
    expect(await rejection(TopicRegistry.open({ dataDirectory: directory }))).toBe('SLUICE_CORRUPT_SEGMENT')
  })

  test('closed registry rejects with SLUICE_CLOSED; close is idempotent', async () => {
    const registry = await open()
    const first = registry.close()
    expect(registry.close()).toBe(first)
    await first
    expect(await rejection(registry.create('t'))).toBe('SLUICE_CLOSED')
  })
})
