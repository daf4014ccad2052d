/**
 * The topics of one data directory: names, ids, partition counts and per-topic config
 * overrides, persisted in one metadata file and changed one operation at a time.
 *
 * Owns: `<data>/topics.json` and the lifecycle of partition *directories* (creation on topic
 * creation, renaming and removal on deletion). Does not own the partition logs inside them:
 * the engine opens those (LogManager) and is told through `TopicRegistryHooks` when a topic's
 * partitions must be released before their directories are renamed away.
 *
 * File layout of `topics.json` (text, version 1):
 *
 * | line | content                                                   |
 * |------|-----------------------------------------------------------|
 * | 1    | `sluice-topics 1 <crc32c of line 2's bytes, 8 hex digits>` |
 * | 2    | JSON `{ "topics": [{ name, topicId, partitionCount, internal, configs }] }` |
 *
 * `configs` holds only the overrides (Kafka names, string values), so a change of a default
 * reaches every topic that did not set it, as in Kafka. The file is replaced atomically
 * (temporary sibling, fdatasync, rename, fsync of the directory): after a crash it is either
 * the old or the new version, never a mix; a CRC mismatch is SLUICE_CORRUPT_SEGMENT.
 *
 * Crash safety of the multi-step operations (each step is durable before the next starts):
 * - create: (1) persist the topic, (2) mkdir its partition directories. A crash after (1)
 *   leaves a topic without directories; `open` creates them.
 * - delete: (1) persist the registry without the topic, (2) release the partitions (hook),
 *   (3) rename each `<topic>-<p>` to `<topic>-<p>.<unique>-delete` and fsync the data
 *   directory, (4) remove the renamed directories in the background. A crash after (1)
 *   leaves stray `<topic>-<p>` directories of a topic the registry no longer knows: `open`
 *   renames them to `-delete` as step (3) would have; a crash after (3) leaves `-delete`
 *   directories, which `open` removes. A topic of the same name can be created again as soon
 *   as `delete` returns, because the old directories no longer carry its name.
 * - create partitions: (1) persist the larger count, (2) mkdir the new directories.
 *
 * Concurrency: every mutation runs on one internal queue, so they apply in call order and the
 * metadata file is written by one operation at a time; reads (`list`, `describe`) see the
 * last completed mutation.
 */
import { randomUUID } from 'node:crypto'
import { channel } from 'node:diagnostics_channel'
import { SluiceError } from '../core/errors.js'
import { crc32c } from '../io/crc32c.js'
import { nodeFileSystem, writeFileAtomic, type FileSystem } from '../io/file-system.js'
import { DataLayout, parsePartitionDirectoryName, partitionDirectoryName } from './layout.js'
import { collidesWith, isInternalTopicName, validateTopicName } from './topic-name.js'
import {
  parseTopicConfig,
  resolveTopicConfig,
  topicConfigDefaults,
  topicConfigToEntries,
  type TopicConfig,
  type TopicConfigEntries,
  type TopicConfigOptions
} from './topic-config.js'

/** Name of the metadata file in the data directory. */
export const TOPICS_FILE = 'topics.json'
/** Suffix of a partition directory renamed for deletion (Kafka's `-delete`). */
export const DELETE_DIRECTORY_SUFFIX = '-delete'
const FORMAT_MAGIC = 'sluice-topics'
const FORMAT_VERSION = 1

/**
 * Partitions a topic may have. Each partition costs at least one directory and a lazily opened
 * log; the engine aims at 10,000 partitions in total, and a bound keeps a typo (or a hostile
 * CreateTopics) from asking for millions of directories.
 */
export const TOPIC_PARTITIONS_MAX = 100_000
/** Topics one registry holds; bounds the metadata file and every loop over it. */
export const TOPICS_MAX = 100_000

