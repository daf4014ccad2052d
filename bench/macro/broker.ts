/**
 * Broker scenarios: real Kafka clients against the Kafka wire-protocol broker on loopback.
 *
 * Expectations (back of the envelope, 2 cores shared by client and broker): kafkajs encodes
 * about 1 us per 100-byte record in JavaScript and the broker appends each batch without
 * re-encoding, so kafkajs produce is client-bound near 300-500 k msgs/s with large sends;
 * kafkajs fetch decodes about 1-2 M records/s per core, and the broker ships stored bytes as
 * they are; kcat (librdkafka, C) batches 10 k records per request and should reach >= 1 M
 * msgs/s, bound by the broker's CRC check and append; end-to-end latency at a fixed rate is one
 * linger, one append and one woken long poll, well under a millisecond at the median.
 *
 * Measured (quick profile, 2 shared cores under a load average of 5-9 from other jobs, median
 * of three runs, so only indicative): kafkajs produce ~100-170 k msgs/s (client-bound: the
 * broker thread is mostly idle), kafkajs fetch ~510 k msgs/s (client-bound: kafkajs decode and
 * GC), kcat produce ~1.3-2.2 M msgs/s; end-to-end at 20 k msgs/s p50 ~0.2 ms through the broker
 * alone but p99 10-50 ms, the same with flush 'never', so the tail is the shared machine's
 * scheduling and write latency, not fsync.
 *
 * Each function opens its own engine and broker in `dataDir` and closes both; sizes are
 * parameters so the quick profile stays short. The kafkajs clients run on worker threads, so
 * client and broker each have a core as they would in separate processes.
 */
