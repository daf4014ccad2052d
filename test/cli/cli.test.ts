import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { main } from '../../src/cli/main.js'

let dataDir: string

beforeEach(async () => { dataDir = await mkdtemp(join(tmpdir(), 'sluice-cli-')) })
afterEach(async () => { await rm(dataDir, { recursive: true, force: true }) })

async function run (argv: string[], input = ''): Promise<{ code: number, stdout: string, stderr: string }> {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  const out: Buffer[] = []
  const err: Buffer[] = []
  stdout.on('data', (chunk: Buffer) => out.push(chunk))
  stderr.on('data', (chunk: Buffer) => err.push(chunk))
  const code = await main(argv, { stdout, stderr, stdin: Readable.from([input]) })
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }
}

describe('sluice CLI', () => {
  test('help lists every command and exits 0; no command is a usage error', async () => {
    const help = await run(['--help'])
    expect(help.code).toBe(0)
    for (const name of ['broker', 'topics', 'produce', 'consume', 'groups', 'bench']) expect(help.stdout).toContain(name)
    expect((await run([])).code).toBe(2)
    expect((await run(['nope'])).code).toBe(2)
    const topicHelp = await run(['topics', '--help'])
    expect(topicHelp.code).toBe(0)
    expect(topicHelp.stdout).toContain('--partitions')
  })

  test('topics create, list, describe, alter, delete', async () => {
    expect((await run(['topics', 'create', 'orders', '--partitions', '3', '--config-entry', 'retention.ms=60000', '--data', dataDir])).code).toBe(0)
    const list = await run(['topics', 'list', '--data', dataDir])
    expect(list.stdout.trim().split('\n')).toEqual(['orders'])
    const described = await run(['topics', 'describe', 'orders', '--data', dataDir])
    expect(described.stdout).toContain('PartitionCount: 3')
    expect(described.stdout).toContain('retention.ms=60000')
    expect((await run(['topics', 'alter', 'orders', '--partitions', '5', '--data', dataDir])).code).toBe(0)
    expect((await run(['topics', 'describe', 'orders', '--data', dataDir])).stdout).toContain('PartitionCount: 5')
    const shrink = await run(['topics', 'alter', 'orders', '--partitions', '2', '--data', dataDir])
    expect(shrink.code).toBe(1)
    expect(shrink.stderr).toContain('INVALID_PARTITIONS')
    expect((await run(['topics', 'delete', 'orders', '--data', dataDir])).code).toBe(0)
    expect((await run(['topics', 'list', '--data', dataDir])).stdout.trim()).toBe('')
  })

  test('produce lines with keys from stdin and a file; consume them back formatted', async () => {
    await run(['topics', 'create', 'lines', '--partitions', '2', '--data', dataDir])
    const produced = await run(['produce', 'lines', '--key-separator', ':', '--data', dataDir], 'a:1\nb:2\na:3\n')
    expect(produced.code).toBe(0)
    expect(produced.stdout).toContain('produced 3 record(s)')
    const file = join(dataDir, 'input.txt')
    await writeFile(file, 'c:4\nd:5\n')
    expect((await run(['produce', 'lines', '--key-separator', ':', '--file', file, '--data', dataDir])).code).toBe(0)
    const consumed = await run(['consume', 'lines', '--from-beginning', '--exit', '--format', '%k=%v', '--data', dataDir])
    expect(consumed.code).toBe(0)
    const records = consumed.stdout.trim().split('\n')
    expect(records.sort()).toEqual(['a=1', 'a=3', 'b=2', 'c=4', 'd=5'])
    // Per key order holds: a=1 before a=3.
    expect(consumed.stdout.indexOf('a=1')).toBeLessThan(consumed.stdout.indexOf('a=3'))
    const limited = await run(['consume', 'lines', '--from-beginning', '--max-messages', '2', '--data', dataDir])
    expect(limited.stdout.trim().split('\n')).toHaveLength(2)
  })

  test('consume as a group commits; groups describe shows the lag', async () => {
    await run(['topics', 'create', 'g', '--data', dataDir])
    await run(['produce', 'g', '--data', dataDir], 'x\ny\nz\n')
    const first = await run(['consume', 'g', '--group', 'readers', '--from-beginning', '--max-messages', '2', '--data', dataDir])
    expect(first.stdout.trim().split('\n')).toEqual(['x', 'y'])
    const described = await run(['groups', 'describe', 'readers', '--data', dataDir])
    expect(described.code).toBe(0)
    expect(described.stdout).toMatch(/g\t0\t2\t3\t1/)
    const second = await run(['consume', 'g', '--group', 'readers', '--exit', '--data', dataDir])
    expect(second.stdout.trim()).toBe('z')
  })

  test('settings: flags win over environment, environment over the config file', async () => {
    const config = join(dataDir, 'sluice.config.json')
    const fromFile = join(dataDir, 'from-file')
    const fromEnv = join(dataDir, 'from-env')
    await writeFile(config, JSON.stringify({ data: fromFile }))
    await run(['topics', 'create', 'in-file', '--config', config])
    expect((await run(['topics', 'list', '--data', fromFile])).stdout.trim()).toBe('in-file')
    process.env.SLUICE_DATA = fromEnv
    try {
      await run(['topics', 'create', 'in-env', '--config', config])
      expect((await run(['topics', 'list', '--data', fromEnv])).stdout.trim()).toBe('in-env')
      await run(['topics', 'create', 'in-flag', '--config', config, '--data', join(dataDir, 'from-flag')])
      expect((await run(['topics', 'list', '--data', join(dataDir, 'from-flag')])).stdout.trim()).toBe('in-flag')
    } finally {
      delete process.env.SLUICE_DATA
    }
  })

  test('readable errors and exit codes: unknown option 2, bad topic name 1, unknown topic 1', async () => {
    const unknown = await run(['topics', 'list', '--bogus', '--data', dataDir])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('--bogus')
    const badName = await run(['topics', 'create', 'bad name!', '--data', dataDir])
    expect(badName.code).toBe(1)
    expect(badName.stderr).toContain('INVALID_TOPIC_EXCEPTION')
    const missing = await run(['topics', 'describe', 'missing', '--data', dataDir])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('UNKNOWN_TOPIC_OR_PARTITION')
  })
})