/** What `describe` returns: a snapshot, frozen. */
export interface TopicDescription {
  readonly name: string
  /** Kafka topic id (UUID), new for each creation of a name. */
  readonly topicId: string
  readonly partitionCount: number
  /** Internal topics (`__consumer_offsets`, ...) belong to the engine. */
  readonly internal: boolean
  /** The full resolved configuration. */
  readonly config: Readonly<TopicConfig>
  /** Only the configs set on this topic, Kafka-named (what DescribeConfigs marks non-default). */
  readonly overrides: Readonly<Record<string, string>>
}

/** Callbacks through which the registry tells the engine about changes to partitions. */
export interface TopicRegistryHooks {
  /**
   * Called during `delete` after the removal is durable and before the partition directories
   * are renamed: close every open log of the topic. A rejection is reported by `delete`; the
   * directories are then renamed at the next `open`.
   */
  releasePartitions?: (topic: string, partitionCount: number) => Promise<void>
  /** Called after a config change of a topic is durable. */
  configChanged?: (topic: string, config: Readonly<TopicConfig>) => void | Promise<void>
}

export interface TopicRegistryOptions {
  /** The data directory (created if missing). */
  dataDirectory: string
  /** The file layer; tests pass a faulty one. @defaultValue nodeFileSystem */
  fs?: FileSystem
  hooks?: TopicRegistryHooks
}

export interface CreateTopicOptions {
  /** Number of partitions, >= 1. @defaultValue 1 */
  partitions?: number
  /** Kafka-named string entries (as CreateTopics carries them) or typed camelCase options. */
  configs?: TopicConfigEntries
  config?: TopicConfigOptions
  /** Required for names starting with `__`, which the engine reserves for itself. */
  internal?: boolean
  /** Validate everything, store nothing (CreateTopics `validate_only`). */
  validateOnly?: boolean
}

export interface DeleteTopicOptions {
  /** Required to delete an internal topic. */
  internal?: boolean
}

export interface AlterTopicConfigOptions {
  /** Validate everything, store nothing. */
  validateOnly?: boolean
  /**
   * `incremental` (IncrementalAlterConfigs): the entries change only the keys they name, a
   * `null` value reverts a key to its default. `replace` (legacy AlterConfigs): the entries
   * become the whole set of overrides. @defaultValue 'incremental'
   */
  mode?: 'incremental' | 'replace'
}

/** One topic as the metadata file stores it. */
export interface StoredTopic {
  name: string
  topicId: string
  partitionCount: number
  internal: boolean
  configs: Record<string, string>
}

const collisionChannel = channel('sluice:topic:collision')

export class TopicRegistry {
  readonly #fs: FileSystem
  readonly #layout: DataLayout
  readonly #hooks: TopicRegistryHooks
  readonly #file: string
  #topics: Map<string, { stored: StoredTopic, description: TopicDescription }>
  #queue: Promise<unknown> = Promise.resolve()
  readonly #removals = new Set<Promise<void>>()
  #closing: Promise<void> | undefined

  private constructor (options: Required<TopicRegistryOptions>, topics: StoredTopic[]) {
    this.#fs = options.fs
    this.#layout = new DataLayout(options.dataDirectory)
    this.#hooks = options.hooks
    this.#file = `${options.dataDirectory}/${TOPICS_FILE}`
    this.#topics = new Map(topics.map((stored) => [stored.name, { stored, description: describeStored(stored) }]))
  }

  /**
   * Loads the registry of a data directory, finishes what a crash interrupted (missing
   * partition directories, stray directories of deleted topics) and starts removing
   * `-delete` directories in the background.
   */
  static async open (options: TopicRegistryOptions): Promise<TopicRegistry> {
    if (typeof options?.dataDirectory !== 'string' || options.dataDirectory.length === 0) {
      throw new SluiceError('SLUICE_INVALID_OPTION', 'dataDirectory must be a non-empty string')
    }
    const fs = options.fs ?? nodeFileSystem
    const dataDirectory = options.dataDirectory.replace(/\/+$/, '') || '/'
    await storage(`create data directory ${dataDirectory}`, async () => { await fs.mkdir(dataDirectory) })
    const file = `${dataDirectory}/${TOPICS_FILE}`
    const existing = await storage(`stat ${file}`, async () => await fs.stat(file))
    const topics = existing === undefined ? [] : decodeTopicsFile(await storage(`read ${file}`, async () => await fs.readFile(file)), file)
    const registry = new TopicRegistry({ dataDirectory, fs, hooks: options.hooks ?? {} }, topics)
    await registry.#reconcile(existing !== undefined)
    return registry
  }

