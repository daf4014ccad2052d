/**
 * Storage-engine scenarios: thin wrappers over the figure functions of `./storage.ts` (owned by
 * the storage engine), turning each returned figure object into JSON keys and report rows.
 *
 * The module is loaded lazily: while it does not exist, each scenario is skipped with that
 * reason and its keys are absent. Once it exists, a missing export or a missing figure in what
 * an export returns is a failure naming it, never a silent gap.
 *
 * Repetitions: append, flush 'always' and sequential read run `engineRepetitions` times and
 * report the best repetition, for the reason given in `raw.ts` (interference only slows a
 * repetition down, so the best of several is the steadiest estimate). Their raw counterparts are
 * measured right beside each engine repetition (same volume, seconds apart) and the ratio to
 * raw is best engine / best raw of those. Before each append repetition the page cache is
 * pre-warmed (see `raw.ts`): on this virtual machine the state of freed memory otherwise
 * decides the figure.
 */
import { PartitionLog } from '../../src/engine/partition-log.js'
import { rmSync } from 'node:fs'
import path from 'node:path'
import type { Figures } from './figures.js'
import { best, median, prewarmPageCache, sequentialWriteThenRead, syncAppends } from './raw.js'
import type { Scenario, ScenarioContext, ScenarioSkip } from './scenario.js'
import { slowDownMethod, slowdownFactor, slowdownVariable } from './slowdown.js'

type FigureObject = Record<string, number>
type StorageFunction = (options: Record<string, unknown>) => Promise<FigureObject>
type StorageModule = Record<string, unknown>

const MIB = 1024 * 1024
const GIB = 1024 * MIB

let loaded: Promise<StorageModule | ScenarioSkip> | undefined

/** Imports `./storage.ts` once; a missing file is a skip, any other import error is a failure. */
export function loadStorageModule (): Promise<StorageModule | ScenarioSkip> {
  // A variable specifier: the type checker must not require the file, which may be absent.
  const specifier = './storage.js'
  loaded ??= import(specifier).then(
    (module: StorageModule) => module,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('storage')) {
        return { skipped: 'bench/macro/storage.ts does not exist yet' }
      }
      throw error
    }
  )
  return loaded
}

/** The named export of storage.ts, or a skip while the file is absent. */
async function storageFunction (name: string): Promise<StorageFunction | ScenarioSkip> {
  const module = await loadStorageModule()
  if ('skipped' in module && typeof module.skipped === 'string') return module as ScenarioSkip
  const candidate = (module as StorageModule)[name]
  if (typeof candidate !== 'function') throw new Error(`bench/macro/storage.ts has no exported function ${name}`)
  return candidate as StorageFunction
}

/** Reads a figure the storage function must have returned. */
function required (figures: FigureObject, key: string, from: string): number {
  const value = figures[key]
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`${from} returned no finite '${key}' (keys: ${Object.keys(figures).join(', ')})`)
  return value
}

function mib (bytes: number): string {
  return bytes >= GIB ? `${(bytes / GIB).toFixed(bytes % GIB === 0 ? 0 : 1)} GiB` : `${(bytes / MIB).toFixed(0)} MiB`
}

/** Runs `body` `count` times, each in a fresh directory, and returns every result. */
async function repeat (context: ScenarioContext, count: number, body: (directory: string, index: number) => Promise<FigureObject>): Promise<FigureObject[]> {
  const results: FigureObject[] = []
  for (let index = 0; index < count; index++) {
    const directory = await context.makeDataDirectory()
    results.push(await body(directory, index))
  }
  return results
}

const medianOf = (results: FigureObject[], key: string, from: string): number => median(results.map((result) => required(result, key, from)))
const bestOf = (results: FigureObject[], key: string, from: string): number => best(results.map((result) => required(result, key, from)))

