/**
 * The one place the RecordBatch codec meets the compression codecs (`compression.ts`): maps
 * the attributes' compression id to a codec and (de)compresses a batch's records section.
 * Only the records after `recordsCount` are compressed, as one stream; the header stays plain
 * and the CRC covers the compressed bytes.
 */
import { codecFromAttributes, compress, compressionAttribute, compressSync, decompress, decompressSync, type CompressionCodec } from './compression.js'

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
