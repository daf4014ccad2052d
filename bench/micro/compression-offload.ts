/**
 * Where should the async compression forms run? Compares, per codec and input size, three
 * mechanisms for compress and decompress:
 *
 * - `sync`: the codec on the main thread (`compressSync`), one call at a time;
 * - `libuv`: the native codecs' async entry points on libuv's threadpool
 *   (`compressOnThreadpool`), 4 operations in flight;
 * - `piscina`: `compression-task` on the shared worker pool (2 threads), 4 in flight; the input
 *   is copied to the worker by structured clone and the result moved back.
 *
 * For each it prints throughput (MB/s of uncompressed bytes) and main-thread busy time per
 * operation (event-loop utilisation's active time / operations): the time the event loop
 * could not serve anything else. For `sync` the whole operation is one blocking stretch.
 *
 * Run: `npx tsx bench/micro/compression-offload.ts` (`BENCH_SMOKE=1` for a quick pass,
 * `BENCH_CODECS=gzip,zstd` to pick codecs).
 * The conclusions are recorded next to `inlineBytesMax` in `src/io/compression.ts`.
 */
import { performance } from 'node:perf_hooks'
import { compressOnThreadpool, compressSync, decompressOnThreadpool, decompressSync, type CompressionCodec } from '../../src/io/compression.js'
import { WorkerPool } from '../../src/io/worker-pool.js'
import { recordLikeBytes } from '../../test/io/compression-fixtures.js'

const smoke = process.env.BENCH_SMOKE === '1'
const codecs = (process.env.BENCH_CODECS ?? 'gzip,snappy,lz4,zstd').split(',') as CompressionCodec[]
const sizes = smoke ? [1024, 64 * 1024] : [1024, 4096, 16 * 1024, 64 * 1024, 256 * 1024, 1024 * 1024, 4 * 1024 * 1024]
const bytesPerRun = smoke ? 1024 * 1024 : 16 * 1024 * 1024
const inFlight = 4

type Mode = 'sync' | 'libuv' | 'piscina'
type Direction = 'compress' | 'decompress'

interface Result { mbPerSecond: number, busyMicrosPerOp: number }

const pool = new WorkerPool({ threadsMax: 2 })

function operation (mode: Mode, direction: Direction, codec: CompressionCodec, input: Buffer): () => Promise<unknown> | unknown {
  if (mode === 'sync') return direction === 'compress' ? () => compressSync(codec, input) : () => decompressSync(codec, input)
  if (mode === 'libuv') return direction === 'compress' ? async () => await compressOnThreadpool(codec, input) : async () => await decompressOnThreadpool(codec, input)
  const task = direction === 'compress' ? 'compression-task#compress' : 'compression-task#decompress'
  return async () => {
    const result = await pool.run<Uint8Array>(task, { codec, data: input })
    return Buffer.from(result.buffer, result.byteOffset, result.byteLength)
  }
}

async function measure (mode: Mode, direction: Direction, codec: CompressionCodec, size: number, plain: Buffer, input: Buffer): Promise<Result> {
  const run = operation(mode, direction, codec, input)
  const operations = Math.max(8, Math.min(2000, Math.floor(bytesPerRun / size)))
  for (let index = 0; index < Math.min(operations, 8); index++) await run()
  const elu = performance.eventLoopUtilization()
  const start = performance.now()
  if (mode === 'sync') {
    for (let index = 0; index < operations; index++) run()
  } else {
    let next = 0
    const lane = async (): Promise<void> => {
      while (next < operations) {
        next++
        await run()
      }
    }
    await Promise.all(Array.from({ length: inFlight }, lane))
  }
  const elapsedMs = performance.now() - start
  const used = performance.eventLoopUtilization(elu)
  // A sync loop never yields, so the event loop's own accounting sees nothing: it was busy throughout.
  const busyMs = mode === 'sync' ? elapsedMs : used.active
  return {
    mbPerSecond: (operations * plain.length) / 1e6 / (elapsedMs / 1000),
    busyMicrosPerOp: (busyMs * 1000) / operations
  }
}

const rows: string[] = []
console.log('codec  dir         size  | sync MB/s  busy us | libuv MB/s busy us | piscina MB/s busy us')
for (const codec of codecs) {
  for (const direction of ['compress', 'decompress'] as const) {
    for (const size of sizes) {
      const plain = recordLikeBytes(size, size)
      const input = direction === 'compress' ? plain : compressSync(codec, plain)
      const cells: string[] = []
      for (const mode of ['sync', 'libuv', 'piscina'] as const) {
        const result = await measure(mode, direction, codec, size, plain, input)
        cells.push(`${result.mbPerSecond.toFixed(0).padStart(8)} ${result.busyMicrosPerOp.toFixed(0).padStart(8)}`)
      }
      const row = `${codec.padEnd(6)} ${direction.padEnd(10)} ${String(size).padStart(7)} | ${cells.join(' | ')}`
      rows.push(row)
      console.log(row)
    }
  }
}
await pool.close()
