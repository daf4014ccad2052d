/**
 * An in-memory implementation of the io/ file interface that behaves like a disk which loses
 * whatever was not made durable, and fails on demand.
 *
 * Durability model (what `crash()` keeps):
 * - file contents: the bytes and length as of the file's last completed `datasync`;
 * - names: a file created, renamed or unlinked is durable once its directory was synced
 *   (`syncDirectory`); before that, `crash()` restores the directory's previous names.
 *   Directories themselves are durable at once (a simplification: the engine syncs the parent
 *   after mkdir anyway).
 * After `crash()` every handle opened before it fails with EIO and changes nothing, like the
 * descriptors of a killed process; so does every call through a `process()` view taken before
 * it (give each engine instance its own view, so an abandoned engine cannot touch the "disk").
 *
 * Faults: `failOn(operation, code, { times, path, skip })` makes the next `times` matching calls
 * throw an errno-style error (`EIO`, `ENOSPC`) without effect; `shortWrites` makes every write
 * store only part of what it was given (at least one byte) and report that. `holdDatasync(path)`
 * parks matching fdatasyncs (a slow disk) until the returned release function is called.
 */
import type { FileHandle, FileStat, FileSystem, OpenMode } from '../../src/io/file-system.js'
import { parentDirectory } from '../../src/io/file-system.js'

export type FaultOperation = 'open' | 'write' | 'read' | 'datasync' | 'truncate' | 'rename' | 'unlink' | 'syncDirectory'
export type FaultCode = 'EIO' | 'ENOSPC'

interface Inode {
  data: Uint8Array
  size: number
  durableData: Uint8Array
  mtimeMs: number
}

interface Fault {
  operation: FaultOperation
  code: FaultCode
  skip: number
  remaining: number
  path: RegExp | undefined
}

function errno (code: string, message: string): Error {
  return Object.assign(new Error(`${code}: ${message}`), { code })
}

export class FaultyFileSystem implements FileSystem {
  /** Every write stores at most half of what it was given. */
  shortWrites = false
  /** Count of calls per operation (for tests that check group commit). */
  readonly calls = new Map<string, number>()
  private names = new Map<string, Inode>()
  private durableNames = new Map<string, Inode>()
  private readonly directories = new Set<string>(['/'])
  private faults: Fault[] = []
  private generation = 0
  private holds: Array<{ path: RegExp, released: Promise<void> }> = []

  /** The next `times` calls of `operation` (on paths matching `path`) fail, after `skip` that succeed. */
  failOn (operation: FaultOperation, code: FaultCode, options: { times?: number, path?: RegExp, skip?: number } = {}): void {
    this.faults.push({ operation, code, skip: options.skip ?? 0, remaining: options.times ?? Number.POSITIVE_INFINITY, path: options.path })
  }

  /** Parks fdatasyncs of matching paths until the returned function is called. */
  holdDatasync (path: RegExp): () => void {
    let release: () => void = () => {}
    const hold = { path, released: new Promise<void>((resolve) => { release = resolve }) }
    this.holds.push(hold)
    return () => {
      this.holds = this.holds.filter((other) => other !== hold)
      release()
    }
  }

  /** Resolves once no hold matches `path` any more. */
  async waitForDatasyncHolds (path: string): Promise<void> {
    // Bounded: each round waits for one hold to be released (and removed).
    for (let hold = this.holds.find((candidate) => candidate.path.test(path)); hold !== undefined; hold = this.holds.find((candidate) => candidate.path.test(path))) {
      await hold.released
    }
  }

  clearFaults (): void {
    this.faults = []
    this.shortWrites = false
  }

  /** Loses everything not made durable; handles opened before become dead. */
  crash (): void {
    this.generation++
    this.names = new Map()
    for (const [path, inode] of this.durableNames) {
      const durable = inode.durableData.slice()
      const restored: Inode = { data: durable, size: durable.byteLength, durableData: durable.slice(), mtimeMs: inode.mtimeMs }
      this.names.set(path, restored)
    }
    this.durableNames = new Map(this.names)
    this.faults = []
    this.shortWrites = false
  }

