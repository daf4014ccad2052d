/**
 * A bounded pool of open file handles shared by every log of an engine, so that 10,000
 * partitions do not need 30,000 descriptors. Files are opened on first use and the least
 * recently used idle handles are closed once more than `maxOpen` are open.
 *
 * Invariants: a handle in use (between acquire and release) is never closed; the count of open
 * handles exceeds `maxOpen` only by the number of handles in use at once (each in-flight
 * operation pins one). `forget(path)` closes the path's handle once idle (before a rename or
 * unlink); a later use opens the file again.
 *
 * Durability note: fdatasync on any descriptor of a file flushes the file's dirty pages, so a
 * log may close and re-open its file between a write and the fsync that covers it.
 */
import type { FileHandle, FileSystem, OpenMode } from '../io/file-system.js'

interface Entry {
  path: string
  handle: Promise<FileHandle>
  users: number
  forgotten: boolean
}

export class FileCache {
  /** Insertion order is recency order: a use moves the entry to the end. */
  private readonly entries = new Map<string, Entry>()
  private readonly closing = new Set<Promise<void>>()

  constructor (readonly fs: FileSystem, readonly maxOpen: number) {}

  get openCount (): number { return this.entries.size }

  /** Runs `operation` with the open file at `path` (opened with `mode` if not open yet). */
  async use<T> (path: string, operation: (file: FileHandle) => Promise<T>, mode: OpenMode = 'readWrite'): Promise<T> {
    let entry = this.entries.get(path)
    if (entry === undefined) {
      this.evict()
      entry = { path, handle: this.fs.open(path, mode), users: 0, forgotten: false }
      // A failed open must not stay cached.
      entry.handle.catch(() => { if (this.entries.get(path) === entry) this.entries.delete(path) })
      this.entries.set(path, entry)
    } else {
      this.entries.delete(path)
      this.entries.set(path, entry)
    }
    entry.users++
    try {
      const file = await entry.handle
      return await operation(file)
    } finally {
      entry.users--
      if (entry.forgotten && entry.users === 0) this.closeEntry(entry)
    }
  }

  /** Closes the handle of `path` (once no operation uses it); the next use re-opens. */
  async forget (path: string): Promise<void> {
    const entry = this.entries.get(path)
    if (entry === undefined) return
    this.entries.delete(path)
    entry.forgotten = true
    if (entry.users === 0) this.closeEntry(entry)
    await this.settled()
  }

  /** Forgets every path under `directory`. */
  async forgetDirectory (directory: string): Promise<void> {
    const prefix = directory.endsWith('/') ? directory : `${directory}/`
    for (const path of [...this.entries.keys()]) {
      if (path.startsWith(prefix)) await this.forget(path)
    }
  }

  /** Closes every idle handle and waits for all closes; handles in use close when released. */
  async closeAll (): Promise<void> {
    for (const path of [...this.entries.keys()]) await this.forget(path)
    await this.settled()
  }

  private async settled (): Promise<void> {
    while (this.closing.size > 0) await Promise.allSettled([...this.closing])
  }

  private evict (): void {
    if (this.entries.size < this.maxOpen) return
    for (const entry of this.entries.values()) {
      if (this.entries.size < this.maxOpen) break
      if (entry.users > 0) continue
      this.entries.delete(entry.path)
      entry.forgotten = true
      this.closeEntry(entry)
    }
  }

  private closeEntry (entry: Entry): void {
    const closed = entry.handle.then(async (file) => { await file.close() }, () => {}).catch(() => {})
    this.closing.add(closed)
    void closed.finally(() => this.closing.delete(closed))
  }
}
