/**
 * Crash test (a): a child process appends with flush 'always' (and, in a second case,
 * 'interval') and is killed with SIGKILL at a random moment; after reopening, every batch it reported as acknowledged is there byte for
 * byte, nothing partial is visible, offsets are contiguous and appends continue at the next
 * offset. Several rounds on the same directory.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, expect, test } from 'vitest'
import { crc32c } from '../../src/io/crc32c.js'
import { LogManager } from '../../src/engine/log-manager.js'
import type { PartitionLog } from '../../src/engine/partition-log.js'
import { makeSizedBatch, splitBatches, withBaseOffset } from '../support/batches.js'

const child = fileURLToPath(new URL('./fixtures/crash-append-child.ts', import.meta.url))
const directories: string[] = []
afterAll(async () => { for (const directory of directories) await rm(directory, { recursive: true, force: true }) })

interface Ack { baseOffset: number, lastOffset: number, seed: number, count: number, size: number }

async function runAndKill (
  directory: string, round: number, killAfterMs: number, flush: 'always' | 'interval', extraArgs: readonly string[] = []
): Promise<{ acks: Ack[], startOffset: number, flushedOffset: number }> {
  const processHandle = spawn(process.execPath, ['--import', 'tsx', child, directory, String(round), flush, ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  let errors = ''
  processHandle.stdout.setEncoding('utf8')
  processHandle.stderr.setEncoding('utf8')
  processHandle.stderr.on('data', (chunk: string) => { errors += chunk })
  const exited = new Promise<void>((resolve) => processHandle.on('exit', () => { resolve() }))
  await new Promise<void>((resolve, reject) => {
    const timeout = setTimeout(() => { reject(new Error(`child never became ready: ${errors}`)) }, 30_000)
    processHandle.stdout.on('data', (chunk: string) => {
      output += chunk
      if (output.includes('ready')) { clearTimeout(timeout); resolve() }
    })
    processHandle.on('exit', () => { clearTimeout(timeout); reject(new Error(`child exited early: ${errors}`)) })
  })
  await new Promise((resolve) => setTimeout(resolve, killAfterMs))
  processHandle.kill('SIGKILL')
  await exited
  const lines = output.split('\n')
  lines.pop() // possibly partial
  const ready = lines.find((line) => line.startsWith('ready '))!
  const acks = lines.filter((line) => line.startsWith('ack ')).map((line) => {
    const [, baseOffset, lastOffset, seed, count, size] = line.split(' ').map(Number)
    return { baseOffset: baseOffset!, lastOffset: lastOffset!, seed: seed!, count: count!, size: size! }
  })
  // The highest `flushed <offset>` line: every offset below was covered by a resolved flush().
  const flushedOffset = Math.max(-1, ...lines.filter((line) => line.startsWith('flushed ')).map((line) => Number(line.split(' ')[1])))
  return { acks, startOffset: Number(ready.split(' ')[1]), flushedOffset }
}

/** Reads the whole log: every batch whole and valid, offsets contiguous across segments. Returns the batches by base offset and the end. */
async function readVerified (log: PartitionLog, from: number): Promise<{ stored: Map<number, Buffer>, end: number }> {
  const stored = new Map<number, Buffer>()
  let offset = from
  while (offset < log.highWatermark) {
    const { records } = await log.read(offset, { maxBytes: 256 * 1024 })
    const batches = splitBatches(records)
    expect(batches.length).toBeGreaterThan(0)
    for (const batch of batches) {
      const base = Number(batch.readBigInt64BE(0))
      expect(base).toBe(offset) // contiguous
      expect(crc32c(batch.subarray(21))).toBe(batch.readUInt32BE(17)) // whole and valid
      stored.set(base, Buffer.from(batch))
      offset = base + batch.readInt32BE(23) + 1
    }
  }
  return { stored, end: offset }
}

