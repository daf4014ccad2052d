/**
 * The one place the RecordBatch codec meets the compression codecs: maps the attributes'
 * compression id to a codec and (de)compresses a batch's records section. Only the records
 * after `recordsCount` are compressed, as one stream; the header stays plain and the CRC
 * covers the compressed bytes.
 */
import { SluiceError } from '../core/errors.js'
import { BatchAttribute, COMPRESSION_ID_MAX } from './record-batch-header.js'

export type CompressionCodec = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd'

const codecsById: readonly CompressionCodec[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd']

/** The codec named by a batch's attributes; UNSUPPORTED_COMPRESSION_TYPE for ids 5..7. */
export function codecOfAttributes (attributes: number): CompressionCodec {
  const id = attributes & BatchAttribute.compressionMask
  if (id > COMPRESSION_ID_MAX) throw new SluiceError('UNSUPPORTED_COMPRESSION_TYPE', `unknown compression id ${id}`)
  return codecsById[id]!
}

/** The attributes bits of `codec`. */
export function attributesOfCodec (codec: CompressionCodec): number {
  const id = codecsById.indexOf(codec)
  if (id < 0) throw new SluiceError('UNSUPPORTED_COMPRESSION_TYPE', `unknown compression codec ${String(codec)}`)
  return id
}

export function compressRecordsSync (codec: CompressionCodec, records: Uint8Array): Uint8Array {
  if (codec === 'none') return records
  throw new SluiceError('UNSUPPORTED_COMPRESSION_TYPE', `compression ${codec} not available`)
}

export function decompressRecordsSync (codec: CompressionCodec, records: Uint8Array): Uint8Array {
  if (codec === 'none') return records
  throw new SluiceError('UNSUPPORTED_COMPRESSION_TYPE', `compression ${codec} not available`)
}

export async function compressRecords (codec: CompressionCodec, records: Uint8Array): Promise<Uint8Array> {
  return compressRecordsSync(codec, records)
}

export async function decompressRecords (codec: CompressionCodec, records: Uint8Array): Promise<Uint8Array> {
  return decompressRecordsSync(codec, records)
}
