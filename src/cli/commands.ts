/**
 * The `sluice` commands. Each declares its options (for parsing, `--help`, and the
 * flags > environment > config file > defaults precedence) and a `run` that uses only the
 * public API (src/index.ts), as an application would.
 *
 * Exit codes scripts can rely on: 0 success, 1 the operation failed (the error's Kafka code
 * name is printed), 2 usage error, 130 interrupted.
 */
import { createReadStream, statSync } from 'node:fs'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Sluice, SluiceError, startBroker } from '../index.js'
import type { FlushPolicy, Message, SluiceOptions } from '../index.js'
import type { OptionSpec, ParsedArgs } from './args.js'
import { usageError } from './args.js'
import { Progress } from './progress.js'

export interface CommandContext {
  args: ParsedArgs
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
  stdin: NodeJS.ReadableStream
  /** Resolves when the user interrupts (SIGINT / SIGTERM). */
  interrupted: Promise<void>
}

export interface Command {
  name: string
  summary: string
  usage: string
  options: OptionSpec[]
  run: (context: CommandContext) => Promise<number>
}

const dataOption: OptionSpec = { name: 'data', kind: 'string', description: 'data directory', env: 'SLUICE_DATA', defaultValue: './sluice-data', valueName: 'DIR' }
const flushOption: OptionSpec = { name: 'flush', kind: 'string', description: 'durability policy: always | interval | never', env: 'SLUICE_FLUSH', defaultValue: 'interval', valueName: 'POLICY' }
const configOption: OptionSpec = { name: 'config', kind: 'string', description: `JSON config file (default ./sluice.config.json when present)`, env: 'SLUICE_CONFIG', valueName: 'FILE' }
const helpOption: OptionSpec = { name: 'help', kind: 'boolean', description: 'show this help', short: 'h' }

function text (args: ParsedArgs, name: string): string | undefined {
  const value = args.values.get(name)
  return value === undefined ? undefined : String(value)
}

function number (args: ParsedArgs, name: string): number | undefined {
  const value = args.values.get(name)
  return value === undefined ? undefined : Number(value)
}

function flag (args: ParsedArgs, name: string): boolean {
  return args.values.get(name) === true
}

function sluiceOptions (args: ParsedArgs): SluiceOptions {
  const flush = text(args, 'flush') ?? 'interval'
  if (!['always', 'interval', 'never'].includes(flush)) throw usageError(`--flush must be always, interval or never, got ${flush}`)
  return { dataDir: text(args, 'data') ?? './sluice-data', flush: flush as FlushPolicy }
}

function write (stream: NodeJS.WritableStream, line: string): void {
  stream.write(line + '\n')
}

async function withSluice<T> (args: ParsedArgs, work: (sluice: Sluice) => Promise<T>, options: Partial<SluiceOptions> = {}): Promise<T> {
  const sluice = await Sluice.open({ ...sluiceOptions(args), ...options })
  try {
    return await work(sluice)
  } finally {
    await sluice.close()
  }
}

function parseConfigs (values: string[]): Record<string, string> {
  const configs: Record<string, string> = {}
  for (const entry of values) {
    const equals = entry.indexOf('=')
    if (equals <= 0) throw usageError(`--config-entry expects name=value, got "${entry}"`)
    configs[entry.slice(0, equals)] = entry.slice(equals + 1)
  }
  return configs
}


// ---- broker -----------------------------------------------------------------------------