  /** Names of all topics, sorted; internal topics only when asked. */
  list (options: { includeInternal?: boolean } = {}): string[] {
    this.#checkOpen()
    const names: string[] = []
    for (const [name, entry] of this.#topics) {
      if (entry.stored.internal && options.includeInternal !== true) continue
      names.push(name)
    }
    return names.sort()
  }

  /** True when the topic exists. */
  has (name: string): boolean {
    return this.#topics.has(name)
  }

  /** The topic's description; UNKNOWN_TOPIC_OR_PARTITION when it does not exist. */
  describe (name: string): TopicDescription {
    this.#checkOpen()
    const entry = this.#topics.get(name)
    if (entry === undefined) throw unknownTopic(name)
    return entry.description
  }

  /** The topic's description, or undefined. */
  find (name: string): TopicDescription | undefined {
    return this.#topics.get(name)?.description
  }

  /**
   * Creates a topic. Errors: INVALID_TOPIC_EXCEPTION (name, or a `__` name without
   * `internal`), INVALID_PARTITIONS, INVALID_CONFIG, TOPIC_ALREADY_EXISTS,
   * KAFKA_STORAGE_ERROR (the disk refused; nothing is half-created that `open` cannot finish).
   */
  async create (name: string, options: CreateTopicOptions = {}): Promise<TopicDescription> {
    return await this.#mutate(async () => {
      validateTopicName(name)
      if (isInternalTopicName(name) && options.internal !== true) {
        throw new SluiceError('INVALID_TOPIC_EXCEPTION', `Topic name ${name} is reserved: names starting with '__' are internal to the engine`)
      }
      const partitionCount = options.partitions ?? 1
      checkPartitionCount(partitionCount)
      const config = configOf(options)
      if (this.#topics.has(name)) throw new SluiceError('TOPIC_ALREADY_EXISTS', `Topic '${name}' already exists.`)
      if (this.#topics.size >= TOPICS_MAX) throw new SluiceError('POLICY_VIOLATION', `at most ${TOPICS_MAX} topics`)
      const collision = collidesWith(name, this.#topics.keys())
      if (collision !== undefined && collisionChannel.hasSubscribers) {
        collisionChannel.publish({ topic: name, collidesWith: collision, message: `Topic '${name}' collides with '${collision}' in metric names ('.' and '_')` })
      }
      const stored: StoredTopic = {
        name,
        topicId: randomUUID(),
        partitionCount,
        internal: options.internal === true,
        configs: topicConfigToEntries(config, { onlyOverrides: true })
      }
      const description = describeStored(stored)
      if (options.validateOnly === true) return description
      const next = new Map(this.#topics)
      next.set(name, { stored, description })
      await this.#persist(next)
      this.#topics = next
      await this.#createDirectories(name, 0, partitionCount)
      return description
    })
  }

  /**
   * Deletes a topic and, durably, its data: after this resolves the name can be created again
   * and no read of the old topic's partitions can succeed. Errors: UNKNOWN_TOPIC_OR_PARTITION,
   * INVALID_TOPIC_EXCEPTION (internal topic without `internal`), KAFKA_STORAGE_ERROR.
   */
  async delete (name: string, options: DeleteTopicOptions = {}): Promise<void> {
    await this.#mutate(async () => {
      const entry = this.#topics.get(name)
      if (entry === undefined) throw unknownTopic(name)
      if (entry.stored.internal && options.internal !== true) {
        throw new SluiceError('INVALID_TOPIC_EXCEPTION', `Topic ${name} is internal to the engine and cannot be deleted`)
      }
      const next = new Map(this.#topics)
      next.delete(name)
      await this.#persist(next)
      this.#topics = next
      if (this.#hooks.releasePartitions !== undefined) await this.#hooks.releasePartitions(name, entry.stored.partitionCount)
      const renamed: string[] = []
      for (let partition = 0; partition < entry.stored.partitionCount; partition++) {
        const target = await this.#renameForDeletion(partitionDirectoryName(name, partition))
        if (target !== undefined) renamed.push(target)
      }
      if (renamed.length > 0) await storage('sync data directory', async () => { await this.#fs.syncDirectory(this.#layout.directory) })
      this.#removeInBackground(renamed)
    })
  }

  /**
   * Grows a topic to `totalCount` partitions (CreatePartitions). Shrinking, or asking for the
   * current count, is INVALID_PARTITIONS, as in Kafka.
   */
  async createPartitions (name: string, totalCount: number, options: { validateOnly?: boolean } = {}): Promise<TopicDescription> {
    return await this.#mutate(async () => {
      const entry = this.#topics.get(name)
      if (entry === undefined) throw unknownTopic(name)
      checkPartitionCount(totalCount)
      const current = entry.stored.partitionCount
      if (totalCount < current) {
        throw new SluiceError('INVALID_PARTITIONS', `Topic currently has ${current} partitions, which is higher than the requested ${totalCount}.`)
      }
      if (totalCount === current) throw new SluiceError('INVALID_PARTITIONS', `Topic already has ${current} partitions.`)
      const stored: StoredTopic = { ...entry.stored, partitionCount: totalCount }
      const description = describeStored(stored)
      if (options.validateOnly === true) return description
      const next = new Map(this.#topics)
      next.set(name, { stored, description })
      await this.#persist(next)
      this.#topics = next
      await this.#createDirectories(name, current, totalCount)
      return description
    })
  }

  /**
   * Changes a topic's config overrides. Every entry is validated before anything is stored, so
   * a bad entry changes nothing. Errors: UNKNOWN_TOPIC_OR_PARTITION, INVALID_CONFIG.
   */
  async alterConfigs (name: string, entries: TopicConfigEntries, options: AlterTopicConfigOptions = {}): Promise<TopicDescription> {
    return await this.#mutate(async () => {
      const entry = this.#topics.get(name)
      if (entry === undefined) throw unknownTopic(name)
      const mode = options.mode ?? 'incremental'
      const base = mode === 'incremental' ? parseTopicConfig(entry.stored.configs) : topicConfigDefaults
      const config = parseTopicConfig(entries, base)
      const stored: StoredTopic = { ...entry.stored, configs: topicConfigToEntries(config, { onlyOverrides: true }) }
      const description = describeStored(stored)
      if (options.validateOnly === true) return description
      const next = new Map(this.#topics)
      next.set(name, { stored, description })
      await this.#persist(next)
      this.#topics = next
      await this.#hooks.configChanged?.(name, description.config)
      return description
    })
  }

  /** Waits for queued mutations and background removals; later calls reject SLUICE_CLOSED. */
  close (): Promise<void> {
    this.#closing ??= (async () => {
      await this.#queue.catch(() => {})
      // Bounded: the set only shrinks once closing has begun (no mutation can add to it).
      while (this.#removals.size > 0) await Promise.allSettled([...this.#removals])
    })()
    return this.#closing
  }

  async [Symbol.asyncDispose] (): Promise<void> { await this.close() }

  #checkOpen (): void {
    if (this.#closing !== undefined) throw new SluiceError('SLUICE_CLOSED', 'topic registry is closed')
  }

  async #mutate<T> (operation: () => Promise<T>): Promise<T> {
    this.#checkOpen()
    const run = this.#queue.then(operation, operation)
    this.#queue = run.catch(() => {})
    return await run
  }

