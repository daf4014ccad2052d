/**
 * A Sluice over a fresh temporary data directory per test: `useTemporarySluice` registers the
 * hooks and returns `open`, which opens (or, after a close, reopens) the current test's
 * directory; the instance opened last is closed and the directory removed after each test.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach } from 'vitest'
import { Sluice } from '../../src/client/sluice.js'

export function useTemporarySluice (prefix: string): () => Promise<Sluice> {
  let dataDir: string
  let sluice: Sluice | undefined
  beforeEach(async () => { dataDir = await mkdtemp(join(tmpdir(), prefix)) })
  afterEach(async () => {
    await sluice?.close()
    sluice = undefined
    await rm(dataDir, { recursive: true, force: true })
  })
  return async () => {
    sluice = await Sluice.open({ dataDir, offsetsTopicPartitions: 1 })
    return sluice
  }
}
