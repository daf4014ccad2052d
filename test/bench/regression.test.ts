import { describe, expect, test } from 'vitest'
import { bestOf, buildBaseline, compareToBaseline, parseBaseline, parseJsonLine, toleranceFromNoise, noiseOf, type Baseline } from '../../bench/macro/regression.js'
import { slowDownMethod, slowdownFactor } from '../../bench/macro/slowdown.js'

/** A run's figures as the quick benchmark prints them, with the engine at a given speed. */
function run (appendMbPerSecond: number, options: { rawWrite?: number, e2eAllP99?: number } = {}): Record<string, number> {
  const rawWrite = options.rawWrite ?? 5000
  const figures: Record<string, number> = {
    raw_write_mb_s: rawWrite,
    raw_read_mb_s: 20000,
    raw_fdatasync_p99_ms: 2,
    append_mb_s: appendMbPerSecond,
    append_ratio_raw: appendMbPerSecond / rawWrite,
    consume_mb_s: 16000,
    consume_ratio_raw: 0.8
  }
  if (options.e2eAllP99 !== undefined) {
    figures.e2e_all_p99_ms = options.e2eAllP99
    figures.e2e_all_p99_ratio_raw = options.e2eAllP99 / 2
  }
  return figures
}

function baselineOf (runs: Array<Record<string, number>>): Baseline {
  return buildBaseline(runs, { machine: 'test machine', source: 'abc1234', createdAt: '2026-01-01T00:00:00.000Z' })
}

describe('perf-regression check', () => {
  const runs = [run(4000), run(4100), run(3900), run(4050), run(3950)]
  const baseline = baselineOf(runs)

  test('equal results pass', () => {
    const report = compareToBaseline(run(4000), baseline)
    expect(report.passed).toBe(true)
    expect(report.lines.some((line) => line.startsWith('FAIL'))).toBe(false)
    expect(report.comparisons.find((comparison) => comparison.key === 'append_ratio_raw')?.status).toBe('ok')
  })

  test('a run slowed by a factor of 2 on the append path fails naming append_ratio_raw', () => {
    const report = compareToBaseline(run(2000), baseline)
    expect(report.passed).toBe(false)
    const failures = report.lines.filter((line) => line.startsWith('FAIL'))
    expect(failures).toHaveLength(1)
    expect(failures[0]).toBe('FAIL append_ratio_raw: 0.4 vs baseline 0.8, 2.00x worse (a 50.0 % drop), beyond the tolerance of 1.10x')
  })

  test('the ratio cancels a machine that is slower as a whole', () => {
    // Disk and engine both at 60 %: the absolute figure drops 40 %, the ratio does not move.
    expect(compareToBaseline(run(2400, { rawWrite: 3000 }), baseline).passed).toBe(true)
  })

  test('a latency ratio fails when it rises beyond tolerance, and passes when it falls', () => {
    const withLatency = baselineOf([run(4000, { e2eAllP99: 4 }), run(4000, { e2eAllP99: 4.2 }), run(4000, { e2eAllP99: 3.9 })])
    const slower = compareToBaseline(run(4000, { e2eAllP99: 8 }), withLatency)
    expect(slower.passed).toBe(false)
    expect(slower.lines[0]).toMatch(/^FAIL e2e_all_p99_ratio_raw: .* rise/)
    expect(compareToBaseline(run(4000, { e2eAllP99: 1 }), withLatency).passed).toBe(true)
  })

  test('a figure in the baseline but missing from the run fails by name', () => {
    const figures = run(4000)
    delete figures.append_ratio_raw
    const report = compareToBaseline(figures, baseline)
    expect(report.passed).toBe(false)
    expect(report.lines[0]).toMatch(/^FAIL append_ratio_raw: not measured in this run/)
  })

  test('a new ratio not yet in the baseline is reported but does not fail', () => {
    const report = compareToBaseline({ ...run(4000), broker_fetch_ratio_raw: 0.5 }, baseline)
    expect(report.passed).toBe(true)
    expect(report.lines.some((line) => line.startsWith('new  broker_fetch_ratio_raw'))).toBe(true)
  })

  test('confirmation keeps the better value of each figure (direction-aware)', () => {
    expect(bestOf({ append_ratio_raw: 0.5, e2e_all_p99_ratio_raw: 3 }, { append_ratio_raw: 0.7, e2e_all_p99_ratio_raw: 2 }))
      .toEqual({ append_ratio_raw: 0.7, e2e_all_p99_ratio_raw: 2 })
  })

  test('tolerance comes from the noise: floor, worst factor to the margin power, 0.05 steps', () => {
    expect(toleranceFromNoise(noiseOf('append_ratio_raw', [1, 1, 1]))).toBe(1.1)
    // Worst run 0.5 against a median of 1.0: 2x worse -> 2 ^ 1.5 = 2.83 -> 2.85.
    expect(toleranceFromNoise(noiseOf('append_ratio_raw', [1, 0.5, 1.1]))).toBeCloseTo(2.85)
    // Latency: worst run 1.3 against a median of 1.0 -> 1.3 ^ 1.5 = 1.48 -> 1.5.
    expect(toleranceFromNoise(noiseOf('e2e_all_p99_ratio_raw', [1, 1.3, 0.9]))).toBeCloseTo(1.5)
    // Runs better than the median do not widen the tolerance.
    expect(noiseOf('append_ratio_raw', [1, 1, 3]).worstFactor).toBe(1)
    expect(baseline.tolerances.append_ratio_raw).toBe(1.1)
    expect(baseline.tolerances.raw_write_mb_s).toBeUndefined()
  })

  test('a new baseline keeps the wider of the new and the previous tolerance', () => {
    const previous = { ...baseline, tolerances: { append_ratio_raw: 1.6, consume_ratio_raw: 1.05 } }
    const next = buildBaseline(runs, { machine: 'm', source: 's', createdAt: 'now', previous })
    expect(next.tolerances.append_ratio_raw).toBe(1.6)
    expect(next.tolerances.consume_ratio_raw).toBe(1.1)
    expect(next.method).toContain('never below the previous baseline')
  })

  test('a tolerance above 2x still fails a large enough drop (a percentage could not)', () => {
    const noisy = baselineOf([run(4000), run(1000), run(4100), run(3900), run(4050)])
    // Worst run 4x below the median: tolerance 4 ^ 1.5 = 8x.
    expect(noisy.tolerances.append_ratio_raw).toBe(8)
    expect(compareToBaseline(run(800), noisy).passed).toBe(true)
    const report = compareToBaseline(run(400), noisy)
    expect(report.passed).toBe(false)
    expect(report.lines[0]).toMatch(/^FAIL append_ratio_raw: .* 10\.00x worse \(a 90\.0 % drop\), beyond the tolerance of 8\.00x$/)
  })

  test('bad baselines and bad benchmark output are typed errors', () => {
    expect(() => parseBaseline('not json', 'baseline.json')).toThrow(expect.objectContaining({ code: 'SLUICE_INVALID_OPTION' }))
    expect(() => parseBaseline('{"format":2}', 'baseline.json')).toThrow(/not a format-1 baseline/)
    expect(() => parseBaseline(JSON.stringify({ ...baseline, figures: { append_ratio_raw: -1 } }), 'b')).toThrow(/not a positive number/)
    expect(() => parseBaseline(JSON.stringify({ ...baseline, tolerances: { append_ratio_raw: 0.5 } }), 'b')).toThrow(/out of range/)
    expect(parseBaseline(JSON.stringify(baseline), 'b').figures.append_ratio_raw).toBeCloseTo(0.8)
    expect(() => parseJsonLine('table\nno json')).toThrow(/no JSON line/)
    expect(() => parseJsonLine('{"a": "x"}')).toThrow(/not a finite number/)
    expect(parseJsonLine('table\n{"append_mb_s": 1}\n')).toEqual({ append_mb_s: 1 })
    expect(() => buildBaseline([run(1), run(1)], { machine: '', source: '', createdAt: '' })).toThrow(/at least 3 runs/)
  })
})