const broker: Command = {
  name: 'broker',
  summary: 'serve the engine over the Kafka protocol (the main job)',
  usage: 'sluice broker [--data DIR] [--host H] [--port N] [--advertised-host H] [--flush POLICY]',
  options: [
    dataOption,
    { name: 'host', kind: 'string', description: 'address to listen on', env: 'SLUICE_HOST', defaultValue: '127.0.0.1' },
    { name: 'port', kind: 'number', description: 'port to listen on (0 picks a free one)', env: 'SLUICE_PORT', defaultValue: 9092 },
    { name: 'advertised-host', kind: 'string', description: 'host clients are told to connect to (Kafka advertised.listeners)', env: 'SLUICE_ADVERTISED_HOST' },
    { name: 'advertised-port', kind: 'number', description: 'port clients are told to connect to', env: 'SLUICE_ADVERTISED_PORT' },
    { name: 'partitions', kind: 'number', description: 'partitions of auto-created topics (Kafka num.partitions)', env: 'SLUICE_PARTITIONS', defaultValue: 1 },
    { name: 'auto-create-topics', kind: 'boolean', description: 'create topics on first use (Kafka auto.create.topics.enable)', env: 'SLUICE_AUTO_CREATE_TOPICS', defaultValue: true },
    flushOption,
    configOption,
    helpOption
  ],
  run: async ({ args, stdout, stderr, interrupted }) => {
    const port = number(args, 'port') ?? 9092
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw usageError(`--port must be 0..65535, got ${port}`)
    const partitions = number(args, 'partitions') ?? 1
    const sluice = await Sluice.open({ ...sluiceOptions(args), numPartitions: partitions, autoCreateTopics: args.values.get('auto-create-topics') !== false, groups: { groupInitialRebalanceDelayMs: 3000 } })
    let server
    try {
      const advertisedHost = text(args, 'advertised-host')
      const advertisedPort = number(args, 'advertised-port')
      server = await startBroker({
        engine: sluice.engine,
        host: text(args, 'host') ?? '127.0.0.1',
        port,
        ...(advertisedHost === undefined ? {} : { advertisedHost }),
        ...(advertisedPort === undefined ? {} : { advertisedPort })
      })
    } catch (error) {
      await sluice.close()
      throw error
    }
    write(stdout, `Sluice broker listening on ${server.host}:${server.port} (data ${text(args, 'data')}, flush ${text(args, 'flush')})`)
    write(stdout, `  kafkajs: new Kafka({ brokers: ['${server.host}:${server.port}'] })`)
    write(stdout, `  kcat:    kcat -b ${server.host}:${server.port} -L`)
    write(stdout, 'Press Ctrl-C to stop.')
    await interrupted
    write(stderr, 'stopping: finishing in-flight requests...')
    await server.close()
    await sluice.close()
    write(stderr, 'stopped cleanly')
    return 0
  }
}

// ---- topics -----------------------------------------------------------------------------

const topics: Command = {
  name: 'topics',
  summary: 'create, list, describe, alter and delete topics',
  usage: 'sluice topics create NAME [--partitions N] [--config-entry k=v ...] | list | describe NAME | alter NAME --config-entry k=v ... | delete NAME',
  options: [
    dataOption,
    { name: 'partitions', kind: 'number', description: 'partition count (create) or new total (alter)' },
    { name: 'config-entry', kind: 'string', description: 'a topic config, repeatable: retention.ms=60000', valueName: 'K=V', repeatable: true },
    { name: 'internal', kind: 'boolean', description: 'list internal topics too' },
    flushOption,
    configOption,
    helpOption
  ],
  run: async ({ args, stdout }) => {
    const [action, name] = args.positionals
    const entries = parseConfigs(args.lists.get('config-entry') ?? [])
    const needName = (): string => {
      if (name === undefined) throw usageError(`topics ${action ?? ''} needs a topic name`)
      return name
    }
    return await withSluice(args, async (sluice) => {
      const admin = sluice.admin()
      switch (action) {
        case 'create': {
          const topic = needName()
          await admin.createTopics({ topics: [{ topic, numPartitions: number(args, 'partitions') ?? 1, configEntries: entries }] })
          const description = admin.describeTopic(topic)
          write(stdout, `created topic ${topic} with ${description.partitionCount} partition(s)`)
          return 0
        }
        case 'list':
          for (const topic of admin.listTopics({ includeInternal: flag(args, 'internal') })) write(stdout, topic)
          return 0
        case 'describe': {
          const topic = needName()
          const description = admin.describeTopic(topic)
          write(stdout, `Topic: ${description.name}\tTopicId: ${description.topicId}\tPartitionCount: ${description.partitionCount}\tInternal: ${description.internal}`)
          const overrides = Object.entries(description.overrides).map(([key, value]) => `${key}=${value}`).join(',')
          write(stdout, `Configs: ${overrides === '' ? '(defaults)' : overrides}`)
          for (const { partition, low, high } of admin.fetchTopicOffsets(topic)) write(stdout, `\tPartition: ${partition}\tLogStartOffset: ${low}\tHighWatermark: ${high}`)
          return 0
        }
        case 'alter': {
          const topic = needName()
          const partitions = number(args, 'partitions')
          if (partitions === undefined && Object.keys(entries).length === 0) throw usageError('topics alter needs --partitions or --config-entry')
          if (partitions !== undefined) await admin.createPartitions({ topicPartitions: [{ topic, count: partitions }] })
          if (Object.keys(entries).length > 0) await admin.alterConfigs(topic, entries)
          write(stdout, `altered topic ${topic}`)
          return 0
        }
        case 'delete':
          await admin.deleteTopics({ topics: [needName()] })
          write(stdout, `deleted topic ${name!}`)
          return 0
        default:
          throw usageError(`unknown topics action ${action ?? '(none)'}; use create, list, describe, alter or delete`)
      }
    })
  }
}

