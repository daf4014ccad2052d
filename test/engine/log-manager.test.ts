import { afterEach, describe, expect, test } from 'vitest'
import { isSluiceError } from '../../src/core/errors.js'
import { LogManager } from '../../src/engine/log-manager.js'
import { makeSizedBatch, splitBatches } from '../support/batches.js'
import { FaultyFileSystem } from '../support/faulty-fs.js'

const managers: LogManager[] = []
afterEach(async () => {
  while (managers.length > 0) await managers.pop()!.close().catch(() => {})
})

async function open (fs: FaultyFileSystem, options: Partial<Parameters<typeof LogManager.open>[0]> = {}): Promise<LogManager> {
  const manager = await LogManager.open({ directory: '/data', fs: fs.process(), logConfig: { segmentIndexBytes: 1200, segmentBytes: 4000 }, ...options })
  managers.push(manager)
  return manager
}

async function newFs (): Promise<FaultyFileSystem> {
  const fs = new FaultyFileSystem()
  await fs.mkdir('/data')
  return fs
}

describe('LogManager', () => {
  test('close writes checkpoints and the clean-shutdown marker; the next open trusts them and removes the marker', async () => {
    const fs = await newFs()
    const manager = await open(fs)
    expect(manager.wasCleanShutdown).toBe(false)
    const log = await manager.createLog('orders', 3)
    for (let index = 0; index < 30; index++) await log.append(makeSizedBatch(2, 100, index))
    await manager.close()
    await manager.close() // idempotent
    expect(fs.contents('/data/.sluice-clean-shutdown')).toBeDefined()
    const checkpoint = new TextDecoder().decode(fs.contents('/data/recovery-point-offset-checkpoint'))
    expect(checkpoint).toBe('0\n1\norders 3 60\n')
    const reopened = await open(fs)
    expect(reopened.wasCleanShutdown).toBe(true)
    expect(fs.contents('/data/.sluice-clean-shutdown')).toBeUndefined()
    const again = reopened.getLog('orders', 3)!
    expect(again.logEndOffset).toBe(60)
    expect((await again.append(makeSizedBatch(1, 1))).baseOffset).toBe(60)
  })

  test('a crash after open is detected: no marker, recovery from the checkpoint', async () => {
    const fs = await newFs()
    const manager = await open(fs, { flush: 'always' })
    const log = await manager.createLog('orders', 0)
    for (let index = 0; index < 20; index++) await log.append(makeSizedBatch(1, 300, index))
    await manager.checkpoint()
    for (let index = 0; index < 5; index++) await log.append(makeSizedBatch(1, 300, 100 + index))
    fs.crash()
    const reopened = await open(fs, { flush: 'always' })
    expect(reopened.wasCleanShutdown).toBe(false)
    const recovered = reopened.getLog('orders', 0)!
    expect(recovered.logEndOffset).toBe(25)
    const { records } = await recovered.read(22)
    expect(Number(splitBatches(records)[0]!.readBigInt64BE(0))).toBe(22)
  })

  test('log start offsets survive a restart through their checkpoint', async () => {
    const fs = await newFs()
    const manager = await open(fs)
    const log = await manager.createLog('events', 0)
    for (let index = 0; index < 40; index++) await log.append(makeSizedBatch(1, 200, index))
    log.advanceLogStartOffset(17)
    await manager.close()
    const reopened = await open(fs)
    expect(reopened.getLog('events', 0)!.logStartOffset).toBe(17)
    const error = await reopened.getLog('events', 0)!.read(16).catch((caught: unknown) => caught)
    expect(isSluiceError(error, 'OFFSET_OUT_OF_RANGE')).toBe(true)
  })

  test('deleteLog removes the partition directory; createLog is idempotent; options are validated', async () => {
    const fs = await newFs()
    const manager = await open(fs)
    const [first, second] = await Promise.all([manager.createLog('a', 0), manager.createLog('a', 0)])
    expect(first).toBe(second)
    await first.append(makeSizedBatch(1, 10))
    await manager.deleteLog('a', 0)
    expect(manager.getLog('a', 0)).toBeUndefined()
    expect(await fs.stat('/data/a-0')).toBeUndefined()
    await expect(LogManager.open({ directory: '/data', fs, bogus: 1 } as never)).rejects.toThrow()
    const error = await LogManager.open({ directory: '/data', fs, maxOpenFiles: 1 }).catch((caught: unknown) => caught)
    expect(isSluiceError(error, 'SLUICE_INVALID_OPTION')).toBe(true)
  })

  test('open file descriptors stay bounded with many partitions', async () => {
    const fs = await newFs()
    const manager = await open(fs, { maxOpenFiles: 8 })
    for (let partition = 0; partition < 40; partition++) {
      const log = await manager.createLog('many', partition)
      await log.append(makeSizedBatch(1, 10, partition))
    }
    expect(manager.files.openCount).toBeLessThanOrEqual(8)
    for (const log of manager.logs()) expect((await log.read(0)).records.byteLength).toBeGreaterThan(0)
    expect(manager.files.openCount).toBeLessThanOrEqual(8)
  })
})
