/**
 * Deliberate slowdown for proving the perf check: `SLUICE_BENCH_SLOWDOWN=<factor>` makes the
 * measured append path do extra work so that its throughput drops by about that factor.
 *
 * The work is added on the bench side, around each append the scenario wrapper makes, never in
 * engine code: after an append that took `t`, the wrapper spins the main thread for
 * `(factor - 1) * t`. Spinning (not sleeping) is real CPU work on the thread that drives the
 * appends, which is what a regression in the encode/append path would cost.
 */
import { SluiceError } from '../../src/core/errors.js'

export const slowdownVariable = 'SLUICE_BENCH_SLOWDOWN'

/** The factor from the environment: 1 (no slowdown) when unset. */
export function slowdownFactor (environment: NodeJS.ProcessEnv = process.env): number {
  const text = environment[slowdownVariable]
  if (text === undefined || text === '') return 1
  const factor = Number(text)
  if (!Number.isFinite(factor) || factor < 1 || factor > 100) {
    throw new SluiceError('SLUICE_INVALID_OPTION', `${slowdownVariable} must be a number from 1 to 100, got '${text}'`)
  }
  return factor
}

/** Busy-waits for `nanoseconds` on the calling thread. */
export function spin (nanoseconds: number): void {
  if (!(nanoseconds > 0)) return
  const end = process.hrtime.bigint() + BigInt(Math.round(nanoseconds))
  while (process.hrtime.bigint() < end) { /* the spin is the work */ }
}

/**
 * Wraps an async operation so that each call costs `factor` times its own duration. With a
 * factor of 1 the operation is returned unchanged (no wrapper on the measured path).
 */
export function slowedDown<A extends unknown[], R> (operation: (...args: A) => Promise<R>, factor: number): (...args: A) => Promise<R> {
  if (factor === 1) return operation
  return async (...args: A): Promise<R> => {
    const start = process.hrtime.bigint()
    const result = await operation(...args)
    spin(Number(process.hrtime.bigint() - start) * (factor - 1))
    return result
  }
}
