/**
 * Raw figures of this machine, measured at the start of every macro run so that each engine
 * figure can be stated as a fraction of what the hardware (and the kernel's page cache) gives
 * with no engine at all.
 *
 * - Sequential write: `fs.writeSync` of 1 MiB buffers appended to a new file, the same volume
 *   the append scenario writes, no fsync: page allocation and copy-in, not the disk. On this
 *   virtual machine the figure is bimodal. Memory the guest freed more than about two seconds
 *   ago has been handed back to the host, and touching it again costs a host fault per page
 *   (about 0.6 GB/s); memory freed moments ago is reused at about 6 GB/s. So the first
 *   repetition is a warm-up reported on its own (`raw_write_first_touch_mb_s`), the best of
 *   the following ones is `raw_write_mb_s`, and the append scenario runs `prewarmPageCache`
 *   right before the engine writes, so that both sides of `append_ratio_raw` meet the same
 *   page state.
 * - Sequential read: `fs.readSync` with one 1 MiB buffer over the file just written. The page
 *   cache cannot be dropped without root, so this is a page-cache read, which is also what an
 *   engine reading a freshly written log gets: the comparison stays like for like.
 * - fdatasync: small appends (about one 100-record batch) each followed by `fdatasync`; the
 *   sync call alone is timed for p50/p99, write plus sync for the durable-append MB/s.
 * - Buffer.copy between two 64 MiB buffers: memory bandwidth, the ceiling of any in-memory path.
 *
 * Each probe runs `rawRepetitions` times and reports the best repetition (highest throughput),
 * because the denominators of every ratio must be steadier than the figures they divide, and on
 * a machine shared with other work interference only ever slows a repetition down: the best of
 * several is the steadiest estimate of what the machine can do (measured: the median of 3 still
 * moved by a factor of 2 between runs when the load average was 12 on 2 cores).
 */
import { randomFillSync } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import type { Figures } from './figures.js'
import { LatencyRecorder } from './latency.js'
import type { BenchProfile, ResultRow } from './scenario.js'

const MIB = 1024 * 1024

/** The largest value (best throughput of several repetitions). */
export function best (values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : Math.max(...values)
}

