/**
 * Child process of compaction-crash.test.ts: appends keyed batches to a real data directory
 * with `flush: 'always'` and, between appends, compacts the log (mode `compact`) or applies
 * size retention (mode `retention`), until the parent kills it with SIGKILL. Every
 * acknowledged append is reported on stdout as `ack <baseOffset> <round>` once its promise
 * resolved, so the parent knows what must survive.
 *
 * Record content is a function of the round: round r appends keys k(3r % K), k(3r+1 % K),
 * k(3r+2 % K) with values `<key>-r<r>`, so the parent can tell an appended record from an
 * invented one.
 */
import { pathToFileURL } from 'node:url'
import { cleanablePartitionLog } from '../../src/engine/cleanable-log.js'
import { compactLog } from '../../src/engine/compaction.js'
import { LogManager } from '../../src/engine/log-manager.js'
import { applyRetention } from '../../src/engine/retention.js'
import { parseTopicConfig } from '../../src/engine/topic-config.js'
import { nodeFileSystem } from '../../src/io/file-system.js'
import { encodeRecordBatch } from '../../src/io/record-batch.js'

export const KEYS = 9
export const SEGMENT_BYTES = 700

export function roundBatch (round: number): Uint8Array {
  const records = []
  for (let k = 0; k < 3; k++) {
    const key = `k${(round * 3 + k) % KEYS}`
    records.push({ key, value: `${key}-r${round}`, timestamp: 1_000_000 + round })
  }
  return encodeRecordBatch({ compression: round % 2 === 0 ? 'none' : 'gzip', records })
}

async function main (): Promise<void> {
  const [directory, mode, firstRoundText] = process.argv.slice(2)
  if (directory === undefined || (mode !== 'compact' && mode !== 'retention')) throw new Error('usage: <directory> compact|retention <firstRound>')
  const manager = await LogManager.open({ directory, fs: nodeFileSystem, flush: 'always', logConfig: { segmentBytes: SEGMENT_BYTES, segmentIndexBytes: 4096 } })
  const log = manager.getLog('table', 0) ?? await manager.createLog('table', 0)
  const cleanable = cleanablePartitionLog(log, { fs: nodeFileSystem, persistLogStartOffset: async () => { await manager.checkpoint() } })
  const compact = parseTopicConfig({ 'cleanup.policy': 'compact', 'segment.bytes': String(SEGMENT_BYTES * 3) })
  const retention = parseTopicConfig({ 'retention.bytes': String(SEGMENT_BYTES * 4), 'retention.ms': '-1', 'file.delete.delay.ms': '0' })
  let round = Number(firstRoundText ?? 0)
  process.stdout.write('ready\n')
  // Runs until killed; each round is bounded.
  for (;;) {
    const { baseOffset } = await log.append(roundBatch(round))
    process.stdout.write(`ack ${baseOffset} ${round}\n`)
    round++
    if (round % 3 === 0) {
      if (mode === 'compact') await compactLog(cleanable, compact, { now: 2_000_000, force: true })
      else await applyRetention(cleanable, retention)
    }
  }
}

// Runs only as the child's entry point, not when the test imports the helpers above.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`${String((error as Error)?.stack ?? error)}\n`)
    process.exit(1)
  })
}