  /** A view of this file system that dies (every call fails with EIO) at the next `crash()`. */
  process (): FileSystem {
    const generation = this.generation
    const guard = async <T>(operation: () => Promise<T>): Promise<T> => {
      if (generation !== this.generation) throw errno('EIO', 'file system call from before the crash')
      return await operation()
    }
    return {
      open: async (path, mode) => await guard(async () => await this.open(path, mode)),
      readFile: async (path) => await guard(async () => await this.readFile(path)),
      rename: async (from, to) => await guard(async () => { await this.rename(from, to) }),
      unlink: async (path) => await guard(async () => { await this.unlink(path) }),
      mkdir: async (path) => await guard(async () => { await this.mkdir(path) }),
      removeDirectory: async (path) => await guard(async () => { await this.removeDirectory(path) }),
      readdir: async (path) => await guard(async () => await this.readdir(path)),
      stat: async (path) => await guard(async () => await this.stat(path)),
      syncDirectory: async (path) => await guard(async () => { await this.syncDirectory(path) })
    }
  }

  /** Current (not necessarily durable) contents of a file, for tests that corrupt files. */
  contents (path: string): Uint8Array | undefined {
    const inode = this.names.get(path)
    return inode?.data.subarray(0, inode.size)
  }

  /** Replaces a file's contents and makes them durable (test setup). */
  setContents (path: string, bytes: Uint8Array): void {
    const inode = this.names.get(path)
    if (inode === undefined) throw errno('ENOENT', path)
    inode.data = bytes.slice()
    inode.size = bytes.byteLength
    inode.durableData = bytes.slice()
  }

  private count (operation: string): void {
    this.calls.set(operation, (this.calls.get(operation) ?? 0) + 1)
  }

  private check (operation: FaultOperation, path: string): void {
    this.count(operation)
    for (const fault of this.faults) {
      if (fault.operation !== operation || fault.remaining <= 0) continue
      if (fault.path !== undefined && !fault.path.test(path)) continue
      if (fault.skip > 0) { fault.skip--; continue }
      fault.remaining--
      throw errno(fault.code, `${operation} ${path} (injected)`)
    }
  }

  async open (path: string, mode: OpenMode): Promise<FileHandle> {
    await Promise.resolve()
    this.check('open', path)
    let inode = this.names.get(path)
    if (inode === undefined) {
      if (mode !== 'create') throw errno('ENOENT', path)
      if (!this.directories.has(parentDirectory(path))) throw errno('ENOENT', parentDirectory(path))
      inode = { data: new Uint8Array(0), size: 0, durableData: new Uint8Array(0), mtimeMs: Date.now() }
      this.names.set(path, inode)
    }
    return new FaultyHandle(this, path, inode, this.generation, mode === 'read')
  }

  /** @internal used by handles */
  alive (generation: number): boolean { return generation === this.generation }
  /** @internal */
  fault (operation: FaultOperation, path: string): void { this.check(operation, path) }

  async readFile (path: string): Promise<Uint8Array> {
    await Promise.resolve()
    this.check('read', path)
    const inode = this.names.get(path)
    if (inode === undefined) throw errno('ENOENT', path)
    return inode.data.slice(0, inode.size)
  }

  async rename (from: string, to: string): Promise<void> {
    await Promise.resolve()
    this.check('rename', from)
    const inode = this.names.get(from)
    if (inode === undefined) throw errno('ENOENT', from)
    this.names.delete(from)
    this.names.set(to, inode)
  }

  async unlink (path: string): Promise<void> {
    await Promise.resolve()
    this.check('unlink', path)
    if (!this.names.delete(path)) throw errno('ENOENT', path)
  }

  async mkdir (path: string): Promise<void> {
    await Promise.resolve()
    let current = path
    while (current !== '/' && current !== '.' && !this.directories.has(current)) {
      this.directories.add(current)
      current = parentDirectory(current)
    }
  }

  async removeDirectory (path: string): Promise<void> {
    await Promise.resolve()
    const prefix = `${path}/`
    for (const name of [...this.names.keys()]) if (name.startsWith(prefix)) this.names.delete(name)
    for (const name of [...this.durableNames.keys()]) if (name.startsWith(prefix)) this.durableNames.delete(name)
    for (const directory of [...this.directories]) if (directory === path || directory.startsWith(prefix)) this.directories.delete(directory)
  }

