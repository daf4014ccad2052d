/**
 * Compression codecs on the records section of a batch (`src/io/compression.ts`).
 *
 * Inputs: (a) the records section of a realistic 1000-record batch, encoded in the
 * RecordBatch v2 record format (varint lengths, key `order-<n>`, a ~90-byte JSON value with
 * repeating field names and varying numbers, one header): about 110 KB that compresses 2-4x;
 * (b) 1 MiB of the same kind of records. Each codec compresses and decompresses both,
 * synchronously, with Kafka's default levels (gzip 6, zstd 3).
 *
 * Expected on one core of a small x86 server (back of the envelope from the codecs' published
 * speeds, scaled down for a shared 2-core VM): lz4 and snappy compress at 0.5-1.5 GB/s and
 * decompress at 1-3 GB/s; zstd level 3 compresses at 200-400 MB/s and decompresses at
 * ~1 GB/s; gzip level 6 compresses at 30-60 MB/s and inflates at 200-400 MB/s. So a
 * 110 KB batch costs ~0.1 ms with lz4/snappy, ~0.4 ms with zstd and ~2-3 ms with gzip:
 * gzip is the one codec whose batches must not be compressed on the event loop.
 */
import { compressSync, decompressSync, type CompressionCodec } from '../../src/io/compression.js'
import type { MicroOptions, MicroTask } from './task.js'

const codecs: CompressionCodec[] = ['gzip', 'snappy', 'lz4', 'zstd']
const statuses = ['pending', 'paid', 'shipped', 'delivered', 'returned']
const currencies = ['EUR', 'USD', 'GBP', 'JPY']

/** mulberry32, seeded so every run measures the same bytes. */
function seededRandom (seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let value = state
    value = Math.imul(value ^ (value >>> 15), value | 1)
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61)
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296
  }
}

/** Zigzag varint (record format), appended to `target`. */
function pushVarint (target: number[], value: number): void {
  let zigzag = ((value << 1) ^ (value >> 31)) >>> 0
  while (zigzag >= 0x80) {
    target.push((zigzag & 0x7f) | 0x80)
    zigzag >>>= 7
  }
  target.push(zigzag)
}

function pushBytes (target: number[], bytes: Buffer): void {
  pushVarint(target, bytes.length)
  for (const byte of bytes) target.push(byte)
}

/** The uncompressed records section of a batch of `recordCount` records. */
function recordsSection (recordCount: number, seed: number): Buffer {
  const random = seededRandom(seed)
  const section: number[] = []
  for (let index = 0; index < recordCount; index++) {
    const body: number[] = [0]
    pushVarint(body, Math.floor(random() * 50))
    pushVarint(body, index)
    pushBytes(body, Buffer.from(`order-${100000 + Math.floor(random() * 900000)}`))
    const value = JSON.stringify({
      id: 4_000_000 + index,
      customer: `c${Math.floor(random() * 20000)}`,
      amount: Math.round(random() * 100000) / 100,
      currency: currencies[Math.floor(random() * currencies.length)],
      status: statuses[Math.floor(random() * statuses.length)]
    })
    pushBytes(body, Buffer.from(value))
    pushVarint(body, 1)
    pushBytes(body, Buffer.from('source'))
    pushBytes(body, Buffer.from('checkout'))
    pushVarint(section, body.length)
    for (const byte of body) section.push(byte)
  }
  return Buffer.from(section)
}

function recordsOfSize (bytes: number, seed: number): Buffer {
  const perRecord = recordsSection(100, seed).length / 100
  return recordsSection(Math.ceil(bytes / perRecord), seed).subarray(0, bytes)
}

export default function compressionSuite (options: MicroOptions): MicroTask[] {
  const inputs: Array<{ label: string, data: Buffer, records?: number }> = options.smoke
    ? [{ label: 'batch-10', data: recordsSection(10, 1), records: 10 }, { label: '16KiB', data: recordsOfSize(16 * 1024, 2) }]
    : [{ label: 'batch-1000', data: recordsSection(1000, 1), records: 1000 }, { label: '1MiB', data: recordsOfSize(1024 * 1024, 2) }]
  const tasks: MicroTask[] = []
  for (const codec of codecs) {
    for (const input of inputs) {
      const compressed = compressSync(codec, input.data)
      const ratio = (input.data.length / compressed.length).toFixed(2)
      const shared = { bytesPerOp: input.data.length, ...(input.records === undefined ? {} : { recordsPerOp: input.records }) }
      tasks.push({
        name: `${codec} compress ${input.label} (${input.data.length} B, ratio ${ratio})`,
        fn: () => compressSync(codec, input.data).length,
        ...shared
      })
      tasks.push({
        name: `${codec} decompress ${input.label} (${compressed.length} B)`,
        fn: () => decompressSync(codec, compressed).length,
        ...shared
      })
    }
  }
  return tasks
}