  async #persist (topics: Map<string, { stored: StoredTopic }>): Promise<void> {
    const bytes = encodeTopicsFile([...topics.values()].map((entry) => entry.stored))
    await storage(`write ${this.#file}`, async () => { await writeFileAtomic(this.#fs, this.#file, bytes) })
  }

  async #createDirectories (name: string, from: number, to: number): Promise<void> {
    for (let partition = from; partition < to; partition++) {
      const directory = this.#layout.partition(name, partition).directory
      await storage(`create ${directory}`, async () => { await this.#fs.mkdir(directory) })
    }
    await storage('sync data directory', async () => { await this.#fs.syncDirectory(this.#layout.directory) })
  }

  /** Renames a partition directory out of the way; undefined when it does not exist. */
  async #renameForDeletion (directoryName: string): Promise<string | undefined> {
    const source = `${this.#layout.directory}/${directoryName}`
    const exists = await storage(`stat ${source}`, async () => await this.#fs.stat(source))
    if (exists === undefined) return undefined
    const target = `${source}.${randomUUID().replaceAll('-', '')}${DELETE_DIRECTORY_SUFFIX}`
    await storage(`rename ${source}`, async () => { await this.#fs.rename(source, target) })
    return target
  }

  #removeInBackground (directories: string[]): void {
    if (directories.length === 0) return
    const removal = (async () => {
      for (const directory of directories) {
        // A failure leaves a `-delete` directory that the next open removes; nothing to report.
        await this.#fs.removeDirectory(directory).catch(() => {})
      }
    })()
    this.#removals.add(removal)
    void removal.finally(() => this.#removals.delete(removal))
  }

  /** Finishes create/delete steps a crash interrupted. */
  async #reconcile (registryFileExisted: boolean): Promise<void> {
    const names = await storage('list data directory', async () => await this.#fs.readdir(this.#layout.directory))
    const leftovers: string[] = []
    let renamed = false
    for (const name of names) {
      if (name.endsWith(DELETE_DIRECTORY_SUFFIX)) {
        leftovers.push(`${this.#layout.directory}/${name}`)
        continue
      }
      // Stray directories only mean "deleted topic" when there is a registry to be stray from:
      // a data directory written without one (the log layer alone) keeps everything.
      if (!registryFileExisted) continue
      const parsed = parsePartitionDirectoryName(name)
      if (parsed === undefined) continue
      const entry = this.#topics.get(parsed.topic)
      if (entry !== undefined && parsed.partition < entry.stored.partitionCount) continue
      const stat = await storage(`stat ${name}`, async () => await this.#fs.stat(`${this.#layout.directory}/${name}`))
      if (stat === undefined) continue
      const target = await this.#renameForDeletion(name)
      if (target !== undefined) {
        leftovers.push(target)
        renamed = true
      }
    }
    if (renamed) await storage('sync data directory', async () => { await this.#fs.syncDirectory(this.#layout.directory) })
    for (const { stored } of this.#topics.values()) {
      const missing: number[] = []
      for (let partition = 0; partition < stored.partitionCount; partition++) {
        if (!names.includes(partitionDirectoryName(stored.name, partition))) missing.push(partition)
      }
      if (missing.length === 0) continue
      for (const partition of missing) {
        const directory = this.#layout.partition(stored.name, partition).directory
        await storage(`create ${directory}`, async () => { await this.#fs.mkdir(directory) })
      }
      await storage('sync data directory', async () => { await this.#fs.syncDirectory(this.#layout.directory) })
    }
    this.#removeInBackground(leftovers)
  }
}

function unknownTopic (name: string): SluiceError {
  return new SluiceError('UNKNOWN_TOPIC_OR_PARTITION', `This server does not host this topic-partition: ${String(name)}`)
}

function checkPartitionCount (count: unknown): asserts count is number {
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) {
    throw new SluiceError('INVALID_PARTITIONS', `Number of partitions must be larger than 0, got ${String(count)}`)
  }
  if (count > TOPIC_PARTITIONS_MAX) throw new SluiceError('INVALID_PARTITIONS', `Number of partitions ${count} exceeds the limit ${TOPIC_PARTITIONS_MAX}`)
}

function configOf (options: CreateTopicOptions): Readonly<TopicConfig> {
  const fromEntries = options.configs === undefined ? topicConfigDefaults : parseTopicConfig(options.configs)
  return options.config === undefined ? fromEntries : resolveTopicConfig(options.config, fromEntries)
}

function describeStored (stored: StoredTopic): TopicDescription {
  return Object.freeze({
    name: stored.name,
    topicId: stored.topicId,
    partitionCount: stored.partitionCount,
    internal: stored.internal,
    config: parseTopicConfig(stored.configs),
    overrides: Object.freeze({ ...stored.configs })
  })
}

async function storage<T> (what: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action()
  } catch (error) {
    if (error instanceof SluiceError) throw error
    throw new SluiceError('KAFKA_STORAGE_ERROR', `${what}: ${(error as Error).message}`, { cause: error })
  }
}

/** Encodes the metadata file: header line with CRC, then one JSON line. */
export function encodeTopicsFile (topics: readonly StoredTopic[]): Uint8Array {
  const sorted = [...topics].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  const body = Buffer.from(JSON.stringify({ topics: sorted }), 'utf8')
  const header = Buffer.from(`${FORMAT_MAGIC} ${FORMAT_VERSION} ${crc32c(body).toString(16).padStart(8, '0')}\n`, 'utf8')
  return Buffer.concat([header, body, Buffer.from('\n')])
}

/** Decodes and checks the metadata file; SLUICE_CORRUPT_SEGMENT for anything malformed. */
export function decodeTopicsFile (bytes: Uint8Array, file: string): StoredTopic[] {
  const corrupt = (why: string): SluiceError => new SluiceError('SLUICE_CORRUPT_SEGMENT', `topic metadata ${file} is corrupt: ${why}`, { file })
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const newline = text.indexOf(0x0a)
  if (newline < 0) throw corrupt('no header line')
  const [magic, version, crcHex] = text.subarray(0, newline).toString('utf8').split(' ')
  if (magic !== FORMAT_MAGIC) throw corrupt('bad magic')
  if (version !== String(FORMAT_VERSION)) throw corrupt(`unsupported version ${String(version)}`)
  let end = text.byteLength
  if (end > newline + 1 && text[end - 1] === 0x0a) end--
  const body = text.subarray(newline + 1, end)
  if (crcHex === undefined || !/^[0-9a-f]{8}$/.test(crcHex) || parseInt(crcHex, 16) !== crc32c(body)) throw corrupt('checksum mismatch')
  let parsed: unknown
  try {
    parsed = JSON.parse(body.toString('utf8'))
  } catch (error) {
    throw corrupt(`bad JSON (${(error as Error).message})`)
  }
  const topics = (parsed as { topics?: unknown }).topics
  if (!Array.isArray(topics) || topics.length > TOPICS_MAX) throw corrupt('no topic list')
  return topics.map((topic: unknown): StoredTopic => {
    const candidate = topic as Partial<StoredTopic>
    if (typeof candidate.name !== 'string' || typeof candidate.topicId !== 'string' ||
        typeof candidate.partitionCount !== 'number' || typeof candidate.internal !== 'boolean' ||
        typeof candidate.configs !== 'object' || candidate.configs === null) {
      throw corrupt('malformed topic entry')
    }
    try {
      validateTopicName(candidate.name)
      checkPartitionCount(candidate.partitionCount)
      parseTopicConfig(candidate.configs)
    } catch (error) {
      throw corrupt(`topic ${candidate.name}: ${(error as Error).message}`)
    }
    return { name: candidate.name, topicId: candidate.topicId, partitionCount: candidate.partitionCount, internal: candidate.internal, configs: { ...candidate.configs } }
  })
}