describe('deliberate slowdown', () => {
  test('SLUICE_BENCH_SLOWDOWN is validated', () => {
    expect(slowdownFactor({})).toBe(1)
    expect(slowdownFactor({ SLUICE_BENCH_SLOWDOWN: '2.5' })).toBe(2.5)
    for (const bad of ['0.5', 'fast', '1000']) {
      expect(() => slowdownFactor({ SLUICE_BENCH_SLOWDOWN: bad })).toThrow(expect.objectContaining({ code: 'SLUICE_INVALID_OPTION' }))
    }
  })

  test('a slowed-down method costs about factor x its synchronous part, and is restored', async () => {
    class Log {
      calls = 0
      async append (value: number): Promise<number> {
        this.calls++
        const end = process.hrtime.bigint() + 2_000_000n
        while (process.hrtime.bigint() < end) { /* 2 ms of synchronous work */ }
        return value * 2
      }
    }
    const original = Log.prototype.append
    expect(slowDownMethod(Log.prototype, 'append', 1)).toBeTypeOf('function')
    expect(Log.prototype.append).toBe(original)
    const restore = slowDownMethod(Log.prototype, 'append', 3)
    expect(Log.prototype.append).not.toBe(original)
    const log = new Log()
    const start = process.hrtime.bigint()
    expect(await log.append(21)).toBe(42)
    expect(log.calls).toBe(1)
    expect(Number(process.hrtime.bigint() - start) / 1e6).toBeGreaterThanOrEqual(6)
    restore()
    expect(Log.prototype.append).toBe(original)
  })
})
