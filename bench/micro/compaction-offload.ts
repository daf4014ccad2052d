/**
 * Where should compaction's CPU passes run? Compacts a ~76 MB log of 100-byte records
 * (600,000 records over 10,000 keys, 16 MiB segments) once inline and once on the worker pool,
 * and prints throughput (MB/s of log read) and the event-loop delay the run caused
 * (`monitorEventLoopDelay`, p99 and max): what a background cleaner costs everything else the
 * process serves.
 *
 * Run: `npx tsx bench/micro/compaction-offload.ts [inline|pool]` (both when omitted;
 * `BENCH_SMOKE=1` for a small log). The conclusion is recorded next to `CompactionTaskOptions.pool`
 * in `src/engine/compaction.ts`.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { cleanablePartitionLog } from '../../src/engine/cleanable-log.js'
import { compactLog } from '../../src/engine/compaction.js'
import { LogManager } from '../../src/engine/log-manager.js'
import { parseTopicConfig } from '../../src/engine/topic-config.js'
import { nodeFileSystem } from '../../src/io/file-system.js'
import { RecordBatchEncoder } from '../../src/io/record-batch.js'
import { WorkerPool } from '../../src/io/worker-pool.js'

const smoke = process.env.BENCH_SMOKE === '1'
const batchCount = smoke ? 300 : 6000

async function run (mode: 'inline' | 'pool'): Promise<void> {
  const directory = await mkdtemp(join(tmpdir(), 'sluice-compaction-bench-'))
  const manager = await LogManager.open({ directory, fs: nodeFileSystem, flush: 'interval', logConfig: { segmentBytes: smoke ? 1 << 20 : 16 << 20 } })
  const pool = mode === 'pool' ? new WorkerPool() : undefined
  try {
    const log = await manager.createLog('table', 0)
    const encoder = new RecordBatchEncoder()
    const keys: Buffer[] = []
    for (let index = 0; index < 10_000; index++) keys.push(Buffer.from(`key-${String(index).padStart(12, '0')}`))
    const value = Buffer.alloc(100, 3)
    let state = 1
    for (let batch = 0; batch < batchCount; batch++) {
      const batchKeys: Buffer[] = []
      const values: Buffer[] = []
      for (let record = 0; record < 100; record++) {
        state ^= state << 13
        state ^= state >>> 17
        state ^= state << 5
        batchKeys.push(keys[(state >>> 0) % keys.length]!)
        values.push(value)
      }
      await log.append(encoder.encodeColumns({ keys: batchKeys, values, baseTimestamp: 1_700_000_000_000 }))
    }
    await log.flush()
    const bytes = log.sizeBytes
    const cleanable = cleanablePartitionLog(log, { fs: nodeFileSystem, persistLogStartOffset: async () => { await manager.checkpoint() } })
    const delay = monitorEventLoopDelay({ resolution: 1 })
    delay.enable()
    const started = performance.now()
    const result = await compactLog(cleanable, parseTopicConfig({ 'cleanup.policy': 'compact', 'segment.bytes': String(64 << 20) }), { now: 1_800_000_000_000, ...(pool === undefined ? {} : { pool }) })
    const ms = performance.now() - started
    delay.disable()
    console.log(`${mode.padEnd(6)} ${(bytes / 1e6).toFixed(1)} MB in ${ms.toFixed(0)} ms = ${(bytes / 1e6 / (ms / 1000)).toFixed(0)} MB/s; event-loop delay p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms, max ${(delay.max / 1e6).toFixed(1)} ms; records ${result.stats.recordsRead} -> ${result.stats.recordsKept}`)
  } finally {
    await pool?.close()
    await manager.close()
    await rm(directory, { recursive: true, force: true })
  }
}

const modes = process.argv[2] === undefined ? ['inline', 'pool'] as const : [process.argv[2] as 'inline' | 'pool']
for (const mode of modes) await run(mode)
