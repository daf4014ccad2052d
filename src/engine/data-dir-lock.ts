/**
 * One engine per data directory: two processes appending to the same segments would corrupt
 * them. `acquireDataDirLock` creates `<dataDir>/.lock` exclusively and writes its pid; a lock
 * whose pid is no longer alive (a crashed process) is taken over. The lock is released on
 * close. This guards against accidents (a CLI command run against a broker's directory), not
 * against a hostile process.
 */
import { open, readFile, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { SluiceError } from '../core/errors.js'

export const LOCK_FILE = '.lock'

export interface DataDirLock {
  release: () => Promise<void>
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export async function acquireDataDirLock (dataDir: string): Promise<DataDirLock> {
  const path = join(dataDir, LOCK_FILE)
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(path, 'wx')
      try {
        await handle.writeFile(`${process.pid}\n`)
      } finally {
        await handle.close()
      }
      let released = false
      return {
        release: async () => {
          if (released) return
          released = true
          await unlink(path).catch(() => {})
        }
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new SluiceError('KAFKA_STORAGE_ERROR', `cannot lock data directory ${dataDir}: ${(error as Error).message}`, { cause: error, file: path })
      }
      const owner = Number.parseInt((await readFile(path, 'utf8').catch(() => '')).trim(), 10)
      if (Number.isSafeInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
        throw new SluiceError('SLUICE_LOCKED', `data directory ${dataDir} is in use by process ${owner} (a running broker?); stop it or use another --data directory`, { file: path })
      }
      if (owner === process.pid) {
        throw new SluiceError('SLUICE_LOCKED', `data directory ${dataDir} is already open in this process; close the other Sluice or Engine first`, { file: path })
      }
      // A stale lock from a process that died: take it over.
      await unlink(path).catch(() => {})
    }
  }
  throw new SluiceError('SLUICE_LOCKED', `cannot lock data directory ${dataDir}`, { file: path })
}