// ---- produce ----------------------------------------------------------------------------

const produce: Command = {
  name: 'produce',
  summary: 'produce lines from stdin or a file, one record per line',
  usage: 'sluice produce TOPIC [--file F] [--key-separator SEP] [--partition N] [--acks 0|1|all]',
  options: [
    dataOption,
    { name: 'file', kind: 'string', description: 'read lines from this file instead of stdin', valueName: 'F' },
    { name: 'key-separator', kind: 'string', description: 'split each line into key and value at the first SEP', valueName: 'SEP' },
    { name: 'partition', kind: 'number', description: 'send every record to this partition' },
    { name: 'acks', kind: 'string', description: 'acknowledgement: 0, 1 or all', defaultValue: 'all' },
    { name: 'batch', kind: 'number', description: 'records per send call', defaultValue: 1000 },
    flushOption,
    configOption,
    helpOption
  ],
  run: async ({ args, stdout, stderr, stdin }) => {
    const [topic] = args.positionals
    if (topic === undefined) throw usageError('produce needs a topic')
    const acksText = text(args, 'acks') ?? 'all'
    if (!['0', '1', 'all', '-1'].includes(acksText)) throw usageError(`--acks must be 0, 1 or all, got ${acksText}`)
    const acks = acksText === 'all' || acksText === '-1' ? 'all' : (Number(acksText) as 0 | 1)
    const separator = text(args, 'key-separator')
    const partition = number(args, 'partition')
    const batchSize = Math.max(1, number(args, 'batch') ?? 1000)
    const file = text(args, 'file')
    const input = file === undefined ? stdin : createReadStream(file)
    const progress = file !== undefined ? new Progress(stderr, 'produce', statSync(file).size) : undefined
    return await withSluice(args, async (sluice) => {
      const producer = sluice.producer({ acks, lingerMs: 5 })
      let pending: Message[] = []
      let count = 0
      let bytes = 0
      const sends: Array<Promise<unknown>> = []
      const flushPending = (): void => {
        if (pending.length === 0) return
        sends.push(producer.send({ topic, messages: pending }))
        pending = []
        if (sends.length > 64) sends.splice(0, sends.length - 64)
      }
      for await (const line of createInterface({ input, crlfDelay: Infinity })) {
        bytes += Buffer.byteLength(line) + 1
        let message: Message
        if (separator !== undefined) {
          const at = line.indexOf(separator)
          message = at < 0 ? { key: null, value: line } : { key: line.slice(0, at), value: line.slice(at + separator.length) }
        } else {
          message = { value: line }
        }
        if (partition !== undefined) message.partition = partition
        pending.push(message)
        count++
        if (pending.length >= batchSize) {
          flushPending()
          await sends[sends.length - 1]
          progress?.update(bytes)
        }
      }
      flushPending()
      await Promise.all(sends)
      await producer.close()
      progress?.done(bytes)
      write(stdout, `produced ${count} record(s) to ${topic}`)
      return 0
    })
  }
}