  async readdir (path: string): Promise<string[]> {
    await Promise.resolve()
    if (!this.directories.has(path)) throw errno('ENOENT', path)
    const result = new Set<string>()
    for (const name of this.names.keys()) if (parentDirectory(name) === path) result.add(name.slice(path.length + 1))
    for (const directory of this.directories) if (directory !== path && parentDirectory(directory) === path) result.add(directory.slice(path.length + 1))
    return [...result]
  }

  async stat (path: string): Promise<FileStat | undefined> {
    await Promise.resolve()
    const inode = this.names.get(path)
    if (inode !== undefined) return { size: inode.size, mtimeMs: inode.mtimeMs }
    if (this.directories.has(path)) return { size: 0, mtimeMs: 0 }
    return undefined
  }

  async syncDirectory (path: string): Promise<void> {
    await Promise.resolve()
    this.check('syncDirectory', path)
    for (const name of [...this.durableNames.keys()]) {
      if (parentDirectory(name) === path && !this.names.has(name)) this.durableNames.delete(name)
    }
    for (const [name, inode] of this.names) {
      if (parentDirectory(name) === path) this.durableNames.set(name, inode)
    }
  }
}

class FaultyHandle implements FileHandle {
  private closed = false

  constructor (
    private readonly fs: FaultyFileSystem,
    readonly path: string,
    private readonly inode: Inode,
    private readonly generation: number,
    private readonly readOnly: boolean
  ) {}

  private ensure (): void {
    if (this.closed) throw errno('EBADF', this.path)
    if (!this.fs.alive(this.generation)) throw errno('EIO', `${this.path} (handle from before the crash)`)
  }

  private grow (length: number): void {
    if (length <= this.inode.data.byteLength) return
    const grown = new Uint8Array(Math.max(length, this.inode.data.byteLength * 2))
    grown.set(this.inode.data.subarray(0, this.inode.size))
    this.inode.data = grown
  }

  async write (source: Uint8Array, position: number): Promise<number> {
    await Promise.resolve()
    this.ensure()
    if (this.readOnly) throw errno('EBADF', this.path)
    this.fs.fault('write', this.path)
    const length = this.fs.shortWrites && source.byteLength > 1 ? Math.ceil(source.byteLength / 2) : source.byteLength
    this.grow(position + length)
    if (position > this.inode.size) this.inode.data.fill(0, this.inode.size, position)
    this.inode.data.set(source.subarray(0, length), position)
    this.inode.size = Math.max(this.inode.size, position + length)
    this.inode.mtimeMs = Date.now()
    return length
  }

  async writev (sources: readonly Uint8Array[], position: number): Promise<number> {
    let total = 0
    for (const source of sources) total += source.byteLength
    const joined = new Uint8Array(total)
    let at = 0
    for (const source of sources) { joined.set(source, at); at += source.byteLength }
    return await this.write(joined, position)
  }

  async read (target: Uint8Array, position: number): Promise<number> {
    await Promise.resolve()
    this.ensure()
    this.fs.fault('read', this.path)
    if (position >= this.inode.size) return 0
    const length = Math.min(target.byteLength, this.inode.size - position)
    target.set(this.inode.data.subarray(position, position + length))
    return length
  }

  async datasync (): Promise<void> {
    await Promise.resolve()
    await this.fs.waitForDatasyncHolds(this.path)
    this.ensure()
    this.fs.fault('datasync', this.path)
    this.inode.durableData = this.inode.data.slice(0, this.inode.size)
  }

  async truncate (length: number): Promise<void> {
    await Promise.resolve()
    this.ensure()
    this.fs.fault('truncate', this.path)
    this.grow(length)
    if (length > this.inode.size) this.inode.data.fill(0, this.inode.size, length)
    this.inode.size = length
  }

  async size (): Promise<number> {
    await Promise.resolve()
    this.ensure()
    return this.inode.size
  }

  async close (): Promise<void> {
    await Promise.resolve()
    this.closed = true
  }
}
