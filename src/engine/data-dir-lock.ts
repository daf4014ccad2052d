/**
 * One engine per data directory: two processes appending to the same segments would corrupt
 * them. `acquireDataDirLock` creates `<dataDir>/.lock` exclusively and writes its pid and, on
 * Linux, the process's start time (field 22 of /proc/<pid>/stat); a lock whose owner is no
 * longer alive (a crashed process) is taken over. The lock is released on close. This guards
 * against accidents (a CLI command run against a broker's directory), not against a hostile
 * process.
 *
 * "Alive" is more than `kill(pid, 0)` succeeding: a process killed with SIGKILL stays a zombie
 * until its parent reaps it, and in a container whose init does not reap, forever; a
 * supervisor restarting a crashed broker would then find the directory locked by a dead
 * process. So on Linux a zombie counts as dead, and so does a live process whose start time
 * differs from the recorded one (the pid was reused).
 */
import { open, readFile, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { SluiceError } from '../core/errors.js'

export const LOCK_FILE = '.lock'

export interface DataDirLock {
  release: () => Promise<void>
}

interface ProcessStat {
  state: string
  startTicks: string
}

/** State and start time of `pid` from /proc; null when it does not exist, undefined without /proc. */
async function processStat (pid: number): Promise<ProcessStat | null | undefined> {
  let text: string
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return undefined
    return (await stat('/proc/self/stat').catch(() => undefined)) === undefined ? undefined : null
  }
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
  return { state: fields[0] ?? '', startTicks: fields[19] ?? '' }
}

/** Whether the process that wrote a lock (`pid`, and its start time when recorded) still runs. */
async function alive (pid: number, startTicks: string | undefined): Promise<boolean> {
  const found = await processStat(pid)
  if (found === null) return false
  if (found !== undefined) {
    if (found.state === 'Z' || found.state === 'X') return false
    return startTicks === undefined || startTicks === found.startTicks
  }
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
        const own = await processStat(process.pid)
        await handle.writeFile(own === undefined || own === null ? `${process.pid}\n` : `${process.pid} ${own.startTicks}\n`)
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
      const [ownerField, startTicks] = (await readFile(path, 'utf8').catch(() => '')).trim().split(' ')
      const owner = Number.parseInt(ownerField ?? '', 10)
      if (Number.isSafeInteger(owner) && owner > 0 && owner !== process.pid && await alive(owner, startTicks)) {
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
