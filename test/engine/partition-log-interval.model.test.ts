/**
 * Model test of the write path under flush 'interval' and 'never': small segments (rolls and
 * background fdatasyncs of rolled segments all the time), several appends in flight at once,
 * flushes, rolls, reads, deletion of the oldest segment, checkpoints, fdatasyncs parked on a
 * slow "disk" and released later, clean close and power loss (`FaultyFileSystem.crash`).
 *
 * Every batch is identifiable from its bytes (baseTimestamp = T0 + seed), so any batch read back
 * is compared byte for byte with the batch appended. Invariants:
 * - offsets are contiguous, a batch never appears twice, acknowledged offsets never change;
 * - after a power loss the log is a contiguous prefix of what was appended, holding at least
 *   everything below `logEndOffset` as it was when a `flush()` that resolved before the crash
 *   was called; after a clean close it holds exactly the acknowledged appends;
 * - `recoveryPoint <= highWatermark <= logEndOffset` after every step;
 * - reads never return a batch at or past the high watermark;
 * - every rejection is a SluiceError.
 */
import { fc, test } from '@fast-check/vitest'
import { afterEach, describe, expect } from 'vitest'
import { isSluiceError } from '../../src/core/errors.js'
import { LogManager } from '../../src/engine/log-manager.js'
import type { FlushPolicy, PartitionLog, PartitionLogConfig } from '../../src/engine/partition-log.js'
import { makeSizedBatch, splitBatches, withBaseOffset } from '../support/batches.js'
import { FaultyFileSystem } from '../support/faulty-fs.js'

const T0 = 1_700_000_000_000
const TOPIC = 'model'

interface Variant {
  name: string
  flush: FlushPolicy
  logConfig: Partial<PartitionLogConfig>
  /** Record values: count per batch and bytes per record. */
  countMax: number
  sizeMax: number
  /** Appends issued in the same tick by one command. */
  burstMax: number
  /** The manager's own 'interval' flush timer (ms); undefined: effectively off. */
  flushTickMs: number | undefined
  numRuns: number
  maxCommands: number
}

interface Pending { seed: number, generation: number, promise: Promise<void> }

interface Model {
  generation: number
  /** base offset -> seed, for batches known to be in the current log (acknowledged or read back). */
  known: Map<number, number>
  /** seed -> where it was seen, to detect a batch stored twice. */
  seenAt: Map<number, number>
  /** seed -> the appended batch (baseOffset 0) and its record count. */
  batches: Map<number, { bytes: Buffer, count: number }>
  nextSeed: number
  pending: Set<Pending>
  /** Operations that may wait on a parked fdatasync, settled before close or after a crash. */
  background: Set<Promise<void>>
  /** Offsets below must survive a power loss (a flush covering them resolved). */
  flushedFloor: number
  holds: Array<() => void>
  /** Rejections that were not SluiceErrors, or broken expectations seen in callbacks. */
  violations: string[]
}

interface Real { fs: FaultyFileSystem, manager: LogManager, log: PartitionLog, variant: Variant }

const managers: LogManager[] = []
afterEach(async () => { while (managers.length > 0) await managers.pop()!.close().catch(() => {}) })

async function start (fs: FaultyFileSystem, variant: Variant): Promise<{ manager: LogManager, log: PartitionLog }> {
  const manager = await LogManager.open({
    directory: '/data',
    fs: fs.process(),
    flush: variant.flush,
    logConfig: variant.logConfig,
    checkpointIntervalMs: 3_600_000,
    flushCheckIntervalMs: variant.flushTickMs ?? 3_600_000
  })
  managers.push(manager)
  return { manager, log: manager.getLog(TOPIC, 0) ?? await manager.createLog(TOPIC, 0) }
}

function seedOf (batch: Buffer): number { return Number(batch.readBigInt64BE(27)) - T0 }
function baseOf (batch: Buffer): number { return Number(batch.readBigInt64BE(0)) }
function lastOf (batch: Buffer): number { return baseOf(batch) + batch.readInt32BE(23) }

function describeError (error: unknown): string {
  return isSluiceError(error) ? `SluiceError ${(error as { code: string }).code}` : `non-SluiceError ${String(error)} ${(error as Error)?.stack ?? ''}`
}

