/**
 * How a SluiceError crosses the worker-thread boundary.
 *
 * Piscina sends a task's error to the main thread by structured clone, which keeps an Error's
 * `message` and `stack` but drops its own properties (`code`, `kafkaCode`) and its name. A task
 * therefore throws an Error whose message starts with `[CODE] `, and `WorkerPool.run` turns it
 * back into a SluiceError with that code. Task files wrap their exports with `sluiceTask`.
 */
import { isSluiceError, sluiceErrors } from '../../core/errors.js'
import { kafkaErrors } from '../../core/kafka-error-codes.js'

const prefixPattern = /^\[([A-Z][A-Z0-9_]*)\] ([\s\S]*)$/

/** An Error safe to structured-clone that still says which SluiceError code it was. */
export function encodeTaskError (error: unknown): unknown {
  if (!isSluiceError(error)) return error
  const encoded = new Error(`[${error.code}] ${error.message}`)
  if (error.stack !== undefined) encoded.stack = `Error: ${encoded.message}\n${error.stack.split('\n').slice(1).join('\n')}`
  return encoded
}

/** The code and message of an error produced by `encodeTaskError`, else undefined. */
export function decodeTaskError (error: unknown): { code: string, message: string } | undefined {
  if (!(error instanceof Error)) return undefined
  const match = prefixPattern.exec(error.message)
  if (match === null) return undefined
  const code = match[1]!
  if (!(code in sluiceErrors) && !(code in kafkaErrors)) return undefined
  return { code, message: match[2]! }
}

/** Wraps a task function so SluiceErrors it throws keep their code across the thread boundary. */
export function sluiceTask<Payload, Result> (task: (payload: Payload) => Result | Promise<Result>): (payload: Payload) => Promise<Result> {
  return async (payload) => {
    try {
      return await task(payload)
    } catch (error) {
      throw encodeTaskError(error)
    }
  }
}
