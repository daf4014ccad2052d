/**
 * A test-only TCP responder on 127.0.0.1 built from the protocol layer alone: it splits frames,
 * decodes each request, asks `answer` for a response body and writes the encoded frame back.
 * It lets real clients (librdkafka through kcat) exercise the codecs without the broker.
 * Any frame that fails to decode is recorded and closes that connection.
 */
import { createServer, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { decodeRequest, readFrameSize, writeResponse, FRAME_SIZE_BYTES, type KafkaRequest } from '../../../src/kafka/protocol/frame.js'
import { Writer } from '../../../src/kafka/protocol/writer.js'

/** The body to answer with, or null to send nothing (Produce with acks=0). */
export type Answer = (request: KafkaRequest, port: number) => unknown

export interface Responder {
  port: number
  requests: KafkaRequest[]
  errors: unknown[]
  close: () => Promise<void>
}

const FRAME_BYTES_MAX = 16 * 1024 * 1024

export async function startResponder (answer: Answer): Promise<Responder> {
  const requests: KafkaRequest[] = []
  const errors: unknown[] = []
  const sockets = new Set<Socket>()
  let port = 0

  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.setNoDelay(true)
    let pending: Buffer = Buffer.alloc(0)
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
      try {
        for (;;) {
          const size = readFrameSize(pending)
          if (size < 0 || pending.length < FRAME_SIZE_BYTES + size) break
          if (size > FRAME_BYTES_MAX) throw new Error(`frame of ${size} bytes`)
          // Copy: the decoded views must outlive `pending`, which is replaced as data arrives.
          const payload = Buffer.from(pending.subarray(FRAME_SIZE_BYTES, FRAME_SIZE_BYTES + size))
          pending = pending.subarray(FRAME_SIZE_BYTES + size)
          const request = decodeRequest(payload)
          requests.push(request)
          const body = answer(request, port)
          if (body === null) continue
          const writer = new Writer()
          writeResponse(writer, request.api, { apiVersion: request.apiVersion, correlationId: request.correlationId, body: body as never })
          socket.write(writer.toBuffer())
        }
      } catch (error) {
        errors.push(error)
        socket.destroy()
      }
    })
    socket.on('error', () => {})
    socket.on('close', () => { sockets.delete(socket) })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as AddressInfo).port

  return {
    port,
    requests,
    errors,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
    }
  }
}