function checkOffsets (model: Model, log: PartitionLog, where: string): void {
  const { recoveryPoint, highWatermark, logEndOffset, logStartOffset } = log
  if (!(recoveryPoint <= highWatermark && highWatermark <= logEndOffset && logStartOffset <= highWatermark)) {
    model.violations.push(`${where}: recoveryPoint ${recoveryPoint}, logStart ${logStartOffset}, highWatermark ${highWatermark}, logEnd ${logEndOffset}`)
  }
}

/** Checks one batch read back from the log against what was appended and what is known. */
function checkStoredBatch (model: Model, batch: Buffer, where: string): void {
  const seed = seedOf(batch)
  const base = baseOf(batch)
  const original = model.batches.get(seed)
  expect(original, `${where}: batch at ${base} with unknown seed ${seed}`).toBeDefined()
  expect(batch.equals(withBaseOffset(original!.bytes, base)), `${where}: batch at ${base} (seed ${seed}) differs from the appended bytes`).toBe(true)
  const knownSeed = model.known.get(base)
  if (knownSeed !== undefined) expect(seed, `${where}: offset ${base} holds seed ${seed}, acknowledged as seed ${knownSeed}`).toBe(knownSeed)
  const seen = model.seenAt.get(seed)
  if (seen !== undefined) expect(seen, `${where}: seed ${seed} stored at ${base} and at ${seen}`).toBe(base)
  model.seenAt.set(seed, base)
}

/** Reads the whole log from its start to the high watermark, checking every batch; returns them. */
async function scan (model: Model, log: PartitionLog, where: string): Promise<Buffer[]> {
  const batches: Buffer[] = []
  let offset = log.logStartOffset
  // Bounded: each read returns at least one batch below the high watermark or the loop ends.
  while (offset < log.highWatermark) {
    const { records, highWatermark } = await log.read(offset, { maxBytes: 64 * 1024 })
    const got = splitBatches(records)
    expect(got.length, `${where}: empty read at ${offset} below high watermark ${highWatermark}`).toBeGreaterThan(0)
    for (const raw of got) {
      const batch = Buffer.from(raw)
      if (batches.length === 0) expect(baseOf(batch)).toBeLessThanOrEqual(offset)
      else expect(baseOf(batch), `${where}: offsets not contiguous`).toBe(offset)
      expect(lastOf(batch)).toBeLessThan(highWatermark)
      checkStoredBatch(model, batch, where)
      batches.push(batch)
      offset = lastOf(batch) + 1
    }
  }
  return batches
}

/**
 * Lets an operation that may wait on a parked fdatasync run on. `strict`: it must reject with a
 * SluiceError even after a power loss; otherwise only while its engine is alive (the
 * manager's checkpoint file writes and the log's segment deletion pass the file system's
 * errors through unwrapped, seen only once the "disk" is gone).
 */
function track (model: Model, promise: Promise<unknown>, what: string, strict = true): void {
  const generation = model.generation
  const settled = promise.then(() => {}, (error: unknown) => {
    if (!isSluiceError(error) && (strict || model.generation === generation)) model.violations.push(`${what} rejected with ${describeError(error)}`)
  })
  model.background.add(settled)
  void settled.finally(() => model.background.delete(settled))
}

