/**
 * Contract between micro-benchmark files and the runner (`bench/micro/run.ts`).
 *
 * Each `bench/micro/<module>.bench.ts` default-exports a function returning its tasks. Inputs are
 * built in that function (outside the timed body); `fn` returns a value the runner folds into a
 * printed sink so the work cannot be optimised away. `bytesPerOp` / `recordsPerOp` let the runner
 * print GB/s and records/s next to ops/s.
 */
export interface MicroTask {
  name: string
  fn: () => unknown
  bytesPerOp?: number
  recordsPerOp?: number
}

export interface MicroOptions {
  /** Tiny inputs and few iterations: CI runs every bench this way so none of them rots. */
  smoke: boolean
}

export type MicroSuite = (options: MicroOptions) => MicroTask[] | Promise<MicroTask[]>
