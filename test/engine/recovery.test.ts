/**
 * Recovery from damaged segment files: truncation at random byte positions and bit flips
 * (property tests over many seeds). After an unclean open the log must end at the last whole
 * valid batch (length, magic 2, CRC-32C, offsets not going backwards), later segments must be
 * gone, indexes must agree with the data, and appends must continue at the next offset.
 */
import { fc, test } from '@fast-check/vitest'
import { afterEach, describe, expect } from 'vitest'
import { crc32c } from '../../src/io/crc32c.js'
import { FileCache } from '../../src/engine/file-cache.js'
import { DataLayout } from '../../src/engine/layout.js'
import { PartitionLog } from '../../src/engine/partition-log.js'
import { makeSizedBatch, splitBatches } from '../support/batches.js'
import { FaultyFileSystem } from '../support/faulty-fs.js'

const DIRECTORY = '/data'
const layout = new DataLayout(DIRECTORY).partition('events', 0)
const config = { segmentBytes: 3000, indexIntervalBytes: 200, segmentIndexBytes: 1200 }
const opened: Array<{ log: PartitionLog, files: FileCache }> = []

afterEach(async () => {
  while (opened.length > 0) {
    const { log, files } = opened.pop()!
    await log.close().catch(() => {})
    await files.closeAll()
  }
})

async function open (fs: FaultyFileSystem, recoveryPoint?: number): Promise<PartitionLog> {
  const files = new FileCache(fs, 16)
  const options: Parameters<typeof PartitionLog.open>[0] = { layout, files, flush: 'interval', config }
  if (recoveryPoint !== undefined) options.recoveryPoint = recoveryPoint
  const log = await PartitionLog.open(options)
  opened.push({ log, files })
  return log
}

/** Builds a closed log of `sizes.length` batches; returns the file system. */
async function buildLog (sizes: number[]): Promise<FaultyFileSystem> {
  const fs = new FaultyFileSystem()
  await fs.mkdir(DIRECTORY)
  const log = await open(fs)
  for (let index = 0; index < sizes.length; index++) {
    await log.append(makeSizedBatch(1 + (index % 3), sizes[index]!, index, 1_700_000_000_000 + index * 1000))
  }
  await log.close()
  return fs
}

function segmentPaths (fs: FaultyFileSystem): string[] {
  const paths: string[] = []
  for (let base = 0; base < 100_000; base++) {
    if (fs.contents(layout.logFile(base)) !== undefined) paths.push(layout.logFile(base))
  }
  return paths
}

/** The oracle: the valid prefix of the segment files, written independently of the engine's scanner. */
function expectedBatches (fs: FaultyFileSystem): Buffer[] {
  const result: Buffer[] = []
  let expectedOffset = 0
  for (const path of segmentPaths(fs)) {
    const bytes = Buffer.from(fs.contents(path)!)
    // Index entries hold offsets relative to the segment's base as int32: nothing past that is valid.
    const maximumOffset = Number(path.slice(-24, -4)) + 0x7fffffff
    let at = 0
    while (at < bytes.length) {
      if (bytes.length - at < 61) return result
      const size = bytes.readInt32BE(at + 8) + 12
      if (size < 61 || at + size > bytes.length) return result
      if (bytes.readInt8(at + 16) !== 2) return result
      const base = Number(bytes.readBigInt64BE(at))
      const delta = bytes.readInt32BE(at + 23)
      if (!Number.isSafeInteger(base + delta) || base < expectedOffset || delta < 0 || base + delta > maximumOffset) return result
      if (crc32c(bytes.subarray(at + 21, at + size)) !== bytes.readUInt32BE(at + 17)) return result
      result.push(Buffer.from(bytes.subarray(at, at + size)))
      expectedOffset = base + delta + 1
      at += size
    }
  }
  return result
}

async function readEverything (log: PartitionLog): Promise<Buffer[]> {
  const batches: Buffer[] = []
  let offset = log.logStartOffset
  while (offset < log.highWatermark) {
    const { records } = await log.read(offset, { maxBytes: 1000 })
    const split = splitBatches(records)
    expect(split.length).toBeGreaterThan(0)
    for (const batch of split) {
      batches.push(Buffer.from(batch))
      offset = Number(batch.readBigInt64BE(0)) + batch.readInt32BE(23) + 1
    }
  }
  return batches
}

