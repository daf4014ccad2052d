/**
 * Embedded client API scenarios: the producer and consumer a user embeds, measured through
 * the public API (`Sluice.open`, `producer()`, `consumer()`), 100-byte values with 8-byte keys.
 *
 * Expectations (back of the envelope, 2 cores): the log appends ~1 GB/s of batches, so the
 * bulk producer (columns straight into batches) should reach 70% of the raw append rate;
 * per-message `send` pays a promise and a routing step per call (~0.5-1 us), so ~1 M msgs/s;
 * `eachBatch` decodes ~10 M records/s and hands them over in arrays, so >= 3 M msgs/s;
 * `eachMessage` adds an awaited call per record, ~1-2 M msgs/s. End-to-end latency at a fixed
 * rate is one event-loop turn for the batch to close, the append (a write syscall under
 * 'interval', plus an fdatasync under 'always'), and the wake-up of the waiting fetch.
 */
import { Sluice } from '../../src/client/sluice.js'
import type { Consumer } from '../../src/client/consumer.js'
import type { Figures } from './figures.js'
import { LatencyRecorder } from './latency.js'
import type { ResultRow, Scenario, ScenarioContext, ScenarioResult, ScenarioSkip } from './scenario.js'

/** The matrix scenarios add rows for the report, no checked figures: the quick (CI) profile skips them. */
const fullProfileOnly: ScenarioSkip = Object.freeze({ skipped: 'full profile only (rows for the report, no checked figures)' })

const VALUE_BYTES = 100
const KEY_BYTES = 8
const RECORD_BYTES = VALUE_BYTES + KEY_BYTES

function counts (context: ScenarioContext): { send: number, bulk: number, consume: number, e2eSeconds: number } {
  return context.profile.quick
    ? { send: 300_000, bulk: 2_000_000, consume: 2_000_000, e2eSeconds: 3 }
    : { send: 2_000_000, bulk: 10_000_000, consume: 10_000_000, e2eSeconds: 10 }
}

function makeRecords (count: number): { keys: Buffer[], values: Buffer[] } {
  // A pool of distinct payloads reused round-robin: building 10 M buffers would measure the allocator.
  const pool = 4096
  const keys: Buffer[] = []
  const values: Buffer[] = []
  for (let index = 0; index < pool; index++) {
    const key = Buffer.alloc(KEY_BYTES)
    key.writeUInt32BE(index, 4)
    keys.push(key)
    values.push(Buffer.alloc(VALUE_BYTES, 97 + (index % 26)))
  }
  return {
    keys: Array.from({ length: count }, (_, index) => keys[index % pool]!),
    values: Array.from({ length: count }, (_, index) => values[index % pool]!)
  }
}

async function withSluice<T> (context: ScenarioContext, options: Parameters<typeof Sluice.open>[0], work: (sluice: Sluice) => Promise<T>): Promise<T> {
  const sluice = await Sluice.open({ dataDir: await context.makeDataDirectory(), ...options })
  try {
    return await work(sluice)
  } finally {
    await sluice.close()
  }
}

function rate (count: number, startedNs: bigint): { msgs: number, mb: number } {
  const seconds = Number(process.hrtime.bigint() - startedNs) / 1e9
  return { msgs: count / seconds, mb: count * RECORD_BYTES / seconds / 1e6 }
}

