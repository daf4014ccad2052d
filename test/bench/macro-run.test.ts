import { existsSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { isRatioKey } from '../../bench/macro/figures.js'
import { formatResults, jsonLine, measure, parseBenchArguments } from '../../bench/macro/run.js'
import type { BenchProfile, Scenario } from '../../bench/macro/scenario.js'

/** Small enough for a test, same code path as --quick. */
const tinyProfile: BenchProfile = { quick: true, appendBytes: 8 * 2 ** 20, syncAppendCount: 10, syncAppendBytes: 4096, rawRepetitions: 1, copyBytes: 4 * 2 ** 20, engineRepetitions: 1, alwaysBytes: 2 ** 20, sweepBytes: 2 ** 20, partitions: 10 }

const silent = { out: () => {}, progress: () => {} }

describe('macro benchmark runner', () => {
  test('raw figures are measured, scenarios run in removed temp directories, undeclared keys fail the scenario', async () => {
    const directories: string[] = []
    const scenarios: Scenario[] = [
      {
        id: 'declared',
        title: 'a scenario that keeps its contract',
        keys: ['append_mb_s', 'append_msgs_s'],
        run: async (context) => {
          directories.push(await context.makeDataDirectory())
          expect(context.raw.raw_write_mb_s).toBeGreaterThan(0)
          return { figures: { append_mb_s: context.raw.raw_write_mb_s! / 2, append_msgs_s: 1000 }, rows: [{ scenario: 'declared', kind: 'engine', label: 'declared', mbPerSecond: 1 }] }
        }
      },
      {
        id: 'undeclared',
        title: 'a scenario that produces a key it did not declare',
        keys: ['consume_mb_s'],
        run: async (context) => {
          directories.push(await context.makeDataDirectory())
          return { figures: { consume_mb_s: 1, broker_fetch_mb_s: 2 }, rows: [] }
        }
      },
      { id: 'absent', title: 'an engine part that does not exist yet', keys: ['broker_produce_msgs_s'], run: async () => ({ skipped: 'not built yet' }) },
      { id: 'throws', title: 'a scenario that throws', keys: ['recovery_ms_1gib'], run: async () => { throw new Error('deliberate') } }
    ]
    const results = await measure(tinyProfile, scenarios, silent)

    for (const key of ['raw_write_mb_s', 'raw_write_first_touch_mb_s', 'raw_read_mb_s', 'raw_fdatasync_p50_ms', 'raw_fdatasync_p99_ms', 'raw_sync_write_mb_s', 'raw_copy_gb_s'] as const) {
      expect(results.figures[key], key).toBeGreaterThan(0)
    }
    expect(results.figures.raw_fdatasync_p99_ms!).toBeGreaterThanOrEqual(results.figures.raw_fdatasync_p50_ms!)
    expect(results.figures.append_ratio_raw).toBeCloseTo(0.5)
    expect(results.scenarios.map((scenario) => [scenario.id, scenario.status])).toEqual([
      ['declared', 'ok'], ['undeclared', 'failed'], ['absent', 'skipped'], ['throws', 'failed']
    ])
    expect(results.scenarios[1]!.detail).toMatch(/produced 'broker_fetch_mb_s' without declaring it/)
    // Missing figures are absent, never zero.
    expect(results.figures).not.toHaveProperty('consume_mb_s')
    expect(results.figures).not.toHaveProperty('broker_produce_msgs_s')
    expect(results.figures).not.toHaveProperty('recovery_ms_1gib')
    for (const directory of directories) expect(existsSync(directory), directory).toBe(false)

    const json = JSON.parse(jsonLine(results)) as Record<string, unknown>
    expect(Object.values(json).every((value) => typeof value === 'number')).toBe(true)
    expect(Object.keys(json).filter(isRatioKey)).toEqual(['append_ratio_raw'])
    const text = formatResults(results).join('\n')
    expect(text).toContain('append_ratio_raw')
    expect(text).toContain('skipped: absent (not built yet)')
  }, 60_000)

  test('arguments are validated with typed errors', () => {
    expect(parseBenchArguments(['--quick', '--json', '--report', 'r.html'])).toMatchObject({ quick: true, json: true, report: 'r.html', save: true })
    expect(() => parseBenchArguments(['--fast'])).toThrow(expect.objectContaining({ code: 'SLUICE_INVALID_OPTION' }))
    expect(() => parseBenchArguments(['--report'])).toThrow(/needs a value/)
    expect(() => parseBenchArguments(['--only', 'no-such-scenario'])).toThrow(/unknown scenario/)
  })
})