export function median (values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

function seconds (startNs: bigint): number {
  return Number(process.hrtime.bigint() - startNs) / 1e9
}

export interface SequentialFigures { writeMbPerSecond: number, readMbPerSecond: number }

/** Writes `totalBytes` to a new file in `buffer`-sized writes, then reads it back (page cache); the file is left in place. */
export function sequentialWriteThenRead (file: string, totalBytes: number, buffer: Buffer): SequentialFigures {
  const chunks = Math.max(1, Math.ceil(totalBytes / buffer.byteLength))
  const writeFd = fs.openSync(file, 'wx')
  let written = 0
  const writeStart = process.hrtime.bigint()
  try {
    for (let chunk = 0; chunk < chunks; chunk++) {
      let offset = 0
      // writeSync may write less than asked (rare on regular files, but not excluded by POSIX).
      while (offset < buffer.byteLength) offset += fs.writeSync(writeFd, buffer, offset, buffer.byteLength - offset)
      written += offset
    }
  } finally {
    fs.closeSync(writeFd)
  }
  const writeSeconds = seconds(writeStart)

  const readFd = fs.openSync(file, 'r')
  let read = 0
  const readStart = process.hrtime.bigint()
  try {
    for (;;) {
      const count = fs.readSync(readFd, buffer, 0, buffer.byteLength, null)
      if (count === 0) break
      read += count
    }
  } finally {
    fs.closeSync(readFd)
  }
  const readSeconds = seconds(readStart)
  if (read !== written) throw new Error(`raw read returned ${read} bytes of the ${written} written`)
  return { writeMbPerSecond: written / 1e6 / writeSeconds, readMbPerSecond: read / 1e6 / readSeconds }
}

export interface SyncFigures { latency: LatencyRecorder, mbPerSecond: number }

/** `count` appends of `bytes` to a new file, each followed by fdatasync (the file is left in place). */
export function syncAppends (file: string, count: number, bytes: number): SyncFigures {
  const buffer = Buffer.alloc(bytes)
  randomFillSync(buffer)
  const latency = new LatencyRecorder()
  const fd = fs.openSync(file, 'wx')
  const start = process.hrtime.bigint()
  try {
    for (let index = 0; index < count; index++) {
      let offset = 0
      while (offset < bytes) offset += fs.writeSync(fd, buffer, offset, bytes - offset)
      const syncStart = process.hrtime.bigint()
      fs.fdatasyncSync(fd)
      latency.recordNanoseconds(process.hrtime.bigint() - syncStart)
    }
  } finally {
    fs.closeSync(fd)
  }
  return { latency, mbPerSecond: (count * bytes) / 1e6 / seconds(start) }
}

function copyBandwidth (bytes: number): number {
  const source = Buffer.alloc(bytes)
  randomFillSync(source, 0, Math.min(bytes, MIB))
  const target = Buffer.alloc(bytes)
  source.copy(target) // touch every target page once so the timed copies do not page-fault
  const rounds = 4
  const start = process.hrtime.bigint()
  for (let round = 0; round < rounds; round++) source.copy(target)
  const elapsed = seconds(start)
  if (target[0] !== source[0]) throw new Error('Buffer.copy probe copied nothing')
  return (rounds * bytes) / 1e9 / elapsed
}

/**
 * Writes `bytes` to a scratch file in 1 MiB buffers and deletes it, so that the next writer
 * (the engine, right after) gets page-cache memory in the same recently-freed state as the raw
 * write probe. See the header for why this matters on a virtual machine.
 */
export function prewarmPageCache (directory: string, bytes: number): void {
  const file = path.join(directory, `prewarm-${process.pid}-${Date.now()}.bin`)
  const buffer = Buffer.alloc(MIB, 0x5a)
  const fd = fs.openSync(file, 'wx')
  try {
    for (let written = 0; written < bytes; written += buffer.byteLength) fs.writeSync(fd, buffer)
  } finally {
    fs.closeSync(fd)
    fs.rmSync(file)
  }
}

export interface RawMeasurement {
  figures: Figures
  rows: ResultRow[]
}

/** Runs every raw probe in `directory` (which the caller creates and removes). */
export function measureRaw (directory: string, profile: BenchProfile): RawMeasurement {
  const buffer = Buffer.alloc(MIB)
  randomFillSync(buffer)

  const writes: number[] = []
  const reads: number[] = []
  let firstTouch = Number.NaN
  for (let repetition = 0; repetition <= profile.rawRepetitions; repetition++) {
    const file = path.join(directory, `sequential-${repetition}.bin`)
    const measured = sequentialWriteThenRead(file, profile.appendBytes, buffer)
    fs.rmSync(file)
    if (repetition === 0) {
      firstTouch = measured.writeMbPerSecond
      continue
    }
    writes.push(measured.writeMbPerSecond)
    reads.push(measured.readMbPerSecond)
  }

  const syncRuns: SyncFigures[] = []
  for (let repetition = 0; repetition < profile.rawRepetitions; repetition++) {
    const file = path.join(directory, `sync-${repetition}.bin`)
    syncRuns.push(syncAppends(file, profile.syncAppendCount, profile.syncAppendBytes))
    fs.rmSync(file)
  }
  // Percentiles of the pooled samples: p99 of 3 x 200 samples is steadier than a median of p99s.
  const pooled = new LatencyRecorder()
  for (const run of syncRuns) pooled.histogram.add(run.latency.histogram)
  const syncLatency = pooled.summary()
  if (syncLatency === undefined) throw new Error('raw fdatasync probe recorded no samples')

  const copies: number[] = []
  for (let repetition = 0; repetition < profile.rawRepetitions; repetition++) copies.push(copyBandwidth(profile.copyBytes))

  const figures: Figures = {
    raw_write_mb_s: best(writes),
    raw_write_first_touch_mb_s: firstTouch,
    raw_read_mb_s: best(reads),
    raw_fdatasync_p50_ms: syncLatency.p50Ms,
    raw_fdatasync_p99_ms: syncLatency.p99Ms,
    raw_sync_write_mb_s: best(syncRuns.map((run) => run.mbPerSecond)),
    raw_copy_gb_s: best(copies)
  }
  const volume = `${(profile.appendBytes / MIB).toFixed(0)} MiB`
  const rows: ResultRow[] = [
    { scenario: 'raw', kind: 'raw', label: `raw write 1 MiB x ${volume}`, mbPerSecond: figures.raw_write_mb_s! },
    { scenario: 'raw', kind: 'raw', label: `raw write 1 MiB x ${volume}, first touch`, mbPerSecond: firstTouch, note: 'memory the host had reclaimed' },
    { scenario: 'raw', kind: 'raw', label: `raw read 1 MiB (page cache) x ${volume}`, mbPerSecond: figures.raw_read_mb_s! },
    {
      scenario: 'raw',
      kind: 'raw',
      label: `raw ${(profile.syncAppendBytes / 1024).toFixed(0)} KiB append + fdatasync`,
      mbPerSecond: figures.raw_sync_write_mb_s!,
      latency: syncLatency,
      latencyOf: 'fdatasync'
    },
    { scenario: 'raw', kind: 'raw', label: `raw Buffer.copy ${(profile.copyBytes / MIB).toFixed(0)} MiB`, mbPerSecond: figures.raw_copy_gb_s! * 1000 }
  ]
  return { figures, rows }
}
