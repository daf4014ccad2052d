/**
 * The one place the RecordBatch codec meets the compression codecs (`compression.ts`): maps
 * the attributes' compression id to a codec and (de)compresses a batch's records section.
 * Only the records after `recordsCount` are compressed, as one stream; the header stays plain
 * and the CRC covers the compressed bytes.
 */
import { SluiceError } from '../core/errors.js'
import { codecFromAttributes, compress, compressionAttribute, compressSync, decompress, decompressSync, type CompressionCodec } from './compression.js'
import { crc32c } from './crc32c.js'
import { BatchAttribute, BatchOffset, LOG_OVERHEAD, RECORD_BATCH_OVERHEAD } from './record-batch-header.js'

export type { CompressionCodec }

/** The codec named by a batch's attributes; UNSUPPORTED_COMPRESSION_TYPE for ids 5..7. */
export function codecOfAttributes (attributes: number): CompressionCodec {
  return codecFromAttributes(attributes)
}

/** The attributes bits of `codec`; UNSUPPORTED_COMPRESSION_TYPE for an unknown name. */
export function attributesOfCodec (codec: CompressionCodec): number {
  return compressionAttribute(codec)
}

export function compressRecordsSync (codec: CompressionCodec, records: Uint8Array): Uint8Array {
  return codec === 'none' ? records : compressSync(codec, records)
}

/** CORRUPT_MESSAGE (from the codec) when the bytes do not decompress or decompress too large. */
export function decompressRecordsSync (codec: CompressionCodec, records: Uint8Array): Uint8Array {
  return codec === 'none' ? records : decompressSync(codec, records)
}

export async function compressRecords (codec: CompressionCodec, records: Uint8Array): Promise<Uint8Array> {
  return codec === 'none' ? records : await compress(codec, records)
}

export async function decompressRecords (codec: CompressionCodec, records: Uint8Array): Promise<Uint8Array> {
  return codec === 'none' ? records : await decompress(codec, records)
}

/**
 * The same batch with its records section compressed by `codec` instead of its own codec:
 * header fields kept (offsets, timestamps, producer fields, recordsCount), the codec bits of
 * the attributes and the length replaced, the CRC recomputed. The record bytes inside do not
 * change: in format v2 they are the same whatever compresses them. This trusts the batch's
 * bytes: validate its CRC first, or the new CRC would bless corrupt input. Returns `batch` itself
 * when it already uses `codec`. CORRUPT_MESSAGE when the records do not decompress.
 */
export async function recompressBatch (batch: Uint8Array, codec: CompressionCodec): Promise<Uint8Array> {
  const attributes = (batch[BatchOffset.attributes]! << 8) | batch[BatchOffset.attributes + 1]!
  const current = codecFromAttributes(attributes)
  if (current === codec) return batch
  let records: Uint8Array
  try {
    records = await decompressRecords(current, batch.subarray(RECORD_BATCH_OVERHEAD))
  } catch (error) {
    if (error instanceof SluiceError) throw error
    throw new SluiceError('CORRUPT_MESSAGE', `records section does not decompress as ${current}`, { cause: error })
  }
  const compressed = await compressRecords(codec, records)
  const result = new Uint8Array(RECORD_BATCH_OVERHEAD + compressed.byteLength)
  result.set(batch.subarray(0, RECORD_BATCH_OVERHEAD), 0)
  result.set(compressed, RECORD_BATCH_OVERHEAD)
  const view = new DataView(result.buffer, result.byteOffset, result.byteLength)
  view.setInt32(BatchOffset.batchLength, result.byteLength - LOG_OVERHEAD)
  view.setInt16(BatchOffset.attributes, (attributes & ~BatchAttribute.compressionMask) | compressionAttribute(codec))
  view.setUint32(BatchOffset.crc, crc32c(result.subarray(BatchOffset.attributes)))
  return result
}
