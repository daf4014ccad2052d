/**
 * Model test: random sequences of append / roll / read / flush / close+reopen / crash+reopen /
 * delete-oldest-segment against an in-memory model (a list of batches). flush 'always', so the
 * model after a crash is exactly what was acknowledged.
 */
import { fc, test } from '@fast-check/vitest'
import { afterEach, expect } from 'vitest'
import { LogManager } from '../../src/engine/log-manager.js'
import type { PartitionLog } from '../../src/engine/partition-log.js'
import { makeSizedBatch, splitBatches, withBaseOffset } from '../support/batches.js'
import { FaultyFileSystem } from '../support/faulty-fs.js'

interface Model { batches: Buffer[], logStart: number, nextOffset: number, seed: number }
interface Real { fs: FaultyFileSystem, manager: LogManager, log: PartitionLog }

const logConfig = { segmentBytes: 3000, indexIntervalBytes: 150, segmentIndexBytes: 1200 }
const open: LogManager[] = []
afterEach(async () => { while (open.length > 0) await open.pop()!.close().catch(() => {}) })

async function start (fs: FaultyFileSystem): Promise<{ manager: LogManager, log: PartitionLog }> {
  const manager = await LogManager.open({ directory: '/data', fs: fs.process(), flush: 'always', logConfig })
  open.push(manager)
  return { manager, log: await manager.createLog('model', 0) }
}

function lastOffsetOf (batch: Buffer): number { return Number(batch.readBigInt64BE(0)) + batch.readInt32BE(23) }

class Append implements fc.AsyncCommand<Model, Real> {
  constructor (readonly count: number, readonly size: number) {}
  check (): boolean { return true }
  async run (model: Model, real: Real): Promise<void> {
    const batch = makeSizedBatch(this.count, this.size, model.seed++)
    const result = await real.log.append(batch)
    expect(result).toMatchObject({ baseOffset: model.nextOffset, lastOffset: model.nextOffset + this.count - 1, durability: 'flushed' })
    model.batches.push(withBaseOffset(batch, result.baseOffset))
    model.nextOffset += this.count
    expect(real.log.logEndOffset).toBe(model.nextOffset)
    expect(real.log.highWatermark).toBe(model.nextOffset)
  }
  toString (): string { return `append(${this.count}x${this.size})` }
}

class Read implements fc.AsyncCommand<Model, Real> {
  constructor (readonly pick: number, readonly maxBytes: number) {}
  check (model: Model): boolean { return model.nextOffset > model.logStart }
  async run (model: Model, real: Real): Promise<void> {
    const offset = model.logStart + (this.pick % (model.nextOffset - model.logStart))
    const { records } = await real.log.read(offset, { maxBytes: this.maxBytes })
    const got = splitBatches(records)
    const index = model.batches.findIndex((batch) => lastOffsetOf(batch) >= offset)
    expect(got.length).toBeGreaterThan(0)
    got.forEach((batch, at) => { expect(Buffer.from(batch)).toEqual(model.batches[index + at]) })
    if (got.length > 1) expect(records.byteLength).toBeLessThanOrEqual(this.maxBytes)
  }
  toString (): string { return `read(${this.pick}, ${this.maxBytes})` }
}

class Roll implements fc.AsyncCommand<Model, Real> {
  check (): boolean { return true }
  async run (_model: Model, real: Real): Promise<void> { await real.log.rollActiveSegment() }
  toString (): string { return 'roll' }
}

class Flush implements fc.AsyncCommand<Model, Real> {
  check (): boolean { return true }
  async run (_model: Model, real: Real): Promise<void> { await real.log.flush() }
  toString (): string { return 'flush' }
}

class DeleteOldest implements fc.AsyncCommand<Model, Real> {
  check (): boolean { return true }
  async run (model: Model, real: Real): Promise<void> {
    const segments = real.log.segmentList()
    if (segments.length < 2) return
    const next = segments[1]!.baseOffset
    await real.log.deleteOldestSegments(1)
    model.logStart = Math.max(model.logStart, next)
    model.batches = model.batches.filter((batch) => lastOffsetOf(batch) >= model.logStart)
    expect(real.log.logStartOffset).toBe(model.logStart)
  }
  toString (): string { return 'deleteOldest' }
}

class Reopen implements fc.AsyncCommand<Model, Real> {
  constructor (readonly crash: boolean) {}
  check (): boolean { return true }
  async run (model: Model, real: Real): Promise<void> {
    if (this.crash) real.fs.crash()
    else await real.manager.close()
    const next = await start(real.fs)
    real.manager = next.manager
    real.log = next.log
    expect(real.log.logEndOffset).toBe(model.nextOffset)
    expect(real.log.logStartOffset).toBeLessThanOrEqual(model.logStart)
    if (real.log.logStartOffset < model.logStart) real.log.advanceLogStartOffset(model.logStart)
  }
  toString (): string { return this.crash ? 'crash+reopen' : 'close+reopen' }
}

const commands = [
  fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 400 })).map(([count, size]) => new Append(count, size)),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 5000 })).map(([pick, maxBytes]) => new Read(pick, maxBytes)),
  fc.constant(new Roll()),
  fc.constant(new Flush()),
  fc.constant(new DeleteOldest()),
  fc.boolean().map((crash) => new Reopen(crash))
]

test.prop([fc.commands(commands, { maxCommands: 40 })], { numRuns: 60 })('the log behaves like a list of batches', async (program) => {
  const fs = new FaultyFileSystem()
  await fs.mkdir('/data')
  const { manager, log } = await start(fs)
  const model: Model = { batches: [], logStart: 0, nextOffset: 0, seed: 0 }
  await fc.asyncModelRun(() => ({ model, real: { fs, manager, log } }), program)
})
