/**
 * Append throughput versus record size and compression codec (flush 'interval', one partition):
 * the rows behind the report's "throughput versus record size" chart.
 *
 * - Record sizes 100 B, 1 KiB, 10 KiB (8-byte keys): batches of about 128 KiB, encoded once
 *   before the clock starts and appended repeatedly. Expectation: MB/s roughly flat (the log
 *   copies bytes, it does not look at records), so records/s falls about 10x per size step.
 * - Codecs none / gzip / snappy / lz4 / zstd at 1 KiB values: each batch is encoded and
 *   compressed inside the timed loop (`encodeRecordBatchAsync`: compression runs on libuv's
 *   threadpool) and then appended, as a producer pipeline without the client API. MB/s counts
 *   uncompressed record bytes. Expectation: gzip bounded by zlib at ~50-100 MB/s per core;
 *   lz4/snappy several hundred MB/s; zstd in between; none at the encoder's speed.
 *
 * Values are seeded pseudo-text (words from a small vocabulary), compressible about 2-4x like
 * typical JSON payloads, so the codec rows compare real compression work.
 */
import { LogManager } from '../../src/engine/log-manager.js'
import type { CompressionCodec } from '../../src/io/compression.js'
import { encodeRecordBatch, encodeRecordBatchAsync, type RecordInput } from '../../src/io/record-batch.js'
import type { ResultRow, Scenario, ScenarioContext } from './scenario.js'

const KIB = 1024
const BATCH_TARGET_BYTES = 128 * KIB
const IN_FLIGHT = 8

/** Deterministic text-like bytes: the same run to run, so codec figures compare across runs. */
function seededValues (count: number, valueBytes: number, seed: number): Buffer[] {
  const words = ['order', 'id', 'user', 'amount', 'currency', 'EUR', 'status', 'shipped', 'created', 'region', 'eu-west', 'sku', 'quantity', 'true', 'false', 'null']
  let state = seed >>> 0
  const next = (): number => {
    state ^= state << 13; state >>>= 0
    state ^= state >>> 17
    state ^= state << 5; state >>>= 0
    return state
  }
  const values: Buffer[] = []
  for (let index = 0; index < count; index++) {
    let text = ''
    while (text.length < valueBytes) text += `"${words[next() % words.length]!}":${next() % 100000},`
    values.push(Buffer.from(text.slice(0, valueBytes)))
  }
  return values
}

function recordsOf (valueBytes: number, seed: number): RecordInput[] {
  const count = Math.max(1, Math.floor(BATCH_TARGET_BYTES / (valueBytes + 8)))
  const values = seededValues(count, valueBytes, seed)
  return values.map((value, index) => ({ key: Buffer.from(`key${String(index % 100000).padStart(5, '0')}`), value }))
}

interface SweepRun { seconds: number, records: number, recordBytes: number, storedBytes: number }

async function appendLoop (directory: string, totalBytes: number, records: RecordInput[], nextBatch: () => Promise<Uint8Array>): Promise<SweepRun> {
  const manager = await LogManager.open({ directory, flush: 'interval' })
  try {
    const log = await manager.createLog('sweep', 0)
    const recordBytes = records.reduce((sum, record) => sum + (record.value as Buffer).byteLength + 8, 0)
    const batches = Math.max(1, Math.ceil(totalBytes / recordBytes))
    let issued = 0
    let storedBytes = 0
    const start = process.hrtime.bigint()
    const worker = async (): Promise<void> => {
      while (issued < batches) {
        issued++
        const batch = await nextBatch()
        storedBytes += batch.byteLength
        await log.append(batch)
      }
    }
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker))
    const seconds = Number(process.hrtime.bigint() - start) / 1e9
    return { seconds, records: batches * records.length, recordBytes: batches * recordBytes, storedBytes }
  } finally {
    await manager.close()
  }
}

function sizeLabel (bytes: number): string {
  return bytes >= KIB ? `${bytes / KIB} KiB` : `${bytes} B`
}

async function sweep (context: ScenarioContext): Promise<ResultRow[]> {
  const rows: ResultRow[] = []
  const bytes = context.profile.sweepBytes
  for (const valueBytes of [100, KIB, 10 * KIB]) {
    const records = recordsOf(valueBytes, 1)
    const batch = encodeRecordBatch({ records })
    context.progress(`record size ${sizeLabel(valueBytes)}`)
    const run = await appendLoop(await context.makeDataDirectory(), bytes, records, async () => batch)
    rows.push({
      scenario: 'append-by-size',
      kind: 'engine',
      label: `append pre-encoded batches, ${sizeLabel(valueBytes)} values`,
      recordBytes: valueBytes,
      msgsPerSecond: run.records / run.seconds,
      mbPerSecond: run.storedBytes / 1e6 / run.seconds,
      note: `${records.length} records per batch, ${IN_FLIGHT} appends in flight`
    })
  }
  const codecs: CompressionCodec[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd']
  for (const codec of codecs) {
    const records = recordsOf(KIB, 2)
    context.progress(`codec ${codec}`)
    const run = await appendLoop(await context.makeDataDirectory(), bytes, records, async () => await encodeRecordBatchAsync({ records, compression: codec }))
    rows.push({
      scenario: 'append-by-codec',
      kind: 'engine',
      label: `encode + ${codec === 'none' ? 'no compression' : codec} + append, 1 KiB values`,
      msgsPerSecond: run.records / run.seconds,
      mbPerSecond: run.recordBytes / 1e6 / run.seconds,
      note: `stored/uncompressed ${(run.storedBytes / run.recordBytes).toFixed(3)}; MB/s of uncompressed record bytes`
    })
  }
  return rows
}

export const appendSweepScenario: Scenario = {
  id: 'append-sweep',
  title: 'append throughput by record size (100 B, 1 KiB, 10 KiB) and by codec (none, gzip, snappy, lz4, zstd)',
  keys: [],
  run: async (context) => ({ figures: {}, rows: await sweep(context) })
}