// ---- consume ----------------------------------------------------------------------------

function formatMessage (format: string, fields: { topic: string, partition: number, offset: number, timestamp: number, key: Buffer | null, value: Buffer | null }): string {
  return format.replace(/%[tpoTkv%]|\\n|\\t/g, (token) => {
    switch (token) {
      case '%t': return fields.topic
      case '%p': return String(fields.partition)
      case '%o': return String(fields.offset)
      case '%T': return String(fields.timestamp)
      case '%k': return fields.key === null ? '' : fields.key.toString()
      case '%v': return fields.value === null ? '' : fields.value.toString()
      case '%%': return '%'
      case '\\n': return '\n'
      case '\\t': return '\t'
      default: return token
    }
  })
}

const consume: Command = {
  name: 'consume',
  summary: 'print records of a topic',
  usage: 'sluice consume TOPIC [--from-beginning | --offset N | --timestamp MS] [--group G] [--max-messages N] [--format FMT]',
  options: [
    dataOption,
    { name: 'from-beginning', kind: 'boolean', description: 'start at the oldest record (without a committed offset)' },
    { name: 'offset', kind: 'number', description: 'start every partition at this offset' },
    { name: 'timestamp', kind: 'number', description: 'start at the first record at or after this time (ms since epoch)' },
    { name: 'partition', kind: 'number', description: 'only this partition' },
    { name: 'group', kind: 'string', description: 'consume as a member of this group (commits offsets)' },
    { name: 'max-messages', kind: 'number', description: 'exit after this many records' },
    { name: 'exit', kind: 'boolean', description: 'exit once caught up (like kcat -e)' },
    { name: 'format', kind: 'string', description: 'output per record: %t topic %p partition %o offset %T timestamp %k key %v value', defaultValue: '%v' },
    flushOption,
    configOption,
    helpOption
  ],
  run: async ({ args, stdout, interrupted }) => {
    const [topic] = args.positionals
    if (topic === undefined) throw usageError('consume needs a topic')
    const format = text(args, 'format') ?? '%v'
    const maxMessages = number(args, 'max-messages')
    const groupId = text(args, 'group')
    const startOffset = number(args, 'offset')
    const startTimestamp = number(args, 'timestamp')
    const onlyPartition = number(args, 'partition')
    return await withSluice(args, async (sluice) => {
      const admin = sluice.admin()
      const description = admin.describeTopic(topic)
      const consumer = sluice.consumer({
        ...(groupId === undefined ? {} : { groupId }),
        autoOffsetReset: flag(args, 'from-beginning') || startOffset !== undefined || startTimestamp !== undefined ? 'earliest' : 'latest',
        maxWaitMs: 100
      })
      const partitions = onlyPartition === undefined ? Array.from({ length: description.partitionCount }, (_, index) => index) : [onlyPartition]
      if (groupId === undefined) {
        consumer.assign([{ topic, partitions }])
      } else {
        await consumer.subscribe({ topics: [topic], fromBeginning: flag(args, 'from-beginning') })
      }
      let count = 0
      let finish: () => void = () => {}
      const finished = new Promise<void>((resolve) => { finish = resolve })
      await consumer.run({
        handlerRetryBackoffMs: 10,
        eachMessage: async ({ topic: name, partition, message, pause }) => {
          if (maxMessages !== undefined && count >= maxMessages) {
            // Not printed, so not consumed: failing the handler keeps the position (and the commit) before it.
            pause()
            throw new SluiceError('SLUICE_ABORTED', 'max-messages reached')
          }
          stdout.write(formatMessage(format, { topic: name, partition, ...message }) + '\n')
          count++
          if (maxMessages !== undefined && count >= maxMessages) {
            consumer.pause([{ topic: name }])
            finish()
          }
        }
      })
      if (groupId === undefined) {
        for (const partition of partitions) {
          if (startOffset !== undefined) consumer.seek({ topic, partition, offset: startOffset })
          else if (startTimestamp !== undefined) await consumer.seekToTimestamp({ topic, partition, timestamp: startTimestamp })
        }
      }
      if (flag(args, 'exit')) {
        const ends = new Map(admin.fetchTopicOffsets(topic).map(({ partition, high }) => [partition, high]))
        const caughtUp = (): boolean => partitions.every((partition) => consumer.position(topic, partition) >= (ends.get(partition) ?? 0))
        const timer = setInterval(() => { if (caughtUp()) finish() }, 20)
        await Promise.race([finished, interrupted])
        clearInterval(timer)
      } else {
        await Promise.race([finished, interrupted])
      }
      await consumer.close()
      return 0
    })
  }
}

