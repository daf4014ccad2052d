import { spawn } from 'node:child_process'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, test } from 'vitest'
import { LogManager } from '../../src/engine/log-manager.js'
import type { PartitionLog } from '../../src/engine/partition-log.js'
import { nodeFileSystem } from '../../src/io/file-system.js'
import { batchesIn } from '../../src/io/record-batch.js'
import { KEYS, SEGMENT_BYTES, roundBatch } from './compaction-crash-child.js'

const childScript = fileURLToPath(new URL('./compaction-crash-child.ts', import.meta.url))
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!()
})

interface Acked { offset: number, round: number }

/** Starts the child, waits `killAfterMs` after it is ready, SIGKILLs it; returns the acknowledged appends. */
async function runAndKill (directory: string, mode: 'compact' | 'retention', firstRound: number, killAfterMs: number): Promise<Acked[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', childScript, directory, mode, String(firstRound)], { stdio: ['ignore', 'pipe', 'pipe'] })
  const acked: Acked[] = []
  let buffered = ''
  let errors = ''
  let ready: () => void = () => {}
  const readyPromise = new Promise<void>((resolve) => { ready = resolve })
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (chunk: string) => {
    buffered += chunk
    let newline = buffered.indexOf('\n')
    while (newline >= 0) {
      const line = buffered.slice(0, newline)
      buffered = buffered.slice(newline + 1)
      if (line === 'ready') ready()
      const match = /^ack (\d+) (\d+)$/.exec(line)
      if (match !== null) acked.push({ offset: Number(match[1]), round: Number(match[2]) })
      newline = buffered.indexOf('\n')
    }
  })
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (chunk: string) => { errors += chunk })
  const exited = new Promise<number | null>((resolve) => { child.on('exit', (code) => { resolve(code) }) })
  await Promise.race([readyPromise, exited])
  await new Promise((resolve) => setTimeout(resolve, killAfterMs))
  child.kill('SIGKILL')
  const code = await exited
  // A child that died on its own (code set) failed; SIGKILL leaves code null.
  expect(errors).toBe('')
  expect(code).toBeNull()
  return acked
}

interface Read { offset: number, key: string, value: string }

async function consume (log: PartitionLog): Promise<Read[]> {
  const out: Read[] = []
  let offset = log.logStartOffset
  while (offset < log.highWatermark) {
    const { records } = await log.read(offset, { maxBytes: 1 << 20 })
    let progressed = false
    for (const batch of batchesIn(records)) {
      for (const record of batch) {
        if (record.offset < offset) continue
        out.push({ offset: record.offset, key: Buffer.from(record.key!).toString(), value: Buffer.from(record.value!).toString() })
      }
      offset = batch.lastOffset + 1
      progressed = true
    }
    expect(progressed).toBe(true)
  }
  return out
}

/** The records round r appended, at base offset b. */
function roundRecords (acked: Acked): Read[] {
  const out: Read[] = []
  for (let k = 0; k < 3; k++) {
    const key = `k${(acked.round * 3 + k) % KEYS}`
    out.push({ offset: acked.offset + k, key, value: `${key}-r${acked.round}` })
  }
  return out
}

describe('SIGKILL during compaction and retention (d)', () => {
  for (const mode of ['compact', 'retention'] as const) {
    test(`${mode}: acknowledged data that should remain survives repeated SIGKILLs`, async () => {
      const directory = await mkdtemp(join(tmpdir(), `sluice-${mode}-kill-`))
      cleanups.push(async () => { await rm(directory, { recursive: true, force: true }) })
      const acked: Acked[] = []
      let round = 0
      // Kill points spread over the child's life: early (mid-setup), mid-run and late.
      const delays = [40, 150, 300, 90, 220, 400]
      for (const delay of delays) {
        const run = await runAndKill(directory, mode, round, delay)
        acked.push(...run)
        if (run.length > 0) round = run[run.length - 1]!.round + 1
        const manager = await LogManager.open({ directory, fs: nodeFileSystem, flush: 'always', logConfig: { segmentBytes: SEGMENT_BYTES, segmentIndexBytes: 4096 } })
        try {
          const log = manager.getLog('table', 0)
          if (log === undefined) { expect(acked).toEqual([]); continue }
          const records = await consume(log)
          // Never invented: every record read is one some round appended at that offset.
          const byOffset = new Map<number, Read>()
          for (const record of records) {
            expect(record.value).toMatch(new RegExp(`^${record.key}-r\\d+$`))
            byOffset.set(record.offset, record)
          }
          const appendedBefore = new Map<number, Read>()
          for (const entry of acked) for (const record of roundRecords(entry)) appendedBefore.set(record.offset, record)
          for (const record of records) {
            const known = appendedBefore.get(record.offset)
            if (known !== undefined) expect(record).toEqual(known)
          }
          const lastAcked = acked[acked.length - 1]
          if (lastAcked !== undefined) expect(log.logEndOffset).toBeGreaterThanOrEqual(lastAcked.offset + 3)
          if (mode === 'compact') {
            // Never lost: the newest acknowledged record of every key.
            const newest = new Map<string, Read>()
            for (const entry of acked) for (const record of roundRecords(entry)) newest.set(record.key, record)
            for (const record of newest.values()) {
              const found = records.filter((read) => read.key === record.key)
              expect(found.length).toBeGreaterThan(0)
              // The newest readable record of the key is at least as new as the newest acknowledged one.
              expect(found[found.length - 1]!.offset).toBeGreaterThanOrEqual(record.offset)
              if (byOffset.has(record.offset)) expect(byOffset.get(record.offset)).toEqual(record)
              else expect(found[found.length - 1]!.offset).toBeGreaterThan(record.offset)
            }
          } else {
            // Never lost: every acknowledged record from the log start on, and retention never
            // cut into the newest retention.bytes (4 segments) of acknowledged data.
            for (const entry of acked) {
              for (const record of roundRecords(entry)) {
                if (record.offset >= log.logStartOffset) expect(byOffset.get(record.offset)).toEqual(record)
              }
            }
            if (lastAcked !== undefined) {
              const keptBytes = log.segmentList().reduce((total, segment) => total + segment.size, 0)
              const ackedBytes = acked.reduce((total, entry) => total + roundBatch(entry.round).byteLength, 0)
              expect(keptBytes).toBeGreaterThanOrEqual(Math.min(SEGMENT_BYTES * 4, ackedBytes))
            }
          }
          const names = await readdir(join(directory, 'table-0'))
          expect(names.filter((name) => /\.(cleaned|swap)$/.test(name))).toEqual([])
        } finally {
          await manager.close()
        }
      }
      expect(acked.length).toBeGreaterThan(10)
    }, 120_000)
  }
})