import { spawn } from 'node:child_process'
import { rm, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { connect, type Socket } from 'node:net'
import { Engine } from '../../src/engine/engine.js'
import type { FlushPolicy } from '../../src/engine/partition-log.js'
import { encodeRecordBatch, encodeRecordBatchColumns } from '../../src/io/record-batch-encoder.js'
import { batchesIn } from '../../src/io/record-batch-view.js'
import { fetchApi, produceApi } from '../../src/kafka/apis/index.js'
import { decodeResponse, encodeRequest } from '../../src/kafka/protocol/frame.js'
import { startBroker, type Broker } from '../../src/kafka/server.js'
import { LatencyRecorder, type LatencySummary } from './latency.js'
import type { Figures } from './figures.js'
import type { ResultRow, Scenario, ScenarioContext, ScenarioResult } from './scenario.js'

const VALUE_BYTES = 100
const TOPIC = 'bench'

export interface Rate {
  count: number
  seconds: number
  msgsPerSecond: number
  mbPerSecond: number
}

function rateOf (count: number, startedNs: bigint): Rate {
  const seconds = Number(process.hrtime.bigint() - startedNs) / 1e9
  return { count, seconds, msgsPerSecond: count / seconds, mbPerSecond: count * VALUE_BYTES / seconds / 1e6 }
}

async function withBroker<T> (dataDir: string, partitions: number, work: (broker: Broker, engine: Engine) => Promise<T>, flush: FlushPolicy = 'interval'): Promise<T> {
  const engine = await Engine.open({ dataDir, flush, groups: { groupInitialRebalanceDelayMs: 0 } })
  const broker = await startBroker({ engine, host: '127.0.0.1', port: 0 })
  try {
    await engine.createTopic(TOPIC, { partitions })
    return await work(broker, engine)
  } finally {
    await broker.close()
    await engine.close()
  }
}

/*
 * kafkajs leaves Nagle's algorithm on; small requests then wait for the previous segment's ACK.
 * The worker clients below pass a `socketFactory` that turns it off, as a latency-minded
 * application would.
 */

function totalHighWatermark (engine: Engine, partitions: number): number {
  let total = 0
  for (let partition = 0; partition < partitions; partition++) total += engine.partitionLog(TOPIC, partition).highWatermark
  return total
}

/**
 * The kafkajs producer loop, as source for a worker thread: the client gets its own core as it
 * would in its own process, and the broker keeps the main thread. CommonJS, because kafkajs is.
 */
const producerWorkerSource = `
const { parentPort, workerData } = require('node:worker_threads')
const { createRequire } = require('node:module')
const { connect } = require('node:net')
const { Kafka, logLevel, Partitioners } = createRequire(workerData.base)('kafkajs')
const socketFactory = ({ host, port, onConnect }) => { const s = connect({ host, port }, onConnect); s.setNoDelay(true); s.setKeepAlive(true, 60000); return s }
;(async () => {
  const { port, topic, count, partitions, sendSize, inFlight, valueBytes } = workerData
  const kafka = new Kafka({ clientId: 'bench', brokers: ['127.0.0.1:' + port], logLevel: logLevel.NOTHING, socketFactory })
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false })
  await producer.connect()
  const value = Buffer.alloc(valueBytes, 97)
  const messagesFor = Array.from({ length: partitions }, (_, partition) => Array.from({ length: sendSize }, () => ({ value, partition })))
  const sends = Math.ceil(count / sendSize)
  let next = 0
  const started = process.hrtime.bigint()
  const lane = async () => { while (next < sends) { const messages = messagesFor[next % partitions]; next++; await producer.send({ topic, acks: 1, messages }) } }
  await Promise.all(Array.from({ length: inFlight }, lane))
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  await producer.disconnect()
  parentPort.postMessage({ count: sends * sendSize, seconds })
})().catch((error) => { parentPort.postMessage({ error: String(error && error.stack || error) }) })
`

/**
 * kafkajs produce of `count` 100-byte records in sends of `sendSize` (one partition per send,
 * rotating), `inFlight` sends at a time, acks=1, the client on its own worker thread.
 */
export async function kafkajsProduce (options: { dataDir: string, count: number, partitions?: number, sendSize?: number, inFlight?: number }): Promise<Rate> {
  const { dataDir, count, partitions = 4, sendSize = 500, inFlight = 16 } = options
  return await withBroker(dataDir, partitions, async (broker, engine) => {
    const result = await runClientThread(producerWorkerSource, { port: broker.port, topic: TOPIC, count, partitions, sendSize, inFlight, valueBytes: VALUE_BYTES })
    if (totalHighWatermark(engine, partitions) !== result.count) throw new Error('broker produce bench: records missing')
    return { count: result.count, seconds: result.seconds, msgsPerSecond: result.count / result.seconds, mbPerSecond: result.count * VALUE_BYTES / result.seconds / 1e6 }
  })
}

/** The kafkajs consumer loop (eachBatch) for a worker thread; see `producerWorkerSource`. */
const consumerWorkerSource = `
const { parentPort, workerData } = require('node:worker_threads')
const { createRequire } = require('node:module')
const { connect } = require('node:net')
const { Kafka, logLevel } = createRequire(workerData.base)('kafkajs')
const socketFactory = ({ host, port, onConnect }) => { const s = connect({ host, port }, onConnect); s.setNoDelay(true); s.setKeepAlive(true, 60000); return s }
;(async () => {
  const { port, topic, total } = workerData
  const kafka = new Kafka({ clientId: 'bench', brokers: ['127.0.0.1:' + port], logLevel: logLevel.NOTHING, socketFactory })
  const consumer = kafka.consumer({ groupId: 'bench-fetch', maxBytesPerPartition: 8 * 1024 * 1024, maxBytes: 32 * 1024 * 1024, maxWaitTimeInMs: 100 })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  let received = 0
  let done
  const finished = new Promise((resolve) => { done = resolve })
  const started = process.hrtime.bigint()
  await consumer.run({ autoCommit: false, eachBatch: async ({ batch }) => { received += batch.messages.length; if (received >= total) done() } })
  await finished
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  await consumer.disconnect()
  parentPort.postMessage({ count: received, seconds })
})().catch((error) => { parentPort.postMessage({ error: String(error && error.stack || error) }) })
`

/** Runs a worker-thread client and returns what it posts. */
async function runClientThread (source: string, workerData: Record<string, unknown>): Promise<{ count: number, seconds: number }> {
  const worker = new Worker(source, { eval: true, workerData: { base: fileURLToPath(import.meta.url), ...workerData } })
  try {
    const result = await new Promise<{ count: number, seconds: number, error?: string }>((resolve, reject) => {
      worker.once('message', resolve)
      worker.once('error', reject)
    })
    if (result.error !== undefined) throw new Error(`kafkajs client thread failed: ${result.error}`)
    return result
  } finally {
    await worker.terminate()
  }
}

/**
 * kafkajs consumer (eachBatch, its own worker thread) reading `count` records written
 * beforehand by the engine in batches of 1000.
 */
export async function kafkajsFetch (options: { dataDir: string, count: number, partitions?: number }): Promise<Rate> {
  const { dataDir, count, partitions = 4 } = options
  return await withBroker(dataDir, partitions, async (broker, engine) => {
    const perBatch = 1000
    const values = Array.from({ length: perBatch }, () => Buffer.alloc(VALUE_BYTES, 98))
    const batch = encodeRecordBatchColumns({ keys: null, values })
    for (let written = 0, partition = 0; written < count; written += perBatch, partition = (partition + 1) % partitions) {
      await engine.append(TOPIC, partition, batch)
    }
    const total = totalHighWatermark(engine, partitions)
    const result = await runClientThread(consumerWorkerSource, { port: broker.port, topic: TOPIC, total })
    if (result.count !== total) throw new Error(`broker fetch bench: ${result.count} of ${total} records`)
    return { count: result.count, seconds: result.seconds, msgsPerSecond: result.count / result.seconds, mbPerSecond: result.count * VALUE_BYTES / result.seconds / 1e6 }
  })
}

/** kcat (librdkafka) producing `count` 100-byte lines from a file. Skipped when kcat is missing. */
export async function kcatProduce (options: { dataDir: string, count: number, partitions?: number, timeoutMs?: number }): Promise<Rate | undefined> {
  const { dataDir, count, partitions = 4, timeoutMs = 120_000 } = options
  const file = `${dataDir}-kcat-lines.txt`
  const line = 'c'.repeat(VALUE_BYTES) + '\n'
  await writeFile(file, line.repeat(count))
  try {
    return await kcatProduceFrom(file, { dataDir, count, partitions, timeoutMs })
  } finally {
    await rm(file, { force: true })
  }
}

async function kcatProduceFrom (file: string, options: { dataDir: string, count: number, partitions: number, timeoutMs: number }): Promise<Rate | undefined> {
  const { dataDir, count, partitions, timeoutMs } = options
  return await withBroker(dataDir, partitions, async (broker, engine) => {
    const started = process.hrtime.bigint()
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn('kcat', ['-P', '-b', `127.0.0.1:${broker.port}`, '-t', TOPIC, '-l', file,
        '-X', 'linger.ms=5', '-X', 'batch.num.messages=10000', '-X', 'batch.size=1000000', '-X', 'queue.buffering.max.messages=1000000', '-X', 'acks=1'], { stdio: 'ignore' })
      const timer = setTimeout(() => { if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL') }, timeoutMs)
      child.on('error', () => { clearTimeout(timer); resolve(null) })
      child.on('close', (exitCode) => { clearTimeout(timer); resolve(exitCode) })
    })
    if (code === null) return undefined
    const rate = rateOf(totalHighWatermark(engine, partitions), started)
    if (code !== 0 || rate.count !== count) throw new Error(`kcat produce bench: exit ${code}, ${rate.count} of ${count} records`)
    return rate
  })
}

/**
 * kafkajs end-to-end clients for worker threads: a consumer that records send-to-eachBatch
 * latency into its own histogram until told to stop, and a producer paced at a fixed rate.
 * process.hrtime is one monotonic clock for every thread of the process.
 */
const endToEndConsumerSource = `
const { parentPort, workerData } = require('node:worker_threads')
const { createRequire } = require('node:module')
const { connect } = require('node:net')
const { createHistogram } = require('node:perf_hooks')
const { Kafka, logLevel } = createRequire(workerData.base)('kafkajs')
const socketFactory = ({ host, port, onConnect }) => { const s = connect({ host, port }, onConnect); s.setNoDelay(true); s.setKeepAlive(true, 60000); return s }
;(async () => {
  const kafka = new Kafka({ clientId: 'bench', brokers: ['127.0.0.1:' + workerData.port], logLevel: logLevel.NOTHING, socketFactory })
  const consumer = kafka.consumer({ groupId: 'bench-e2e', maxWaitTimeInMs: 500, minBytes: 1 })
  const histogram = createHistogram()
  await consumer.connect()
  await consumer.subscribe({ topic: workerData.topic, fromBeginning: false })
  const joined = new Promise((resolve) => consumer.on(consumer.events.GROUP_JOIN, resolve))
  await consumer.run({ autoCommit: false, eachBatch: async ({ batch }) => {
    const now = process.hrtime.bigint()
    for (const message of batch.messages) { const ns = Number(now - message.value.readBigInt64BE(0)); histogram.record(ns >= 1 ? ns : 1) }
  } })
  await joined
  parentPort.postMessage({ ready: true })
  parentPort.once('message', async () => {
    await consumer.disconnect()
    const ms = (ns) => ns / 1e6
    parentPort.postMessage(histogram.count === 0 ? { count: 0 } : { count: histogram.count, p50Ms: ms(histogram.percentile(50)), p95Ms: ms(histogram.percentile(95)), p99Ms: ms(histogram.percentile(99)), p999Ms: ms(histogram.percentile(99.9)), maxMs: ms(histogram.max), meanMs: ms(histogram.mean) })
  })
})().catch((error) => { parentPort.postMessage({ error: String(error && error.stack || error) }) })
`

const endToEndProducerSource = `
const { parentPort, workerData } = require('node:worker_threads')
const { createRequire } = require('node:module')
const { connect } = require('node:net')
const { Kafka, logLevel, Partitioners } = createRequire(workerData.base)('kafkajs')
const socketFactory = ({ host, port, onConnect }) => { const s = connect({ host, port }, onConnect); s.setNoDelay(true); s.setKeepAlive(true, 60000); return s }
;(async () => {
  const { port, topic, rate, seconds, perSend, valueBytes } = workerData
  const kafka = new Kafka({ clientId: 'bench', brokers: ['127.0.0.1:' + port], logLevel: logLevel.NOTHING, socketFactory })
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false })
  await producer.connect()
  const intervalNs = BigInt(Math.round(perSend / rate * 1e9))
  const sends = Math.floor(rate * seconds / perSend)
  const pending = []
  let due = process.hrtime.bigint()
  for (let index = 0; index < sends; index++) {
    for (let left = due - process.hrtime.bigint(); left > 0n; left = due - process.hrtime.bigint()) {
      if (left > 1500000n) await new Promise((resolve) => setTimeout(resolve, 1))
      else await new Promise((resolve) => setImmediate(resolve))
    }
    const messages = []
    for (let m = 0; m < perSend; m++) { const value = Buffer.alloc(valueBytes); value.writeBigInt64BE(process.hrtime.bigint(), 0); messages.push({ value }) }
    pending.push(producer.send({ topic, acks: 1, messages }))
    due += intervalNs
  }
  await Promise.all(pending)
  await producer.disconnect()
  parentPort.postMessage({ count: sends * perSend })
})().catch((error) => { parentPort.postMessage({ error: String(error && error.stack || error) }) })
`

/**
 * End-to-end latency through the broker with kafkajs on both sides, each on its own worker
 * thread: `rate` records/s sent in sends of `perSend` for `seconds`; each record carries its
 * send time, the consumer records now - send time when its eachBatch runs.
 */
export async function kafkajsEndToEnd (options: { dataDir: string, rate: number, seconds: number, perSend?: number }): Promise<LatencySummary | undefined> {
  const { dataDir, rate, seconds, perSend = 20 } = options
  return await withBroker(dataDir, 1, async (broker) => {
    const base = fileURLToPath(import.meta.url)
    const consumer = new Worker(endToEndConsumerSource, { eval: true, workerData: { base, port: broker.port, topic: TOPIC } })
    try {
      const messages: Array<Record<string, unknown>> = []
      let wake: (() => void) | undefined
      consumer.on('message', (message: Record<string, unknown>) => { messages.push(message); wake?.() })
      const next = async (): Promise<Record<string, unknown>> => {
        // Bounded: the worker posts exactly two messages (ready, then the summary) or an error.
        while (messages.length === 0) await new Promise<void>((resolve) => { wake = resolve })
        const message = messages.shift()!
        if (typeof message.error === 'string') throw new Error(`kafkajs consumer thread failed: ${message.error}`)
        return message
      }
      await next()
      await runClientThread(endToEndProducerSource, { port: broker.port, topic: TOPIC, rate, seconds, perSend, valueBytes: VALUE_BYTES })
      await new Promise((resolve) => setTimeout(resolve, 500))
      consumer.postMessage('stop')
      const summary = await next()
      return summary.count === 0 ? undefined : summary as unknown as LatencySummary
    } finally {
      await consumer.terminate()
    }
  })
}

/** Reads size-prefixed frames from a socket and hands each payload to `onFrame`. */
function onFrames (socket: Socket, onFrame: (payload: Buffer) => void): void {
  let pending: Buffer = Buffer.alloc(0)
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
    // Bounded by the bytes received.
    while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
      const size = pending.readInt32BE(0)
      onFrame(pending.subarray(4, 4 + size))
      pending = pending.subarray(4 + size)
    }
  })
}