/** Every batch is found by a read of each of its offsets, and every index entry points at a batch ending there. */
async function checkIndexes (log: PartitionLog, batches: Buffer[]): Promise<void> {
  for (const batch of batches) {
    const base = Number(batch.readBigInt64BE(0))
    const last = base + batch.readInt32BE(23)
    for (const offset of new Set([base, last])) {
      const { records } = await log.read(offset, { maxBytes: 1 })
      expect(Buffer.from(splitBatches(records)[0]!)).toEqual(batch)
    }
  }
  for (const segment of log.segmentList()) {
    await segment.ensureIndexes()
    for (let index = 0; index < segment.offsetIndex.entries; index++) {
      const entry = segment.offsetIndex.entryAt(index)
      const header = Buffer.from(await segment.readAt(entry.position, 61))
      expect(Number(header.readBigInt64BE(0)) + header.readInt32BE(23)).toBe(entry.offset)
    }
  }
}

const sizesArbitrary = fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 30 })

describe('recovery of damaged segments', () => {
  test.prop([sizesArbitrary, fc.nat(), fc.double({ min: 0, max: 1, noNaN: true })], { numRuns: 60 })(
    'truncation at a random byte: the log ends at the last whole batch',
    async (sizes, segmentChoice, cutFraction) => {
      const fs = await buildLog(sizes)
      const paths = segmentPaths(fs)
      const path = paths[segmentChoice % paths.length]!
      const bytes = fs.contents(path)!
      const cut = Math.floor(bytes.byteLength * cutFraction)
      fs.setContents(path, bytes.slice(0, cut))
      const expected = expectedBatches(fs)
      const log = await open(fs, 0)
      const actual = await readEverything(log)
      expect(actual).toEqual(expected)
      const last = expected[expected.length - 1]
      const nextOffset = last === undefined ? 0 : Number(last.readBigInt64BE(0)) + last.readInt32BE(23) + 1
      expect(log.logEndOffset).toBe(nextOffset)
      await checkIndexes(log, expected)
      const result = await log.append(makeSizedBatch(2, 10, 99))
      expect(result.baseOffset).toBe(nextOffset)
    }
  )

  test.prop([sizesArbitrary, fc.nat(), fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 4 })], { numRuns: 80 })(
    'bit flips anywhere: open succeeds and the log ends at the last valid batch',
    async (sizes, segmentChoice, flips) => {
      const fs = await buildLog(sizes)
      const paths = segmentPaths(fs)
      const path = paths[segmentChoice % paths.length]!
      const bytes = fs.contents(path)!.slice()
      for (const [where, bit] of flips) {
        const at = Math.min(bytes.byteLength - 1, Math.floor(bytes.byteLength * where))
        bytes[at]! ^= 1 << bit
      }
      fs.setContents(path, bytes)
      const expected = expectedBatches(fs)
      const log = await open(fs, 0)
      expect(await readEverything(log)).toEqual(expected)
      await checkIndexes(log, expected)
      const last = expected[expected.length - 1]
      const nextOffset = last === undefined ? 0 : Number(last.readBigInt64BE(0)) + last.readInt32BE(23) + 1
      expect((await log.append(makeSizedBatch(1, 10, 7))).baseOffset).toBe(nextOffset)
    }
  )

  test('a flipped bit in a base offset (not covered by the CRC) that leaves the segment\'s int32 range ends the log there', async () => {
    const fs = await buildLog([19, 74, 323])
    const path = layout.logFile(0)
    const bytes = fs.contents(path)!.slice()
    bytes[1]! ^= 1 // the first batch's base offset becomes 2^48
    fs.setContents(path, bytes)
    expect(expectedBatches(fs)).toEqual([])
    const log = await open(fs, 0)
    expect(log.logEndOffset).toBe(0)
    expect((await log.append(makeSizedBatch(1, 10, 7))).baseOffset).toBe(0)
  })

  test.prop([sizesArbitrary, fc.nat(), fc.uint8Array({ minLength: 0, maxLength: 64 }), fc.boolean()], { numRuns: 40 })(
    'damaged or missing index files after a clean shutdown are rebuilt',
    async (sizes, segmentChoice, garbage, remove) => {
      const fs = await buildLog(sizes)
      const expected = expectedBatches(fs)
      const paths = segmentPaths(fs)
      const base = Number(paths[segmentChoice % paths.length]!.slice(-24, -4))
      for (const indexPath of [layout.offsetIndexFile(base), layout.timeIndexFile(base)]) {
        if (remove) await fs.unlink(indexPath)
        else fs.setContents(indexPath, garbage)
      }
      const log = await open(fs)
      expect(await readEverything(log)).toEqual(expected)
      await checkIndexes(log, expected)
    }
  )

  test('a torn tail written by a crash is cut and appends continue', async () => {
    const fs = await buildLog([100, 200, 300])
    const path = layout.logFile(0)
    const bytes = fs.contents(path)!
    const partial = makeSizedBatch(3, 50, 5)
    fs.setContents(path, Buffer.concat([bytes, partial.subarray(0, 70)]))
    const log = await open(fs, 0)
    expect(log.logEndOffset).toBe(1 + 2 + 3)
    expect(fs.contents(path)!.byteLength).toBe(bytes.byteLength)
    expect((await log.append(partial)).baseOffset).toBe(6)
  })
})

