/**
 * Deliberate slowdown for proving the perf check: `SLUICE_BENCH_SLOWDOWN=<factor>` makes the
 * measured append path do extra work, so that `append_ratio_raw` drops and `npm run perf:check`
 * must fail naming it.
 *
 * The work is added on the bench side, never in engine code: while the append scenario runs,
 * `PartitionLog.prototype.append` is wrapped so that each call, after the engine's synchronous
 * part (validation, CRC, copy into the tail, offset assignment) returns its promise, spins the
 * main thread for `(factor - 1)` times that part's duration. In other words the main-thread cost
 * of every append is multiplied by `factor`, as a regression in the encode/validate/copy path
 * would multiply it. How much the throughput falls depends on how main-thread-bound the append
 * is (the write itself runs on libuv's threadpool); bench/README.md records what was measured.
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
 * Wraps `target[name]` so each call's synchronous part costs `factor` times as much; returns
 * the function that restores the original. With a factor of 1 nothing is wrapped.
 */
export function slowDownMethod (target: object, name: string, factor: number): () => void {
  if (factor === 1) return () => {}
  const holder = target as Record<string, unknown>
  const original = holder[name]
  if (typeof original !== 'function') throw new Error(`cannot slow down ${name}: not a method`)
  holder[name] = function slowedDown (this: unknown, ...args: unknown[]): unknown {
    const start = process.hrtime.bigint()
    const result: unknown = original.apply(this, args)
    spin(Number(process.hrtime.bigint() - start) * (factor - 1))
    return result
  }
  return () => { holder[name] = original }
}