async function openSocket (port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port })
  socket.setNoDelay(true)
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  return socket
}

/**
 * End-to-end latency through the broker alone: a minimal client built on Sluice's own protocol
 * codecs produces `rate` records/s (requests of `perRequest` records, acks=1, Produce v9) on one
 * connection while another long-polls Fetch v12 (max_wait 500 ms, min_bytes 1); each record
 * carries its send time. No client library cost: this is what the broker adds.
 */
export async function protocolEndToEnd (options: { dataDir: string, rate: number, seconds: number, perRequest?: number, flush?: FlushPolicy }): Promise<LatencySummary | undefined> {
  const { dataDir, rate, seconds, perRequest = 20, flush = 'interval' } = options
  return await withBroker(dataDir, 1, async (broker) => {
    const recorder = new LatencyRecorder()
    const producer = await openSocket(broker.port)
    const consumer = await openSocket(broker.port)
    producer.on('data', () => {})
    let offset = 0
    let stopping = false
    let correlationId = 0
    const sendFetch = (): void => {
      const frame = encodeRequest(fetchApi, {
        apiVersion: 12, correlationId: correlationId++, clientId: 'bench',
        body: { replicaId: -1, maxWaitMs: 500, minBytes: 1, maxBytes: 1 << 20, topics: [{ topic: TOPIC, partitions: [{ partition: 0, fetchOffset: offset, partitionMaxBytes: 1 << 20 }] }] }
      })
      consumer.cork()
      for (const chunk of frame) consumer.write(chunk)
      consumer.uncork()
    }
    const drained = new Promise<void>((resolve) => {
      onFrames(consumer, (payload) => {
        const now = process.hrtime.bigint()
        const response = decodeResponse(fetchApi, 12, payload)
        const records = response.body.responses[0]?.partitions[0]?.records
        if (records !== null && records !== undefined) {
          for (const batch of batchesIn(records)) {
            for (const record of batch) recorder.recordNanoseconds(now - Buffer.from(record.value!.buffer, record.value!.byteOffset, record.value!.byteLength).readBigInt64BE(0))
            offset = batch.nextOffset
          }
        }
        if (stopping) resolve()
        else sendFetch()
      })
    })
    sendFetch()
    const intervalNs = BigInt(Math.round(perRequest / rate * 1e9))
    const requests = Math.floor(rate * seconds / perRequest)
    let due = process.hrtime.bigint()
    for (let index = 0; index < requests; index++) {
      // Bounded by `due`: sleep, then yield, until the request is due.
      for (let left = due - process.hrtime.bigint(); left > 0n; left = due - process.hrtime.bigint()) {
        if (left > 1_500_000n) await new Promise((resolve) => setTimeout(resolve, 1))
        else await new Promise((resolve) => setImmediate(resolve))
      }
      const records = Array.from({ length: perRequest }, () => {
        const value = Buffer.alloc(VALUE_BYTES)
        value.writeBigInt64BE(process.hrtime.bigint(), 0)
        return { value }
      })
      const frame = encodeRequest(produceApi, {
        apiVersion: 9, correlationId: index, clientId: 'bench',
        body: { transactionalId: null, acks: 1, timeoutMs: 5000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: encodeRecordBatch({ records }) }] }] }
      })
      producer.cork()
      for (const chunk of frame) producer.write(chunk)
      producer.uncork()
      due += intervalNs
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
    stopping = true
    await Promise.race([drained, new Promise((resolve) => setTimeout(resolve, 1000))])
    producer.destroy()
    consumer.destroy()
    return recorder.summary()
  }, flush)
}