async function runProducers (context: ScenarioContext): Promise<ScenarioResult> {
  const { send, bulk } = counts(context)
  const figures: Figures = {}
  const rows: ResultRow[] = []
  await withSluice(context, { flush: 'interval' }, async (sluice) => {
    await sluice.admin().createTopics({ topics: [{ topic: 'send', numPartitions: 1 }, { topic: 'bulk', numPartitions: 1 }] })
    const producer = sluice.producer({ acks: 1 })
    const records = makeRecords(Math.max(send, 1))
    const window = 20_000
    const sendRange = async (from: number, to: number): Promise<void> => {
      for (let start = from; start < to; start += window) {
        const calls: Array<Promise<unknown>> = []
        const end = Math.min(to, start + window)
        for (let index = start; index < end; index++) {
          calls.push(producer.send({ topic: 'send', messages: [{ key: records.keys[index]!, value: records.values[index]! }] }))
        }
        await Promise.all(calls)
      }
    }
    // Warm-ups (a tenth of each count, untimed) take JIT compilation out of the figures, as the
    // append scenario's best-of-repetitions does for the log figure these are compared with.
    context.progress(`producer: ${send} per-message sends after ${Math.ceil(send / 10)} untimed`)
    await sendRange(0, Math.ceil(send / 10))
    let started = process.hrtime.bigint()
    await sendRange(0, send)
    const perMessage = rate(send, started)
    figures.producer_send_msgs_s = perMessage.msgs
    figures.producer_send_mb_s = perMessage.mb
    rows.push({ scenario: 'producer', label: 'producer.send per message (acks 1)', kind: 'engine', recordBytes: RECORD_BYTES, msgsPerSecond: perMessage.msgs, mbPerSecond: perMessage.mb })

    const bulkRecords = makeRecords(bulk)
    const chunk = 100_000
    const sendBulkRange = async (from: number, to: number): Promise<void> => {
      const inFlight: Array<Promise<unknown>> = []
      for (let start = from; start < to; start += chunk) {
        const end = Math.min(to, start + chunk)
        inFlight.push(producer.sendBulk({ topic: 'bulk', partition: 0, keys: bulkRecords.keys.slice(start, end), values: bulkRecords.values.slice(start, end) }))
        if (inFlight.length >= 4) await inFlight.shift()
      }
      await Promise.all(inFlight)
    }
    context.progress(`producer: ${bulk} records through sendBulk after ${Math.ceil(bulk / 10)} untimed`)
    await sendBulkRange(0, Math.ceil(bulk / 10))
    started = process.hrtime.bigint()
    await sendBulkRange(0, bulk)
    const bulkRate = rate(bulk, started)
    figures.producer_bulk_msgs_s = bulkRate.msgs
    figures.producer_bulk_mb_s = bulkRate.mb
    rows.push({ scenario: 'producer', label: 'producer.sendBulk (acks 1)', kind: 'engine', recordBytes: RECORD_BYTES, msgsPerSecond: bulkRate.msgs, mbPerSecond: bulkRate.mb })
    await producer.close()
  })
  return { figures, rows }
}

async function consumeAll (sluice: Sluice, topic: string, count: number, mode: 'batch' | 'message'): Promise<{ msgs: number, mb: number }> {
  const consumer: Consumer = sluice.consumer({ autoOffsetReset: 'earliest', maxBytesPerPartition: 4 * 1024 * 1024 })
  consumer.assign([{ topic, partitions: [0] }])
  let received = 0
  let done: () => void = () => {}
  const finished = new Promise<void>((resolve) => { done = resolve })
  const started = process.hrtime.bigint()
  if (mode === 'batch') {
    await consumer.run({ eachBatch: async ({ batch }) => { received += batch.messages.length; if (received >= count) done() } })
  } else {
    await consumer.run({ eachMessage: async () => { received++; if (received >= count) done() } })
  }
  await finished
  const result = rate(received, started)
  await consumer.close()
  return result
}

async function runConsumers (context: ScenarioContext): Promise<ScenarioResult> {
  const { consume } = counts(context)
  const figures: Figures = {}
  const rows: ResultRow[] = []
  await withSluice(context, { flush: 'never' }, async (sluice) => {
    await sluice.admin().createTopics({ topics: [{ topic: 'read', numPartitions: 1 }] })
    const producer = sluice.producer({ acks: 1 })
    const records = makeRecords(Math.min(consume, 100_000))
    context.progress(`consumer: writing ${consume} records`)
    for (let written = 0; written < consume; written += records.values.length) {
      const take = Math.min(records.values.length, consume - written)
      await producer.sendBulk({ topic: 'read', partition: 0, keys: records.keys.slice(0, take), values: records.values.slice(0, take) })
    }
    context.progress('consumer: eachBatch from the beginning')
    const batch = await consumeAll(sluice, 'read', consume, 'batch')
    figures.consumer_batch_msgs_s = batch.msgs
    figures.consumer_batch_mb_s = batch.mb
    rows.push({ scenario: 'consumer', label: 'consumer eachBatch from offset 0', kind: 'engine', recordBytes: RECORD_BYTES, msgsPerSecond: batch.msgs, mbPerSecond: batch.mb })
    context.progress('consumer: eachMessage from the beginning')
    const message = await consumeAll(sluice, 'read', consume, 'message')
    figures.consumer_message_msgs_s = message.msgs
    figures.consumer_message_mb_s = message.mb
    rows.push({ scenario: 'consumer', label: 'consumer eachMessage from offset 0', kind: 'engine', recordBytes: RECORD_BYTES, msgsPerSecond: message.msgs, mbPerSecond: message.mb })
  })
  return { figures, rows }
}

/**
 * Sends at `ratePerSecond` for `seconds` (catching up on timer lateness so the average rate
 * holds) with the send time in each value, and records send-to-handler latency.
 */