class Append implements fc.AsyncCommand<Model, Real> {
  constructor (readonly shapes: ReadonlyArray<readonly [number, number]>, readonly wait: boolean) {}
  check (): boolean { return true }
  async run (model: Model, real: Real): Promise<void> {
    const generation = model.generation
    const issued: Array<{ seed: number, promise: Promise<void> }> = []
    const offsets: number[] = []
    // Issued in one tick: they go out in one write (or a roll in between), in call order.
    for (const [count, size] of this.shapes) {
      const seed = model.nextSeed++
      const bytes = makeSizedBatch(count, size, seed, T0 + seed)
      model.batches.set(seed, { bytes, count })
      const index = offsets.length
      offsets.push(-1)
      const log = real.log
      const promise = log.append(bytes).then((result) => {
        offsets[index] = result.baseOffset
        if (model.generation !== generation) return
        // 'interval' and 'never' acknowledge once the batch was handed to the OS.
        if (result.lastOffset !== result.baseOffset + count - 1 || result.durability !== 'written') {
          model.violations.push(`append seed ${seed}: result ${JSON.stringify(result)} for ${count} records`)
        }
        const knownSeed = model.known.get(result.baseOffset)
        if (knownSeed !== undefined && knownSeed !== seed) model.violations.push(`offset ${result.baseOffset} acknowledged for seeds ${knownSeed} and ${seed}`)
        if (result.lastOffset >= log.logEndOffset) model.violations.push(`append seed ${seed} acknowledged at ${result.lastOffset} >= logEndOffset ${log.logEndOffset}`)
        model.known.set(result.baseOffset, seed)
      }, (error: unknown) => {
        if (!isSluiceError(error)) model.violations.push(`append seed ${seed} rejected with ${describeError(error)}`)
        else if (model.generation === generation && (error as { code: string }).code !== 'SLUICE_CLOSED') {
          model.violations.push(`append seed ${seed} rejected without a fault: ${describeError(error)}`)
        }
      })
      const pending: Pending = { seed, generation, promise }
      model.pending.add(pending)
      void promise.finally(() => model.pending.delete(pending))
      issued.push({ seed, promise })
    }
    if (!this.wait) return
    await Promise.all(issued.map((entry) => entry.promise))
    if (model.generation !== generation) return
    for (let index = 1; index < offsets.length; index++) {
      if (offsets[index - 1]! >= 0 && offsets[index]! >= 0) expect(offsets[index]!, 'same-tick appends out of call order').toBeGreaterThan(offsets[index - 1]!)
    }
  }

  toString (): string { return `append(${this.shapes.map(([count, size]) => `${count}x${size}`).join(',')}${this.wait ? '' : ', no wait'})` }
}

class Flush implements fc.AsyncCommand<Model, Real> {
  check (): boolean { return true }
  async run (model: Model, real: Real): Promise<void> {
    const generation = model.generation
    const floor = real.log.logEndOffset
    const flushing = real.log.flush().then(() => {
      if (model.generation === generation) model.flushedFloor = Math.max(model.flushedFloor, floor)
    })
    if (model.holds.length > 0) { track(model, flushing, 'flush'); return }
    await flushing
  }

  toString (): string { return 'flush' }
}

class Roll implements fc.AsyncCommand<Model, Real> {
  check (): boolean { return true }
  async run (_model: Model, real: Real): Promise<void> { await real.log.rollActiveSegment() }
  toString (): string { return 'roll' }
}

class Checkpoint implements fc.AsyncCommand<Model, Real> {
  check (): boolean { return true }
  async run (model: Model, real: Real): Promise<void> {
    const checkpointing = real.manager.checkpoint()
    if (model.holds.length > 0) { track(model, checkpointing, 'checkpoint', false); return }
    await checkpointing
  }

  toString (): string { return 'checkpoint' }
}

class Read implements fc.AsyncCommand<Model, Real> {
  constructor (readonly pick: number, readonly maxBytes: number) {}
  check (): boolean { return true }
  async run (model: Model, real: Real): Promise<void> {
    const log = real.log
    const start = log.logStartOffset
    const end = log.logEndOffset
    const offset = start + (this.pick % (end - start + 1))
    const highWatermarkBefore = log.highWatermark
    const { records, highWatermark } = await log.read(offset, { maxBytes: this.maxBytes })
    const got = splitBatches(records).map((batch) => Buffer.from(batch))
    if (offset < highWatermarkBefore) expect(got.length, `read at ${offset} below high watermark ${highWatermarkBefore} returned nothing`).toBeGreaterThan(0)
    if (offset >= highWatermark) expect(got.length).toBe(0)
    let expected = offset
    got.forEach((batch, index) => {
      if (index === 0) {
        expect(baseOf(batch)).toBeLessThanOrEqual(offset)
        expect(lastOf(batch)).toBeGreaterThanOrEqual(offset)
      } else {
        expect(baseOf(batch), 'read returned non-contiguous batches').toBe(expected)
      }
      expect(lastOf(batch), `read returned offset ${lastOf(batch)} past high watermark ${highWatermark}`).toBeLessThan(highWatermark)
      checkStoredBatch(model, batch, `read(${offset})`)
      expected = lastOf(batch) + 1
    })
    if (got.length > 1) expect(records.byteLength).toBeLessThanOrEqual(this.maxBytes)
  }