/** Every batch in `everything` is stored byte for byte; the next append lands at `end` and joins `everything`. */
async function expectAllStoredThenAppend (log: PartitionLog, everything: Map<number, Buffer>, stored: Map<number, Buffer>, end: number): Promise<void> {
  const missingOrDifferent: number[] = []
  for (const [base, batch] of everything) if (stored.get(base)?.equals(batch) !== true) missingOrDifferent.push(base)
  expect(missingOrDifferent).toEqual([])
  const next = await log.append(makeSizedBatch(1, 1, 0))
  expect(next.baseOffset).toBe(end)
  // The extra batch is part of the log now; later rounds start after it.
  everything.set(next.baseOffset, withBaseOffset(makeSizedBatch(1, 1, 0), next.baseOffset))
}

// 'always': acknowledged means fdatasynced. 'interval': acknowledged means handed to the OS,
// which a killed process cannot take back either (the page cache outlives it).
test.each([['always', 6], ['interval', 3]] as const)('SIGKILL during flush=%s appends loses no acknowledged batch', async (flush, rounds) => {
  const directory = await mkdtemp(join(tmpdir(), 'sluice-kill-'))
  directories.push(directory)
  const everything = new Map<number, Buffer>()
  let totalAcks = 0
  for (let round = 0; round < rounds; round++) {
    const killAfter = 50 + Math.floor(Math.random() * 400)
    const { acks, startOffset } = await runAndKill(directory, round, killAfter, flush)
    totalAcks += acks.length
    for (const ack of acks) {
      expect(ack.baseOffset).toBeGreaterThanOrEqual(startOffset)
      everything.set(ack.baseOffset, withBaseOffset(makeSizedBatch(ack.count, ack.size, ack.seed), ack.baseOffset))
    }
    const manager = await LogManager.open({ directory, flush, logConfig: { segmentBytes: 256 * 1024, indexIntervalBytes: 1024 } })
    try {
      expect(manager.wasCleanShutdown).toBe(false)
      const log = manager.getLog('crash', 0)!
      const { stored, end } = await readVerified(log, 0)
      await expectAllStoredThenAppend(log, everything, stored, end)
    } finally {
      await manager.close()
    }
  }
  expect(totalAcks).toBeGreaterThan(0)
}, 120_000)

// Small segments: the log rolls every few batches, so the kill lands among rolls whose
// fdatasync runs in the background, while appenders also call flush() every 16 acknowledgements.
test('SIGKILL during flush=interval appends across segment rolls keeps every acknowledged and flushed batch', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'sluice-kill-roll-'))
  directories.push(directory)
  const segmentBytes = 16 * 1024
  const everything = new Map<number, Buffer>()
  let totalFlushed = 0
  let rolledRounds = 0
  for (let round = 0; round < 3; round++) {
    const killAfter = 150 + Math.floor(Math.random() * 300)
    const { acks, startOffset, flushedOffset } = await runAndKill(directory, round, killAfter, 'interval', [String(segmentBytes), '16'])
    const flushedAcks = acks.filter((ack) => ack.lastOffset < flushedOffset)
    totalFlushed += flushedAcks.length
    for (const ack of acks) everything.set(ack.baseOffset, withBaseOffset(makeSizedBatch(ack.count, ack.size, ack.seed), ack.baseOffset))
    const manager = await LogManager.open({ directory, flush: 'interval', logConfig: { segmentBytes, indexIntervalBytes: 1024 } })
    try {
      expect(manager.wasCleanShutdown).toBe(false)
      const log = manager.getLog('crash', 0)!
      if (log.segmentList().filter((segment) => segment.baseOffset > startOffset).length > 0) rolledRounds++
      expect(log.logEndOffset).toBeGreaterThanOrEqual(Math.max(flushedOffset, 0))
      const { stored, end } = await readVerified(log, log.logStartOffset)
      expect(end).toBe(log.logEndOffset)
      const lostFlushed = flushedAcks.filter((ack) => stored.get(ack.baseOffset)?.equals(everything.get(ack.baseOffset)!) !== true).map((ack) => ack.baseOffset)
      expect(lostFlushed).toEqual([])
      await expectAllStoredThenAppend(log, everything, stored, end)
    } finally {
      await manager.close()
    }
  }
  expect(totalFlushed).toBeGreaterThan(0)
  expect(rolledRounds).toBe(3)
}, 60_000)