async function endToEnd (context: ScenarioContext, flush: 'interval' | 'always', acks: 1 | 'all', ratePerSecond: number, seconds: number): Promise<LatencyRecorder> {
  return await withSluice(context, { flush }, async (sluice) => {
    await sluice.admin().createTopics({ topics: [{ topic: 'e2e', numPartitions: 1 }] })
    const producer = sluice.producer({ acks })
    const consumer = sluice.consumer({ autoOffsetReset: 'latest', maxWaitMs: 1000 })
    consumer.assign([{ topic: 'e2e', partitions: [0] }])
    const recorder = new LatencyRecorder()
    const total = Math.round(ratePerSecond * seconds)
    let received = 0
    let done: () => void = () => {}
    const finished = new Promise<void>((resolve) => { done = resolve })
    await consumer.run({
      eachMessage: async ({ message }) => {
        const sentNs = message.value!.readBigUInt64BE(0)
        recorder.recordNanoseconds(process.hrtime.bigint() - sentNs)
        if (++received >= total) done()
      }
    })
    // Let the consumer settle at the end of the empty log before the first send.
    while (consumer.position('e2e', 0) < 0) await new Promise((resolve) => setTimeout(resolve, 5))
    const key = Buffer.alloc(KEY_BYTES)
    let sent = 0
    const startedNs = process.hrtime.bigint()
    await new Promise<void>((resolve, reject) => {
      const tick = (): void => {
        const due = Math.min(total, Math.floor(Number(process.hrtime.bigint() - startedNs) / 1e9 * ratePerSecond) + 1)
        while (sent < due) {
          const value = Buffer.alloc(VALUE_BYTES)
          value.writeBigUInt64BE(process.hrtime.bigint(), 0)
          producer.send({ topic: 'e2e', messages: [{ key, value }] }).catch(reject)
          sent++
        }
        if (sent >= total) resolve()
        else setTimeout(tick, 1)
      }
      tick()
    })
    const timeout = setTimeout(done, 30_000)
    await finished
    clearTimeout(timeout)
    await consumer.close()
    await producer.close()
    return recorder
  })
}

async function runEndToEnd (context: ScenarioContext): Promise<ScenarioResult> {
  const { e2eSeconds } = counts(context)
  const figures: Figures = {}
  const rows: ResultRow[] = []
  context.progress('end-to-end: acks 1, 50k msgs/s')
  const interval = (await endToEnd(context, 'interval', 1, 50_000, e2eSeconds)).summary()
  if (interval !== undefined) {
    figures.e2e_p50_ms = interval.p50Ms
    figures.e2e_p99_ms = interval.p99Ms
    rows.push({ scenario: 'e2e', label: "send to handler, acks 1, flush 'interval', 50k msgs/s", kind: 'engine', recordBytes: RECORD_BYTES, msgsPerSecond: 50_000, latency: interval, latencyOf: 'send to handler' })
  }
  context.progress("end-to-end: acks 'all', flush 'always', 50k msgs/s")
  const always = (await endToEnd(context, 'always', 'all', 50_000, e2eSeconds)).summary()
  if (always !== undefined) {
    figures.e2e_all_p99_ms = always.p99Ms
    rows.push({ scenario: 'e2e', label: "send to handler, acks 'all', flush 'always', 50k msgs/s", kind: 'engine', recordBytes: RECORD_BYTES, msgsPerSecond: 50_000, latency: always, latencyOf: 'send to handler' })
  }
  return { figures, rows }
}

/**
 * The three ordering trade-offs through the public producer (acks 1, flush 'interval'): one
 * partition (global order), 30 partitions by key (per-key order), 100 partitions without keys
 * (no order, sticky batches). Expectation: about the same records/s for all three, since each
 * batch still goes to one partition; keyed routing adds a murmur2 per record (~10 ns).
 */
async function runOrdering (context: ScenarioContext): Promise<ScenarioResult | ScenarioSkip> {
  if (context.profile.quick) return fullProfileOnly
  const count = 2_000_000
  const rows: ResultRow[] = []
  const cases = [
    { label: '1 partition (global order)', partitions: 1, keyed: false },
    { label: '30 partitions by key (per-key order)', partitions: 30, keyed: true },
    { label: '100 partitions without keys (no order)', partitions: 100, keyed: false }
  ]
  const records = makeRecords(count)
  for (const { label, partitions, keyed } of cases) {
    context.progress(`ordering: ${label}`)
    const result = await withSluice(context, { flush: 'interval' }, async (sluice) => {
      await sluice.admin().createTopics({ topics: [{ topic: 'ordered', numPartitions: partitions }] })
      const producer = sluice.producer({ acks: 1 })
      const chunk = 50_000
      const started = process.hrtime.bigint()
      for (let start = 0; start < count; start += chunk) {
        const end = Math.min(count, start + chunk)
        await producer.sendBulk({ topic: 'ordered', keys: keyed ? records.keys.slice(start, end) : null, values: records.values.slice(start, end) })
      }
      return rate(count, started)
    })
    rows.push({ scenario: 'ordering', label: `producer.sendBulk, ${label}`, kind: 'engine', recordBytes: RECORD_BYTES, msgsPerSecond: result.msgs, mbPerSecond: result.mb })
  }
  return { figures: {}, rows }
}