const appendScenario: Scenario = {
  id: 'append',
  title: "batched append of 100-byte records, one partition, flush 'interval', vs raw write of the same volume",
  keys: ['append_mb_s', 'append_msgs_s', 'append_ratio_raw'],
  run: async (context) => {
    const appendInterval = await storageFunction('appendInterval')
    if ('skipped' in appendInterval) return appendInterval
    const factor = slowdownFactor()
    const bytes = context.profile.appendBytes
    const restore = slowDownMethod(PartitionLog.prototype, 'append', factor)
    let results: FigureObject[]
    try {
      results = await repeat(context, context.profile.engineRepetitions, async (directory) => {
        prewarmPageCache(directory, bytes)
        return await appendInterval({ directory, bytes })
      })
    } finally {
      restore()
    }
    const from = 'storage.ts appendInterval'
    const mbPerSecond = bestOf(results, 'append_interval_mb_s', from)
    const msgsPerSecond = bestOf(results, 'append_interval_msgs_s', from)
    const pairedRaw = bestOf(results, 'raw_write_mb_s', from)
    const ratio = mbPerSecond / pairedRaw
    const batchBytes = medianOf(results, 'append_interval_batch_bytes', from)
    const slowed = factor === 1 ? '' : `, ${slowdownVariable}=${factor}`
    return {
      figures: { append_mb_s: mbPerSecond, append_msgs_s: msgsPerSecond, append_ratio_raw: ratio },
      rows: [
        { scenario: 'append', kind: 'raw', label: `raw write beside append (${mib(bytes)})`, mbPerSecond: pairedRaw, note: `measured by appendInterval right before the engine, best of ${results.length}` },
        {
          scenario: 'append',
          kind: 'engine',
          label: `append 100 B records, flush interval (${mib(bytes)})${slowed}`,
          recordBytes: 100,
          mbPerSecond,
          msgsPerSecond,
          ratio: { rawLabel: 'raw write beside it', value: ratio },
          note: `${Math.round(batchBytes)} B batches, 32 appends in flight, best of ${results.length}`
        }
      ]
    }
  }
}

const appendAlwaysScenario: Scenario = {
  id: 'append-always',
  title: "flush 'always', 16 concurrent appenders of 100-record batches (group commit)",
  keys: ['append_always_msgs_s', 'append_always_mb_s', 'append_always_ratio_interval', 'append_always_ratio_raw'],
  run: async (context) => {
    const appendAlways16 = await storageFunction('appendAlways16')
    if ('skipped' in appendAlways16) return appendAlways16
    const bytes = context.profile.alwaysBytes
    const { syncAppendBytes } = context.profile
    const syncCount = Math.max(20, context.profile.syncAppendCount >> 1)
    // fdatasync latency on a shared disk swings 10x within a minute, so the raw counterpart is
    // measured right before each repetition and the ratio taken pair by pair.
    const results = await repeat(context, context.profile.engineRepetitions, async (directory) => {
      const raw = syncAppends(path.join(directory, 'raw-sync.bin'), syncCount, syncAppendBytes)
      const figures = await appendAlways16({ directory: path.join(directory, 'engine'), bytes })
      return { ...figures, raw_sync_write_mb_s: raw.mbPerSecond }
    })
    const from = 'storage.ts appendAlways16'
    const msgsPerSecond = bestOf(results, 'append_always16_msgs_s', from)
    const mbPerSecond = bestOf(results, 'append_always16_mb_s', from)
    const intervalMsgs = bestOf(results, 'append_interval16_msgs_s', from)
    const ratio = msgsPerSecond / intervalMsgs
    const pairedRaw = bestOf(results, 'raw_sync_write_mb_s', 'append-always')
    const ratioRaw = mbPerSecond / pairedRaw
    return {
      figures: { append_always_msgs_s: msgsPerSecond, append_always_mb_s: mbPerSecond, append_always_ratio_interval: ratio, append_always_ratio_raw: ratioRaw },
      rows: [
        { scenario: 'append-always', kind: 'raw', label: `raw ${syncAppendBytes / 1024} KiB append + fdatasync beside it`, mbPerSecond: pairedRaw, note: `${syncCount} appends before each repetition, best of ${results.length}` },
        { scenario: 'append-always', kind: 'engine', label: `append 100-record batches, flush always, 16 appenders (${mib(bytes)})`, recordBytes: 100, mbPerSecond, msgsPerSecond, ratio: { rawLabel: 'raw append + fdatasync beside it', value: ratioRaw }, note: `best of ${results.length}` },
        { scenario: 'append-always', kind: 'engine', label: `same appenders, flush interval (${mib(bytes)})`, msgsPerSecond: intervalMsgs, note: `always/interval = ${ratio.toFixed(3)}` }
      ]
    }
  }
}

