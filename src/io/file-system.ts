/**
 * The file operations the log needs, behind one small interface, so that the engine runs on the
 * real disk (`nodeFileSystem`) and tests run it on a substitute that injects faults (short
 * writes, EIO, ENOSPC, loss of every byte not covered by an fsync).
 *
 * Why an interface rather than `node:fs` directly: crash consistency can only be tested when the
 * test decides what "the disk" kept. Every durability claim of the engine is phrased in terms of
 * this interface: bytes handed to `write`/`writev` are visible to later reads of the same file,
 * and survive a crash only once `datasync` (file data) and `syncDirectory` (names in a directory)
 * have returned for them.
 *
 * Threading: every operation of the real implementation runs on libuv's threadpool
 * (`fs.promises.FileHandle`), so none of them blocks the event loop. Buffers given to `write`,
 * `writev` and `read` must stay untouched until the promise settles; the engine guarantees that
 * by writing only from immutable ranges of its tail (see segment.ts).
 *
 * Errors are the platform's (`error.code` is `EIO`, `ENOSPC`, `ENOENT`, ...); the engine maps them
 * to SluiceError('KAFKA_STORAGE_ERROR') at the call that failed.
 */
import { open as openFile, readdir, rename, unlink, mkdir, stat, readFile, rm } from 'node:fs/promises'
import type { FileHandle as NodeFileHandle } from 'node:fs/promises'
import { constants } from 'node:fs'

/** How a file is opened. `create` creates it when missing; none of them truncate. */
export type OpenMode = 'read' | 'readWrite' | 'create'

/** An open file. One owner; operations may run concurrently except `close`. */
export interface FileHandle {
  readonly path: string
  /** Writes `source` at `position`; may write fewer bytes (a short write), returns how many. */
  write: (source: Uint8Array, position: number) => Promise<number>
  /** Writes the buffers back to back from `position`; may be short, returns bytes written. */
  writev: (sources: readonly Uint8Array[], position: number) => Promise<number>
  /** Reads into `target` from `position`; returns bytes read (0 at end of file). */
  read: (target: Uint8Array, position: number) => Promise<number>
  /** fdatasync(2): the file's data (and size) survive a crash once this resolves. */
  datasync: () => Promise<void>
  /** Sets the file's length (grows with zeros, or cuts). */
  truncate: (length: number) => Promise<void>
  /** Current length of the file in bytes. */
  size: () => Promise<number>
  close: () => Promise<void>
}

export interface FileStat {
  size: number
  mtimeMs: number
}

export interface FileSystem {
  open: (path: string, mode: OpenMode) => Promise<FileHandle>
  readFile: (path: string) => Promise<Uint8Array>
  /** Atomic within one directory (rename(2)); durable after `syncDirectory`. */
  rename: (from: string, to: string) => Promise<void>
  unlink: (path: string) => Promise<void>
  /** Creates the directory and its parents; no error if it exists. */
  mkdir: (path: string) => Promise<void>
  /** Removes a directory and everything in it; no error if missing. */
  removeDirectory: (path: string) => Promise<void>
  /** Names in a directory (not paths), unsorted. */
  readdir: (path: string) => Promise<string[]>
  /** `undefined` when the path does not exist. */
  stat: (path: string) => Promise<FileStat | undefined>
  /** fsync(2) on a directory: names created, renamed or removed in it survive a crash. */
  syncDirectory: (path: string) => Promise<void>
}

class NodeFile implements FileHandle {
  constructor (readonly path: string, private readonly handle: NodeFileHandle) {}

  async write (source: Uint8Array, position: number): Promise<number> {
    const { bytesWritten } = await this.handle.write(source, 0, source.byteLength, position)
    return bytesWritten
  }

  async writev (sources: readonly Uint8Array[], position: number): Promise<number> {
    if (sources.length === 1) return await this.write(sources[0]!, position)
    const { bytesWritten } = await this.handle.writev(sources as Uint8Array[], position)
    return bytesWritten
  }

  async read (target: Uint8Array, position: number): Promise<number> {
    const { bytesRead } = await this.handle.read(target, 0, target.byteLength, position)
    return bytesRead
  }

  async datasync (): Promise<void> { await this.handle.datasync() }
  async truncate (length: number): Promise<void> { await this.handle.truncate(length) }
  async size (): Promise<number> { return (await this.handle.stat()).size }
  async close (): Promise<void> { await this.handle.close() }
}

const openFlags: Record<OpenMode, number> = {
  read: constants.O_RDONLY,
  readWrite: constants.O_RDWR,
  create: constants.O_RDWR | constants.O_CREAT
}

/** The real file system, on libuv's threadpool. */
export const nodeFileSystem: FileSystem = Object.freeze({
  async open (path: string, mode: OpenMode): Promise<FileHandle> {
    return new NodeFile(path, await openFile(path, openFlags[mode], 0o644))
  },
  async readFile (path: string): Promise<Uint8Array> { return await readFile(path) },
  async rename (from: string, to: string): Promise<void> { await rename(from, to) },
  async unlink (path: string): Promise<void> { await unlink(path) },
  async mkdir (path: string): Promise<void> { await mkdir(path, { recursive: true }) },
  async removeDirectory (path: string): Promise<void> { await rm(path, { recursive: true, force: true }) },
  async readdir (path: string): Promise<string[]> { return await readdir(path) },
  async stat (path: string): Promise<FileStat | undefined> {
    try {
      const result = await stat(path)
      return { size: result.size, mtimeMs: result.mtimeMs }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw error
    }
  },
  async syncDirectory (path: string): Promise<void> {
    const handle = await openFile(path, constants.O_RDONLY)
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  }
})

/** Deletes `path`; a file that is already gone is not an error. */
export async function unlinkIfPresent (fs: Pick<FileSystem, 'unlink'>, path: string): Promise<void> {
  try {
    await fs.unlink(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
}

/** Writes all of `source` at `position`, continuing after short writes. */
export async function writeFully (file: FileHandle, source: Uint8Array, position: number): Promise<void> {
  let done = 0
  // Each round writes at least one byte or throws, so the loop is bounded by source length.
  while (done < source.byteLength) {
    const written = await file.write(source.subarray(done), position + done)
    if (written <= 0) throw Object.assign(new Error(`write made no progress on ${file.path}`), { code: 'EIO' })
    done += written
  }
}

/** Reads up to `target.byteLength` bytes from `position`, continuing after short reads; stops at end of file. */
export async function readFully (file: FileHandle, target: Uint8Array, position: number): Promise<number> {
  let done = 0
  while (done < target.byteLength) {
    const read = await file.read(target.subarray(done), position + done)
    if (read <= 0) break
    done += read
  }
  return done
}

/**
 * Replaces `path` with `contents` atomically and durably: write a temporary sibling, fdatasync
 * it, rename over the target, fsync the directory. A crash leaves either the old or the new
 * contents, never a mix.
 */
export async function writeFileAtomic (fs: FileSystem, path: string, contents: Uint8Array): Promise<void> {
  const temporary = `${path}.tmp`
  const file = await fs.open(temporary, 'create')
  try {
    await file.truncate(0)
    await writeFully(file, contents, 0)
    await file.datasync()
  } finally {
    await file.close()
  }
  await fs.rename(temporary, path)
  await fs.syncDirectory(parentDirectory(path))
}

/** The directory part of a path ('/' separated). */
export function parentDirectory (path: string): string {
  const index = path.lastIndexOf('/')
  return index <= 0 ? (index === 0 ? '/' : '.') : path.slice(0, index)
}