  toString (): string { return `read(${this.pick}, ${this.maxBytes})` }
}

class DeleteOldest implements fc.AsyncCommand<Model, Real> {
  check (): boolean { return true }
  async run (model: Model, real: Real): Promise<void> {
    const log = real.log
    const generation = model.generation
    const deleting = log.deleteOldestSegments(1).then(() => {
      if (model.generation !== generation) return
      const first = log.segmentList()[0]!.baseOffset
      if (log.logStartOffset < first) model.violations.push(`logStartOffset ${log.logStartOffset} below first segment ${first}`)
    })
    if (model.holds.length > 0) { track(model, deleting, 'deleteOldestSegments', false); return }
    await deleting
  }

  toString (): string { return 'deleteOldest' }
}

/** Parks fdatasyncs (the active segment's log, every log, or the index files) until released. */
class Hold implements fc.AsyncCommand<Model, Real> {
  constructor (readonly what: 'active' | 'logs' | 'indexes') {}
  check (model: Model): boolean { return model.holds.length < 3 }
  async run (model: Model, real: Real): Promise<void> {
    const active = real.log.activeSegment.logFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    const pattern = this.what === 'active' ? new RegExp(`${active}$`) : this.what === 'logs' ? /\.log$/ : /\.(index|timeindex)$/
    model.holds.push(real.fs.holdDatasync(pattern))
  }

  toString (): string { return `hold(${this.what})` }
}

class Release implements fc.AsyncCommand<Model, Real> {
  check (model: Model): boolean { return model.holds.length > 0 }
  async run (model: Model): Promise<void> {
    model.holds.shift()!()
    await new Promise((resolve) => setImmediate(resolve))
  }

  toString (): string { return 'release' }
}

function releaseAll (model: Model): void {
  for (const release of model.holds.splice(0)) release()
}

async function settleAll (model: Model): Promise<void> {
  // Bounded: nothing new is issued while settling; each round awaits what is outstanding.
  for (let round = 0; round < 10 && (model.pending.size > 0 || model.background.size > 0); round++) {
    await Promise.allSettled([...[...model.pending].map((entry) => entry.promise), ...model.background])
  }
  expect(model.pending.size + model.background.size, 'operations still outstanding').toBe(0)
}

class Reopen implements fc.AsyncCommand<Model, Real> {
  constructor (readonly crash: boolean) {}
  check (): boolean { return true }
  async run (model: Model, real: Real): Promise<void> {
    const old = real.manager
    if (this.crash) {
      // Power loss at any moment: rolls and rolled segments' background fdatasyncs may be in
      // flight (recovery must end the log at a hole they leave).
      real.fs.crash()
      model.generation++
      releaseAll(model)
      await settleAll(model)
      await old.close().catch(() => {})
      // A name operation (open with create, rename, unlink, directory sync) that the dead engine
      // issued just before the crash may still complete after it in the in-memory file system.
      // It counts as done just before the power cut: cut again, so only what is durable remains.
      real.fs.crash()
    } else {
      releaseAll(model)
      await old.close()
      await settleAll(model)
      model.generation++
    }
    managers.splice(managers.indexOf(old), 1)
    const next = await start(real.fs, real.variant)
    real.manager = next.manager
    real.log = next.log
    const log = real.log
    expect(log.highWatermark).toBe(log.logEndOffset)
    const batches = await scan(model, log, this.toString())
    const end = log.logEndOffset
    if (this.crash) {
      expect(end, `power loss lost flushed data: logEndOffset ${end} < flushed ${model.flushedFloor}`).toBeGreaterThanOrEqual(model.flushedFloor)
    } else {
      // Clean close: exactly the acknowledged appends, nothing else.
      const acknowledged = [...model.known.keys()].filter((base) => base >= log.logStartOffset).sort((a, b) => a - b)
      expect(batches.map(baseOf)).toEqual(acknowledged)
    }
    // Acknowledged batches past the end were lost (allowed only in a power loss, checked above).
    model.known = new Map(batches.map((batch) => [baseOf(batch), seedOf(batch)]))
    model.seenAt = new Map(batches.map((batch) => [seedOf(batch), baseOf(batch)]))
    model.flushedFloor = Math.min(model.flushedFloor, end)
    checkOffsets(model, log, this.toString())
  }