/** Runs of the event-loop scenario; its figures are the medians. */
const EVENT_LOOP_RUNS = 3

const eventLoopScenario: Scenario = {
  id: 'eventloop',
  title: 'event-loop delay while appending flat out',
  keys: ['eventloop_p50_ms', 'eventloop_p99_ms', 'eventloop_max_ms', 'eventloop_idle_p99_ms'],
  run: async (context) => {
    const measure = await storageFunction('eventLoopDelayWhileAppending')
    if ('skipped' in measure) return measure
    const bytes = context.profile.appendBytes
    // A single run's p99 moves by 2x with whatever else the two cores do (kernel writeback above
    // all): three runs, medians reported.
    const results = await repeat(context, EVENT_LOOP_RUNS, async (directory) => await measure({ directory, bytes }))
    const from = 'storage.ts eventLoopDelayWhileAppending'
    const figures: Figures = {
      eventloop_p50_ms: medianOf(results, 'event_loop_delay_p50_ms', from),
      eventloop_p99_ms: medianOf(results, 'event_loop_delay_p99_ms', from),
      eventloop_max_ms: medianOf(results, 'event_loop_delay_max_ms', from)
    }
    // Optional: newer versions of storage.ts also measure the idle loop just before.
    const idle = results.map((result) => result.event_loop_delay_idle_p99_ms).filter((value): value is number => typeof value === 'number' && Number.isFinite(value))
    if (idle.length > 0) figures.eventloop_idle_p99_ms = median(idle)
    return {
      figures,
      rows: [{
        scenario: 'eventloop',
        kind: 'engine',
        label: `append flat out, event-loop delay (${mib(bytes)})`,
        mbPerSecond: medianOf(results, 'event_loop_append_mb_s', from),
        note: `event-loop delay p50 ${figures.eventloop_p50_ms!.toFixed(2)} ms, p99 ${figures.eventloop_p99_ms!.toFixed(2)} ms, max ${figures.eventloop_max_ms!.toFixed(2)} ms (monitorEventLoopDelay, 1 ms resolution; medians of ${results.length} runs)${figures.eventloop_idle_p99_ms === undefined ? '' : `; idle p99 ${figures.eventloop_idle_p99_ms.toFixed(2)} ms`}`
      }]
    }
  }
}

const consumeScenario: Scenario = {
  id: 'consume',
  title: 'sequential read of raw batches from offset 0, vs raw read of the segment files',
  keys: ['consume_mb_s', 'consume_msgs_s', 'consume_ratio_raw'],
  run: async (context) => {
    const sequentialRead = await storageFunction('sequentialRead')
    if ('skipped' in sequentialRead) return sequentialRead
    const buildBatch = await storageFunction('buildBatch')
    if ('skipped' in buildBatch) return buildBatch
    const bytes = context.profile.appendBytes
    const results = await repeat(context, context.profile.engineRepetitions, async (directory) => await sequentialRead({ directory, bytes }))
    const from = 'storage.ts sequentialRead'
    const mbPerSecond = bestOf(results, 'read_mb_s', from)
    const pairedRaw = bestOf(results, 'raw_read_mb_s', from)
    const ratio = mbPerSecond / pairedRaw
    // sequentialRead appends batches of 1000 records of 100 bytes (its documented pattern), so the
    // record rate follows exactly from the byte rate and the batch size.
    const batch = (buildBatch as unknown as (count: number, valueBytes: number) => Uint8Array)(1000, 100)
    const msgsPerSecond = (mbPerSecond * 1e6 * 1000) / batch.byteLength
    return {
      figures: { consume_mb_s: mbPerSecond, consume_msgs_s: msgsPerSecond, consume_ratio_raw: ratio },
      rows: [
        { scenario: 'consume', kind: 'raw', label: `raw read of the segment files (${mib(bytes)})`, mbPerSecond: pairedRaw, note: `page cache, measured by sequentialRead right after the engine, best of ${results.length}` },
        { scenario: 'consume', kind: 'engine', label: `read batches from offset 0, 1 MiB reads (${mib(bytes)})`, recordBytes: 100, mbPerSecond, msgsPerSecond, ratio: { rawLabel: 'raw read of the segments', value: ratio }, note: `best of ${results.length}` }
      ]
    }
  }
}

