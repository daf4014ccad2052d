/**
 * The one error type of Sluice for operating conditions: bad input, missing topics, disk
 * faults, closed handles. Each carries a closed string `code` (Kafka's error name where Kafka
 * has one, a `SLUICE_` name where it has none), Kafka's numeric code and its retriability.
 *
 * Match on `error.code`, not `instanceof`: errors crossing worker threads arrive by
 * structured clone and lose their prototype.
 */
import { kafkaErrors, type KafkaErrorName } from './kafka-error-codes.js'

/** Sluice-only codes; each maps to the Kafka code a broker answers with. Never renumber or reuse. */
export const sluiceErrors = {
  SLUICE_CLOSED: { kafkaCode: -1, retriable: false },
  SLUICE_ABORTED: { kafkaCode: -1, retriable: false },
  SLUICE_INVALID_OPTION: { kafkaCode: 42, retriable: false },
  SLUICE_CORRUPT_SEGMENT: { kafkaCode: 56, retriable: false },
  SLUICE_TIMEOUT: { kafkaCode: 7, retriable: true },
  SLUICE_BUFFER_FULL: { kafkaCode: -1, retriable: true },
  SLUICE_LOCKED: { kafkaCode: -1, retriable: false }
} as const

export type SluiceErrorName = keyof typeof sluiceErrors
export type ErrorCode = KafkaErrorName | SluiceErrorName

export interface SluiceErrorOptions {
  cause?: unknown
  /** The file a storage error concerns. */
  file?: string
  /** The byte position in `file`. */
  position?: number
}

export class SluiceError extends Error {
  /** Kafka's numeric error code; -1 (UNKNOWN_SERVER_ERROR) when Kafka has none. */
  readonly kafkaCode: number
  readonly retriable: boolean
  readonly file?: string
  readonly position?: number

  constructor (readonly code: ErrorCode, message: string, options: SluiceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'SluiceError'
    const entry = errorEntry(code)
    this.kafkaCode = entry.kafkaCode
    this.retriable = entry.retriable
    if (options.file !== undefined) this.file = options.file
    if (options.position !== undefined) this.position = options.position
  }
}

function errorEntry (code: ErrorCode): { kafkaCode: number, retriable: boolean } {
  if (code in sluiceErrors) return sluiceErrors[code as SluiceErrorName]
  const entry = kafkaErrors[code as KafkaErrorName]
  return { kafkaCode: entry.code, retriable: entry.retriable }
}

/** True for any SluiceError, including one that crossed a thread boundary as a plain object. */
export function isSluiceError (error: unknown, code?: ErrorCode): error is SluiceError {
  if (typeof error !== 'object' || error === null) return false
  const candidate = error as { code?: unknown, kafkaCode?: unknown }
  if (typeof candidate.code !== 'string' || typeof candidate.kafkaCode !== 'number') return false
  return code === undefined || candidate.code === code
}

/** The name Kafka gives a numeric error code, or UNKNOWN_SERVER_ERROR. */
export function kafkaErrorName (kafkaCode: number): KafkaErrorName {
  return kafkaNamesByCode.get(kafkaCode) ?? 'UNKNOWN_SERVER_ERROR'
}

const kafkaNamesByCode = new Map<number, KafkaErrorName>(
  (Object.entries(kafkaErrors) as Array<[KafkaErrorName, { code: number }]>).map(([name, entry]) => [entry.code, name])
)