/**
 * acks 0 / 1 / 'all' under flush 'never' / 'interval' / 'always', per-message `send` of
 * 100-byte values with up to 5,000 sends outstanding. Expectation: under 'never' and
 * 'interval' the three acks cost about the same (an append resolves at the OS write); under
 * 'always' acks 1 and 'all' wait for the group fdatasync while acks 0 does not.
 */
async function runAcksFlush (context: ScenarioContext): Promise<ScenarioResult | ScenarioSkip> {
  if (context.profile.quick) return fullProfileOnly
  const count = 300_000
  const rows: ResultRow[] = []
  const records = makeRecords(Math.min(count, 100_000))
  for (const flush of ['never', 'interval', 'always'] as const) {
    for (const acks of [0, 1, 'all'] as const) {
      context.progress(`acks ${String(acks)}, flush '${flush}'`)
      const recorder = new LatencyRecorder()
      const result = await withSluice(context, { flush }, async (sluice) => {
        await sluice.admin().createTopics({ topics: [{ topic: 'acks', numPartitions: 1 }] })
        const producer = sluice.producer({ acks })
        const window = 5_000
        const started = process.hrtime.bigint()
        for (let start = 0; start < count; start += window) {
          const end = Math.min(count, start + window)
          const calls: Array<Promise<unknown>> = []
          for (let index = start; index < end; index++) {
            const sent = process.hrtime.bigint()
            const at = index % records.values.length
            calls.push(producer.send({ topic: 'acks', messages: [{ key: records.keys[at]!, value: records.values[at]! }] })
              .then(() => { recorder.recordNanoseconds(process.hrtime.bigint() - sent) }))
          }
          await Promise.all(calls)
        }
        await producer.flush()
        return rate(count, started)
      })
      const latency = recorder.summary()
      rows.push({
        scenario: 'acks-flush',
        label: `send, acks ${String(acks)}, flush '${flush}', 5,000 outstanding`,
        kind: 'engine',
        recordBytes: RECORD_BYTES,
        msgsPerSecond: result.msgs,
        mbPerSecond: result.mb,
        ...(latency === undefined ? {} : { latency, latencyOf: 'send to acknowledgement' })
      })
    }
  }
  return { figures: {}, rows }
}

/** Tail-following send-to-handler latency at several fixed rates (acks 1, flush 'interval'). */
async function runLatencyByRate (context: ScenarioContext): Promise<ScenarioResult | ScenarioSkip> {
  if (context.profile.quick) return fullProfileOnly
  const seconds = 5
  const rows: ResultRow[] = []
  for (const perSecond of [1_000, 10_000, 100_000]) {
    context.progress(`end-to-end at ${perSecond} msgs/s`)
    const latency = (await endToEnd(context, 'interval', 1, perSecond, seconds)).summary()
    if (latency !== undefined) {
      rows.push({ scenario: 'e2e-rates', label: `send to handler, acks 1, ${perSecond} msgs/s`, kind: 'engine', recordBytes: RECORD_BYTES, msgsPerSecond: perSecond, latency, latencyOf: 'send to handler' })
    }
  }
  return { figures: {}, rows }
}

export const clientScenarios: readonly Scenario[] = Object.freeze([
  { id: 'producer', title: 'Embedded producer (public API)', keys: ['producer_send_msgs_s', 'producer_send_mb_s', 'producer_bulk_msgs_s', 'producer_bulk_mb_s'], run: runProducers },
  { id: 'consumer', title: 'Embedded consumer (public API)', keys: ['consumer_batch_msgs_s', 'consumer_batch_mb_s', 'consumer_message_msgs_s', 'consumer_message_mb_s'], run: runConsumers },
  { id: 'e2e', title: 'End-to-end latency at a fixed rate', keys: ['e2e_p50_ms', 'e2e_p99_ms', 'e2e_all_p99_ms'], run: runEndToEnd },
  { id: 'ordering', title: 'Ordering trade-offs: 1 partition, 30 keyed, 100 unkeyed', keys: [], run: runOrdering },
  { id: 'acks-flush', title: 'acks 0 / 1 / all under flush never / interval / always', keys: [], run: runAcksFlush },
  { id: 'e2e-rates', title: 'End-to-end latency at 1k, 10k and 100k msgs/s', keys: [], run: runLatencyByRate }
])