  toString (): string { return this.crash ? 'crash+reopen' : 'close+reopen' }
}

function commandsFor (variant: Variant): Array<fc.Arbitrary<fc.AsyncCommand<Model, Real>>> {
  const shape = fc.tuple(fc.integer({ min: 1, max: variant.countMax }), fc.integer({ min: 1, max: variant.sizeMax }))
  return [
    fc.tuple(fc.array(shape, { minLength: 1, maxLength: variant.burstMax }), fc.boolean()).map(([shapes, wait]) => new Append(shapes, wait)),
    fc.tuple(fc.array(shape, { minLength: 1, maxLength: variant.burstMax }), fc.boolean()).map(([shapes, wait]) => new Append(shapes, wait)),
    fc.tuple(fc.nat(), fc.integer({ min: 1, max: 8000 })).map(([pick, maxBytes]) => new Read(pick, maxBytes)),
    fc.constant(new Flush()),
    fc.constant(new Roll()),
    fc.constant(new Checkpoint()),
    fc.constant(new DeleteOldest()),
    fc.constantFrom('active', 'logs', 'indexes').map((what) => new Hold(what as 'active' | 'logs' | 'indexes')),
    fc.constant(new Release()),
    fc.boolean().map((crash) => new Reopen(crash)),
    fc.constant(new Reopen(true))
  ].map((arbitrary) => arbitrary.map(checked))
}

/** The command, followed by the checks that hold after every step. */
function checked (command: fc.AsyncCommand<Model, Real>): fc.AsyncCommand<Model, Real> {
  return {
    check: (model) => command.check(model),
    run: async (model, real) => {
      await command.run(model, real)
      checkOffsets(model, real.log, command.toString())
      expect(model.violations, `after ${command.toString()}`).toEqual([])
    },
    toString: () => command.toString()
  }
}

const small = { segmentBytes: 3000, indexIntervalBytes: 150, segmentIndexBytes: 240 }
const variants: Variant[] = [
  { name: "flush 'interval', small segments", flush: 'interval', logConfig: small, countMax: 5, sizeMax: 400, burstMax: 4, flushTickMs: undefined, numRuns: 200, maxCommands: 50 },
  { name: "flush 'never', small segments", flush: 'never', logConfig: small, countMax: 5, sizeMax: 400, burstMax: 4, flushTickMs: undefined, numRuns: 100, maxCommands: 50 },
  { name: "flush 'interval', manager flush timer at 1 ms", flush: 'interval', logConfig: { ...small, flushMs: 1 }, countMax: 5, sizeMax: 400, burstMax: 4, flushTickMs: 1, numRuns: 60, maxCommands: 50 },
  // Batches of up to ~400 KB, several per tick: staged bytes exceed the 1 MiB write pieces.
  { name: "flush 'interval', 1 MiB write pieces", flush: 'interval', logConfig: { segmentBytes: 3 * 1024 * 1024, indexIntervalBytes: 64 * 1024, segmentIndexBytes: 4096 }, countMax: 4, sizeMax: 100_000, burstMax: 6, flushTickMs: undefined, numRuns: 30, maxCommands: 25 }
]

describe.each(variants)('$name', (variant) => {
  test.prop([fc.commands(commandsFor(variant), { maxCommands: variant.maxCommands, size: 'max' })], { numRuns: variant.numRuns })('the log is a list of batches that survives what it promised', async (program) => {
    const fs = new FaultyFileSystem()
    await fs.mkdir('/data')
    const { manager, log } = await start(fs, variant)
    const model: Model = {
      generation: 0,
      known: new Map(),
      seenAt: new Map(),
      batches: new Map(),
      nextSeed: 0,
      pending: new Set(),
      background: new Set(),
      flushedFloor: 0,
      holds: [],
      violations: []
    }
    const real: Real = { fs, manager, log, variant }
    try {
      await fc.asyncModelRun(() => ({ model, real }), program)
      // Final: a clean close keeps everything acknowledged.
      await new Reopen(false).run(model, real)
      expect(model.violations).toEqual([])
    } finally {
      releaseAll(model)
    }
  }, 60_000)
})
