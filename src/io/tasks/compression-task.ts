/**
 * Worker-thread task: compress or decompress one records section with the same code the main
 * thread uses (`io/compression.ts` sync forms), so a worker's bytes equal the inline bytes.
 *
 * The input arrives by structured clone (a copy: the caller keeps its batch) unless the caller
 * transfers it. The result is copied into an ArrayBuffer of its own and moved back (the native
 * codecs return external buffers, which cannot be transferred), so the main thread receives it
 * without a second copy. The main thread wraps it back into a Buffer.
 */
import { Piscina } from 'piscina'
import { compressSync, decompressSync, type CompressionCodec } from '../compression.js'
import { sluiceTask } from './task-error.js'

export interface CompressionTaskPayload {
  codec: CompressionCodec
  data: Uint8Array
  /** Decompression only: see `DecompressOptions.decompressedBytesMax`. */
  decompressedBytesMax?: number
}

function movable (output: Uint8Array): Uint8Array {
  const owned = new Uint8Array(output.length)
  owned.set(output)
  return Piscina.move(owned) as unknown as Uint8Array
}

export const compress = sluiceTask((payload: CompressionTaskPayload) => movable(compressSync(payload.codec, payload.data)))

export const decompress = sluiceTask((payload: CompressionTaskPayload) => {
  const options = payload.decompressedBytesMax === undefined ? {} : { decompressedBytesMax: payload.decompressedBytesMax }
  return movable(decompressSync(payload.codec, payload.data, options))
})
