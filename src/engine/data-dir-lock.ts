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
 * differs from the recorded one (the pid was reused). A lock naming this very pid is stale
 * unless this process holds it (`held`).
 */
import { open, readFile, stat, unlink } from 'node:fs/promises'
import { resolve } from 'node:path'
import { SluiceError } from '../core/errors.js'

export const LOCK_FILE = '.lock'

export interface DataDirLock {
  release: () => Promise<void>
}

interface ProcessStat {
  state: string
  startTicks: string
}

/**
 * Directories this process holds locks on, shared on `globalThis` so that two copies of this
 * module in one process (an ESM and a CJS build) see each other's locks. A lock file naming
 * this process's pid but absent here was left by an earlier process that had the same pid: a
 * container restarted after a crash runs its broker under the same pid every time.
 */
const heldKey = Symbol.for('sluice.dataDirLocks')
const held: Set<string> = ((globalThis as Record<symbol, unknown>)[heldKey] as Set<string> | undefined) ??
  ((globalThis as Record<symbol, unknown>)[heldKey] = new Set<string>()) as Set<string>

/** A lock file this young with no owner written yet may be a process between creating and filling it. */
const FILLING_GRACE_MS = 2000

/** State and start time of `pid` from /proc; undefined when /proc does not show it (absent, hidden, other OS). */
async function processStat (pid: number): Promise<ProcessStat | undefined> {
  let text: string
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
  return { state: fields[0] ?? '', startTicks: fields[19] ?? '' }
}

/** Whether the process that wrote a lock (`pid`, and its start time when recorded) still runs. */
async function alive (pid: number, startTicks: string | undefined): Promise<boolean> {
  const found = await processStat(pid)
  if (found !== undefined) {
    if (found.state === 'Z' || found.state === 'X') return false
    return startTicks === undefined || startTicks === found.startTicks
  }
  // Not in /proc: gone, or hidden from this user (hidepid), or no /proc at all; the kernel says
  // which (EPERM: a live process of another user).
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export async function acquireDataDirLock (dataDir: string): Promise<DataDirLock> {
  const path = resolve(dataDir, LOCK_FILE)
  if (held.has(path)) {
    throw new SluiceError('SLUICE_LOCKED', `data directory ${dataDir} is already open in this process; close the other Sluice or Engine first`, { file: path })
  }
  // Read before creating the file: the window in which it exists but is empty stays one write.
  const own = await processStat(process.pid)
  const contents = own === undefined ? `${process.pid}\n` : `${process.pid} ${own.startTicks}\n`
  // Bounded: a few takeovers, or waiting out one grace period in quarter steps.
  for (let attempt = 0; attempt < 8; attempt++) {
    try {
      const handle = await open(path, 'wx')
      try {
        await handle.writeFile(contents)
      } finally {
        await handle.close()
      }
      held.add(path)
      let released = false
      return {
        release: async () => {
          if (released) return
          released = true
          held.delete(path)
          await unlink(path).catch(() => {})
        }
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new SluiceError('KAFKA_STORAGE_ERROR', `cannot lock data directory ${dataDir}: ${(error as Error).message}`, { cause: error, file: path })
      }
      const [ownerField, startTicks] = (await readFile(path, 'utf8').catch(() => '')).trim().split(' ')
      const owner = Number.parseInt(ownerField ?? '', 10)
      if (!Number.isSafeInteger(owner) || owner <= 0) {
        // Empty or garbled: another process may be between creating and filling it; a crashed one
        // left it for good once it is older than the grace period.
        const written = await stat(path).then((info) => info.mtimeMs, () => 0)
        if (Date.now() - written < FILLING_GRACE_MS) {
          await new Promise((settle) => setTimeout(settle, FILLING_GRACE_MS / 4))
          continue
        }
      } else if (owner !== process.pid && await alive(owner, startTicks)) {
        throw new SluiceError('SLUICE_LOCKED', `data directory ${dataDir} is in use by process ${owner} (a running broker?); stop it or use another --data directory`, { file: path })
      }
      // A stale lock from a process that died (or an earlier process with this pid): take it over.
      await unlink(path).catch(() => {})
    }
  }
  throw new SluiceError('SLUICE_LOCKED', `cannot lock data directory ${dataDir}`, { file: path })
}