const recoveryScenario: Scenario = {
  id: 'recovery',
  title: 'recovery of a 1 GiB partition after an unclean shutdown, with and without a checkpoint',
  keys: ['recovery_ms_1gib', 'recovery_rescan_ms_1gib', 'recovery_scan_mb_s', 'recovery_ratio_raw'],
  run: async (context) => {
    const recovery = await storageFunction('recovery')
    if ('skipped' in recovery) return recovery
    // The raw counterpart of a rescan (a page-cache read of the same volume) is measured right
    // before it, as for append and consume: the start-of-run raw read is minutes old by now.
    let rawReadMbPerSecond = 0
    const [result] = await repeat(context, 1, async (directory) => {
      const file = path.join(directory, 'raw-read.bin')
      rawReadMbPerSecond = sequentialWriteThenRead(file, GIB, Buffer.alloc(MIB, 0x3c)).readMbPerSecond
      rmSync(file)
      return await recovery({ directory: path.join(directory, 'engine'), bytes: GIB })
    })
    const from = 'storage.ts recovery'
    const partitionBytes = required(result!, 'recovery_partition_bytes', from)
    if (partitionBytes < GIB) throw new Error(`${from} built a ${partitionBytes}-byte partition, less than the 1 GiB asked`)
    const withCheckpointMs = required(result!, 'recovery_with_checkpoint_ms', from)
    const rescanMs = required(result!, 'recovery_full_rescan_ms', from)
    const scanMbPerSecond = partitionBytes / 1e6 / (rescanMs / 1000)
    return {
      figures: { recovery_ms_1gib: withCheckpointMs, recovery_rescan_ms_1gib: rescanMs, recovery_scan_mb_s: scanMbPerSecond, recovery_ratio_raw: scanMbPerSecond / rawReadMbPerSecond },
      rows: [
        { scenario: 'recovery', kind: 'raw', label: 'raw read 1 MiB (page cache) x 1 GiB, beside recovery', mbPerSecond: rawReadMbPerSecond },
        {
        scenario: 'recovery',
        kind: 'engine',
        label: `recovery full rescan (${mib(partitionBytes)}, CRC checked)`,
        mbPerSecond: scanMbPerSecond,
        ratio: { rawLabel: 'raw read beside it', value: scanMbPerSecond / rawReadMbPerSecond },
        note: `with a recent checkpoint ${withCheckpointMs.toFixed(1)} ms; full rescan ${rescanMs.toFixed(0)} ms`
      }]
    }
  }
}

const partitionsScenario: Scenario = {
  id: 'partitions',
  title: 'many partitions open in one engine: RSS and file descriptors',
  keys: ['partitions_count', 'partitions_rss_mib', 'partitions_fds', 'partitions_reopen_s'],
  run: async (context) => {
    const manyPartitions = await storageFunction('manyPartitions')
    if ('skipped' in manyPartitions) return manyPartitions
    const partitions = context.profile.partitions
    const [result] = await repeat(context, 1, async (directory) => await manyPartitions({ directory, partitions }))
    const from = 'storage.ts manyPartitions'
    const figures: Figures = {
      partitions_count: required(result!, 'many_partitions', from),
      partitions_rss_mib: required(result!, 'many_partitions_rss_mib', from),
      partitions_fds: required(result!, 'many_partitions_fds', from),
      partitions_reopen_s: required(result!, 'many_partitions_reopen_s', from)
    }
    return {
      figures,
      rows: [{
        scenario: 'partitions',
        kind: 'engine',
        label: `${figures.partitions_count} partitions, one batch each`,
        note: `RSS ${figures.partitions_rss_mib!.toFixed(0)} MiB (+${required(result!, 'many_partitions_rss_growth_mib', from).toFixed(0)} MiB), ${figures.partitions_fds} fds, create ${required(result!, 'many_partitions_create_s', from).toFixed(1)} s, reopen ${figures.partitions_reopen_s!.toFixed(2)} s`
      }]
    }
  }
}

export const storageScenarios: readonly Scenario[] = Object.freeze([
  appendScenario,
  appendAlwaysScenario,
  eventLoopScenario,
  consumeScenario,
  recoveryScenario,
  partitionsScenario
])

