import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { discoverSuites, foldIntoSink, runMicro } from '../../bench/micro/run.js'

const root = path.resolve(import.meta.dirname, '..', '..')

function runCli (args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const tsxCli = createRequire(import.meta.url).resolve('tsx/cli')
  const child = spawn(process.execPath, [tsxCli, path.join(root, 'bench', 'micro', 'run.ts'), ...args], { cwd: root, env: { ...process.env, ...env } })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`micro smoke run exceeded 150 s\n${stdout}\n${stderr}`)) }, 150_000)
    child.once('error', reject)
    child.once('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }) })
  })
}

describe('micro benchmark runner', () => {
  test('every bench/micro suite runs in smoke mode without failures, within the time bound', async () => {
    const suites = await discoverSuites()
    const started = Date.now()
    const { code, stdout, stderr } = await runCli([], { BENCH_SMOKE: '1' })
    expect(stderr, stdout).not.toMatch(/failure/)
    expect(code).toBe(0)
    for (const suite of suites) expect(stdout).toContain(`${path.basename(suite, '.bench.ts')} (smoke: not a measurement)`)
    expect(stdout).toMatch(/^sink [0-9a-f]{8}$/m)
    expect(Date.now() - started).toBeLessThan(150_000)
  }, 180_000)

  test('a throwing task and a suite that fails to load are reported as failures, not hidden', async () => {
    const directory = await mkdtemp(path.join(os.tmpdir(), 'sluice-micro-test-'))
    try {
      const good = path.join(directory, 'good.bench.ts')
      const bad = path.join(directory, 'bad.bench.ts')
      await writeFile(good, `export default ({ smoke }) => [
        { name: 'sum', fn: () => { let s = 0; for (let i = 0; i < (smoke ? 8 : 1024); i++) s += i; return s }, bytesPerOp: 1024, recordsPerOp: 8 },
        { name: 'throws', fn: () => { throw new Error('deliberate') } }
      ]\n`)
      await writeFile(bad, 'export const notDefault = 1\n')
      const lines: string[] = []
      const summary = await runMicro({ smoke: true, filter: '', write: (line) => { lines.push(line) } }, [bad, good])
      expect(summary.failures).toEqual([
        'bad: default export is not a function returning MicroTask[]',
        'good/throws: deliberate'
      ])
      const sum = summary.results.find((result) => result.task === 'sum')!
      expect(sum.opsPerSecond).toBeGreaterThan(0)
      expect(sum.gbPerSecond).toBeCloseTo((1024 * sum.opsPerSecond) / 1e9)
      expect(sum.recordsPerSecond).toBeCloseTo(8 * sum.opsPerSecond)

      const filtered = await runMicro({ smoke: true, filter: 'good/sum', write: () => {} }, [good])
      expect(filtered.results.map((result) => result.task)).toEqual(['sum'])
      expect(filtered.failures).toEqual([])
    } finally {
      await rm(directory, { recursive: true, force: true })
    }
  }, 60_000)

  test('the sink depends on every folded value and on their order', () => {
    const a = foldIntoSink(foldIntoSink(0, 1), 2)
    const b = foldIntoSink(foldIntoSink(0, 2), 1)
    expect(a).not.toBe(b)
    expect(foldIntoSink(0, Buffer.from([1, 2, 3]))).not.toBe(foldIntoSink(0, Buffer.from([1, 2, 4])))
    expect(foldIntoSink(0, 5)).toBe(foldIntoSink(0, 5))
  })
})