// ---- groups -----------------------------------------------------------------------------

const groups: Command = {
  name: 'groups',
  summary: 'list consumer groups, describe members, assignments and lag',
  usage: 'sluice groups list | describe GROUP',
  options: [dataOption, flushOption, configOption, helpOption],
  run: async ({ args, stdout }) => {
    const [action, groupId] = args.positionals
    return await withSluice(args, async (sluice) => {
      const admin = sluice.admin()
      if (action === 'list') {
        for (const group of admin.listGroups()) write(stdout, `${group.groupId}\t${group.groupState}\t${group.protocolType}`)
        return 0
      }
      if (action === 'describe') {
        if (groupId === undefined) throw usageError('groups describe needs a group id')
        const [group] = admin.describeGroups([groupId])
        write(stdout, `Group: ${groupId}\tState: ${group?.groupState ?? 'Dead'}\tProtocol: ${group?.protocolData ?? ''}`)
        for (const member of group?.members ?? []) {
          const assigned = member.assignment.map((entry) => `${entry.topic}:${entry.partitions.join(',')}`).join(' ')
          write(stdout, `  member ${member.memberId} (${member.clientId}) ${assigned}`)
        }
        write(stdout, 'TOPIC\tPARTITION\tCURRENT-OFFSET\tLOG-END-OFFSET\tLAG')
        const lag = admin.lag(groupId)
        for (const entry of lag.partitions) {
          write(stdout, `${entry.topic}\t${entry.partition}\t${entry.committedOffset < 0 ? '-' : entry.committedOffset}\t${entry.logEndOffset}\t${entry.lag ?? '-'}`)
        }
        write(stdout, `TOTAL LAG\t${lag.totalLag}`)
        return 0
      }
      throw usageError(`unknown groups action ${action ?? '(none)'}; use list or describe`)
    })
  }
}

// ---- bench ------------------------------------------------------------------------------

const bench: Command = {
  name: 'bench',
  summary: 'run the benchmark suite (from a source checkout)',
  usage: 'sluice bench [--quick] [--json] [--report FILE.html]',
  options: [
    { name: 'quick', kind: 'boolean', description: 'short run (under 3 minutes)' },
    { name: 'json', kind: 'boolean', description: 'print one JSON object as the last line' },
    { name: 'report', kind: 'string', description: 'write an HTML report', valueName: 'FILE' },
    helpOption
  ],
  run: async ({ args, interrupted }) => {
    const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
    const script = join(root, 'bench', 'macro', 'run.ts')
    if (!existsSync(script)) throw new SluiceError('SLUICE_INVALID_OPTION', 'the benchmark suite ships with the source repository: clone it and run `npm run bench`')
    const forwarded: string[] = []
    if (flag(args, 'quick')) forwarded.push('--quick')
    if (flag(args, 'json')) forwarded.push('--json')
    const report = text(args, 'report')
    if (report !== undefined) forwarded.push('--report', report)
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...forwarded], { cwd: root, stdio: 'inherit' })
    const code = await Promise.race([
      new Promise<number>((resolve) => { child.on('exit', (exitCode) => { resolve(exitCode ?? 1) }) }),
      interrupted.then(() => { child.kill('SIGINT'); return 130 })
    ])
    return code
  }
}

export const commands: readonly Command[] = [broker, topics, produce, consume, groups, bench]
