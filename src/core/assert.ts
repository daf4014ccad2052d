/**
 * Always-on assertions for programming errors (bugs). An assertion failure crashes the
 * operation; it is never caught to continue. Operating conditions (bad input, disk faults)
 * use SluiceError instead.
 */
export class AssertionError extends Error {
  override name = 'AssertionError'
}

export function assert (condition: unknown, message = 'assertion failed'): asserts condition {
  if (!condition) throw new AssertionError(message)
}

export function assertNever (value: never): never {
  throw new AssertionError(`unexpected value: ${String(value)}`)
}
