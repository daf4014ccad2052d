/**
 * Loader for the AssemblyScript kernels in `asm/` (compiled to `build/<name>.wasm`).
 *
 * Each kernel is compiled and instantiated synchronously when this module is imported, from a
 * path relative to this file (`../../build/` resolves the same from `src/io/` and `dist/io/`),
 * so callers never await a kernel. A kernel that cannot be loaded (build step not run, corrupt
 * file) does not fail the import: its slot holds the reason instead, the checksum and hash
 * modules fall back to JavaScript, and only their explicitly-WASM entry points throw.
 *
 * Scratch: each kernel owns one scratch region in its linear memory, reserved once here at init.
 * Inputs are copied into it (WASM cannot read a JS ArrayBuffer it does not own) in pieces of at
 * most `scratchBytes`. The Uint8Array view over it is re-created whenever `memory.buffer` is a
 * new object, which is what happens after the memory grows, since growth detaches the old
 * buffer and every view on it.
 *
 * Concurrency: a kernel is used synchronously from start to end of one call, so one scratch per
 * kernel per thread (each worker imports its own copy of this module) is enough.
 */
import { readFileSync } from 'node:fs'

// The project's lib settings (no DOM) and @types/node 20 do not declare the WebAssembly global,
// so this module declares the little of it that it uses.
interface WasmMemory { readonly buffer: ArrayBuffer }
interface WasmApi {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> }
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly

/** Bytes of scratch per kernel. 64 KiB: a chunk stays in L1/L2 between its copy and its scan, and
 * the per-chunk call costs under 1% of the scan at this size. */
export const SCRATCH_BYTES = 64 * 1024

/** A loaded kernel: its exports, its memory and its scratch region. */
export class WasmKernel<Exports> {
  readonly exports: Exports
  /** Address of the scratch region in linear memory. */
  readonly scratchPointer: number
  readonly scratchBytes: number
  private readonly memory: WasmMemory
  private buffer: ArrayBuffer
  private view: Uint8Array

  constructor (exports: Exports & { memory: WasmMemory, allocate: (size: number) => number }, scratchBytes: number) {
    this.exports = exports
    this.memory = exports.memory
    this.scratchBytes = scratchBytes
    this.scratchPointer = exports.allocate(scratchBytes)
    this.buffer = this.memory.buffer
    this.view = new Uint8Array(this.buffer, this.scratchPointer, scratchBytes)
  }

  /** The scratch region as bytes; a fresh view if the memory grew since the last call. */
  scratch (): Uint8Array {
    if (this.memory.buffer !== this.buffer) {
      this.buffer = this.memory.buffer
      this.view = new Uint8Array(this.buffer, this.scratchPointer, this.scratchBytes)
    }
    return this.view
  }
}

/** Either a kernel or the reason it could not be loaded. */
export type KernelSlot<Exports> =
  | { readonly kernel: WasmKernel<Exports>, readonly error: null }
  | { readonly kernel: null, readonly error: Error }

export interface Crc32cExports {
  /** Advances the raw (not inverted) CRC-32C register over memory[pointer, pointer + length). */
  update: (crc: number, pointer: number, length: number) => number
}

export interface Murmur2Exports {
  /** Kafka's murmur2 (signed int32) of memory[pointer, pointer + length). */
  murmur2: (pointer: number, length: number) => number
}

// The kernels import nothing except AssemblyScript's abort hook, which `--noAssert` and the
// stub runtime only reach on a failed allocation.
const imports = {
  env: {
    abort (_message: number, _file: number, line: number, column: number): never {
      throw new Error(`wasm kernel aborted at ${line}:${column}`)
    }
  }
}

function loadKernel<Exports> (name: string, requiredExports: readonly string[]): KernelSlot<Exports> {
  try {
    const bytes = readFileSync(new URL(`../../build/${name}.wasm`, import.meta.url))
    const instance = new wasm.Instance(new wasm.Module(bytes), imports)
    const exports = instance.exports
    for (const required of ['memory', 'allocate', ...requiredExports]) {
      if (!(required in exports)) throw new Error(`build/${name}.wasm lacks export ${required}`)
    }
    const kernel = new WasmKernel(exports as unknown as Exports & { memory: WasmMemory, allocate: (size: number) => number }, SCRATCH_BYTES)
    return { kernel, error: null }
  } catch (cause) {
    return { kernel: null, error: new Error(`cannot load build/${name}.wasm (run npm run build:asm)`, { cause }) }
  }
}

export const crc32cSlot: KernelSlot<Crc32cExports> = loadKernel<Crc32cExports>('crc32c', ['update'])
export const murmur2Slot: KernelSlot<Murmur2Exports> = loadKernel<Murmur2Exports>('murmur2', ['murmur2'])