function sizes (context: ScenarioContext): { produce: number, fetch: number, kcat: number, e2eSeconds: number } {
  return context.profile.quick
    ? { produce: 500_000, fetch: 1_000_000, kcat: 1_000_000, e2eSeconds: 3 }
    : { produce: 1_000_000, fetch: 5_000_000, kcat: 5_000_000, e2eSeconds: 10 }
}

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

async function runBrokerThroughput (context: ScenarioContext): Promise<ScenarioResult> {
  const size = sizes(context)
  const repetitions = context.profile.quick ? 1 : 3
  const produce: Rate[] = []
  const fetch: Rate[] = []
  for (let round = 0; round < repetitions; round++) {
    context.progress(`broker: kafkajs produce ${size.produce} records (${round + 1}/${repetitions})`)
    produce.push(await kafkajsProduce({ dataDir: await context.makeDataDirectory(), count: size.produce }))
    context.progress(`broker: kafkajs fetch ${size.fetch} records (${round + 1}/${repetitions})`)
    fetch.push(await kafkajsFetch({ dataDir: await context.makeDataDirectory(), count: size.fetch }))
  }
  const produceRate = median(produce.map((rate) => rate.msgsPerSecond))
  const fetchRate = median(fetch.map((rate) => rate.msgsPerSecond))
  const figures: Figures = {
    broker_produce_msgs_s: produceRate,
    broker_produce_mb_s: produceRate * VALUE_BYTES / 1e6,
    broker_fetch_msgs_s: fetchRate,
    broker_fetch_mb_s: fetchRate * VALUE_BYTES / 1e6
  }
  const rows: ResultRow[] = [
    { scenario: 'broker', label: 'kafkajs produce, 100 B, acks 1', kind: 'engine', recordBytes: VALUE_BYTES, msgsPerSecond: produceRate, mbPerSecond: figures.broker_produce_mb_s! },
    { scenario: 'broker', label: 'kafkajs fetch (eachBatch), 100 B', kind: 'engine', recordBytes: VALUE_BYTES, msgsPerSecond: fetchRate, mbPerSecond: figures.broker_fetch_mb_s! }
  ]
  context.progress(`broker: kcat produce ${size.kcat} records`)
  const kcat = await kcatProduce({ dataDir: await context.makeDataDirectory(), count: size.kcat })
  if (kcat !== undefined) {
    rows.push({ scenario: 'broker', label: 'kcat (librdkafka) produce, 100 B, acks 1', kind: 'engine', recordBytes: VALUE_BYTES, msgsPerSecond: kcat.msgsPerSecond, mbPerSecond: kcat.mbPerSecond, note: 'includes kcat start-up' })
  }
  context.progress('broker: protocol-level end-to-end latency at 20 k msgs/s')
  const brokerLatency = await protocolEndToEnd({ dataDir: await context.makeDataDirectory(), rate: 20_000, seconds: size.e2eSeconds })
  if (brokerLatency !== undefined) {
    rows.push({ scenario: 'broker', label: 'broker end-to-end at 20 k msgs/s (codec client)', kind: 'engine', recordBytes: VALUE_BYTES, latency: brokerLatency, latencyOf: 'produce to fetched' })
  }
  context.progress('broker: kafkajs end-to-end latency at 20 k msgs/s')
  const latency = await kafkajsEndToEnd({ dataDir: await context.makeDataDirectory(), rate: 20_000, seconds: size.e2eSeconds })
  if (latency !== undefined) {
    rows.push({ scenario: 'broker', label: 'kafkajs end-to-end at 20 k msgs/s', kind: 'engine', recordBytes: VALUE_BYTES, latency, latencyOf: 'send to eachBatch' })
  }
  return { figures, rows }
}

export const brokerScenarios: readonly Scenario[] = Object.freeze([
  { id: 'broker', title: 'Kafka broker on loopback (kafkajs, kcat)', keys: ['broker_produce_msgs_s', 'broker_produce_mb_s', 'broker_fetch_msgs_s', 'broker_fetch_mb_s'], run: runBrokerThroughput }
])
