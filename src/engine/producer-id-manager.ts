/**
 * Producer ids for idempotent producers (InitProducerId without a transactional id): a fresh
 * id on every call, epoch 0, never handed out twice in the life of a data directory.
 *
 * Ids are handed out from blocks of PRODUCER_ID_BLOCK_SIZE. Before the first id of a new block
 * is returned, the end of that block is written durably to `<data>/producer-id-block`, so after
 * any crash the next block starts past every id ever returned (ids of a block cut short by a
 * restart are skipped, as Kafka skips the rest of a broker's block).
 *
 * File `producer-id-block` (written atomically: temporary file, fdatasync, rename, directory
 * fsync; big-endian):
 *
 * | offset | size | field                                            |
 * |--------|------|--------------------------------------------------|
 * | 0      | 2    | version (int16) = 1                              |
 * | 2      | 4    | crc (uint32): CRC-32C of bytes 6..end            |
 * | 6      | 8    | nextBlockStart (int64): first id not yet reserved |
 *
 * A missing or damaged file falls back to one past the largest producer id found in the
 * partitions' producer state (the caller supplies it), which is the best evidence left.
 *
 * Concurrency: single-threaded; concurrent `allocate` calls share one block write.
 */
import { SluiceError } from '../core/errors.js'
import { crc32c } from '../io/crc32c.js'
import type { FileSystem } from '../io/file-system.js'
import { writeFileAtomic } from '../io/file-system.js'
import { dataViewOf } from './batch-scan.js'

export const PRODUCER_ID_BLOCK_FILE = 'producer-id-block'
/** Ids reserved per durable write (Kafka's broker blocks are 1000 ids too). */
export const PRODUCER_ID_BLOCK_SIZE = 1000
const FILE_VERSION = 1
const FILE_BYTES = 14

export interface ProducerIdentity {
  producerId: number
  producerEpoch: number
}

export interface ProducerIdManagerOptions {
  fs: FileSystem
  dataDirectory: string
  /** One past the largest producer id known from stored state; used when the file is missing or damaged. */
  floor: () => number
}

export function encodeProducerIdBlock (nextBlockStart: number): Uint8Array {
  const bytes = new Uint8Array(FILE_BYTES)
  const view = dataViewOf(bytes)
  view.setInt16(0, FILE_VERSION)
  view.setBigInt64(6, BigInt(nextBlockStart))
  view.setUint32(2, crc32c(bytes.subarray(6)))
  return bytes
}

/** The stored next block start, or undefined when the bytes are not a valid file. */
export function decodeProducerIdBlock (bytes: Uint8Array): number | undefined {
  if (bytes.byteLength !== FILE_BYTES) return undefined
  const view = dataViewOf(bytes)
  if (view.getInt16(0) !== FILE_VERSION || crc32c(bytes.subarray(6)) !== view.getUint32(2)) return undefined
  const value = Number(view.getBigInt64(6))
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined
}

export class ProducerIdManager {
  private readonly path: string
  private next = -1
  private blockEnd = -1
  private pending: Promise<void> | undefined

  constructor (private readonly options: ProducerIdManagerOptions) {
    this.path = `${options.dataDirectory}/${PRODUCER_ID_BLOCK_FILE}`
  }

  /** A fresh producer id with epoch 0. */
  async allocate (): Promise<ProducerIdentity> {
    // Bounded: each round either returns or waits for one block write, which extends the block.
    for (let round = 0; round < 4; round++) {
      if (this.next >= 0 && this.next < this.blockEnd) return { producerId: this.next++, producerEpoch: 0 }
      this.pending ??= this.reserveBlock().finally(() => { this.pending = undefined })
      await this.pending
    }
    throw new SluiceError('KAFKA_STORAGE_ERROR', 'producer id blocks are being used up faster than they can be reserved')
  }

  private async reserveBlock (): Promise<void> {
    const fs = this.options.fs
    if (this.next < 0) {
      let stored: number | undefined
      try {
        stored = decodeProducerIdBlock(await fs.readFile(this.path))
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
          throw new SluiceError('KAFKA_STORAGE_ERROR', `cannot read ${this.path}`, { cause: error, file: this.path })
        }
      }
      this.next = Math.max(stored ?? 0, this.options.floor())
    }
    const end = this.next + PRODUCER_ID_BLOCK_SIZE
    if (!Number.isSafeInteger(end)) throw new SluiceError('KAFKA_STORAGE_ERROR', 'producer ids are exhausted')
    try {
      await writeFileAtomic(fs, this.path, encodeProducerIdBlock(end))
    } catch (error) {
      throw new SluiceError('KAFKA_STORAGE_ERROR', `cannot write ${this.path}`, { cause: error, file: this.path })
    }
    this.blockEnd = end
  }
}