describe('recovery across read windows', () => {
  test('batches straddling the 8 MiB scan windows are checked whole; a torn last batch is cut', async () => {
    const fs = new FaultyFileSystem()
    await fs.mkdir(DIRECTORY)
    const files = new FileCache(fs, 16)
    const bigConfig = { segmentBytes: 64 * 1024 * 1024, indexIntervalBytes: 4096, segmentIndexBytes: 1024 * 1024 }
    const log = await PartitionLog.open({ layout, files, flush: 'interval', config: bigConfig })
    let expectedEnd = 0
    for (let index = 0; index < 90; index++) {
      // 250-330 KB batches: boundaries fall at arbitrary places relative to the windows.
      const result = await log.append(makeSizedBatch(30, 8000 + (index % 7) * 450, index))
      expectedEnd = result.lastOffset + 1
    }
    await log.close()
    await files.closeAll()
    const path = layout.logFile(0)
    const full = fs.contents(path)!.slice()
    expect(full.byteLength).toBeGreaterThan(2 * 8 * 1024 * 1024)

    const reopenedFiles = new FileCache(fs, 16)
    const reopened = await PartitionLog.open({ layout, files: reopenedFiles, flush: 'interval', config: bigConfig, recoveryPoint: 0 })
    expect(reopened.logEndOffset).toBe(expectedEnd)
    await reopened.close()
    await reopenedFiles.closeAll()

    // Cut in the middle of the last batch: everything before it stays.
    fs.setContents(path, full.subarray(0, full.byteLength - 1000))
    const tornFiles = new FileCache(fs, 16)
    const torn = await PartitionLog.open({ layout, files: tornFiles, flush: 'interval', config: bigConfig, recoveryPoint: 0 })
    expect(torn.logEndOffset).toBe(expectedEnd - 30)
    // A flipped bit in a batch that straddles the first window boundary ends the log before it.
    await torn.close()
    await tornFiles.closeAll()
    const flipped = full.slice()
    flipped[8 * 1024 * 1024 + 10]! ^= 0x40
    fs.setContents(path, flipped)
    const flippedFiles = new FileCache(fs, 16)
    const damaged = await PartitionLog.open({ layout, files: flippedFiles, flush: 'interval', config: bigConfig, recoveryPoint: 0 })
    expect(damaged.logEndOffset).toBeLessThan(expectedEnd)
    expect(damaged.logEndOffset % 30).toBe(0)
    const { records } = await damaged.read(damaged.logEndOffset - 1)
    expect(splitBatches(records).length).toBe(1)
    expect(fs.contents(path)!.byteLength).toBeLessThanOrEqual(8 * 1024 * 1024 + 10)
    await damaged.close()
    await flippedFiles.closeAll()
  })
})
