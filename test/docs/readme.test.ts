/**
 * README.md stays true: its embedded quick start, its broker command, its kafkajs example and
 * its kcat lines run here as written (only the package import and the port are substituted)
 * and their output is checked.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'

const root = fileURLToPath(new URL('../../', import.meta.url))
/** tsx's loader by path: the scripts run from a temporary directory, outside this package. */
const tsx = pathToFileURL(join(root, 'node_modules/tsx/dist/loader.mjs')).href
let readme: string
let directory: string
const children: ChildProcess[] = []

beforeAll(async () => {
  readme = await readFile(join(root, 'README.md'), 'utf8')
  directory = await mkdtemp(join(tmpdir(), 'sluice-readme-'))
})
afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  await rm(directory, { recursive: true, force: true })
})

/** The first fenced block of `language` after the line `after`. */
function codeBlock (after: string, language: string): string {
  const start = readme.indexOf(after)
  expect(start, `README has "${after}"`).toBeGreaterThanOrEqual(0)
  const fence = readme.indexOf('```' + language + '\n', start)
  const end = readme.indexOf('\n```', fence + 4)
  return readme.slice(fence + language.length + 4, end + 1)
}

interface Running { child: ChildProcess, output: () => string, errors: () => string, exited: Promise<number | null> }

function run (command: string, args: string[]): Running {
  const child = spawn(command, args, { cwd: directory, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let output = ''
  let errors = ''
  child.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr!.on('data', (chunk: Buffer) => { errors += chunk.toString() })
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => { resolve(code) }))
  return { child, output: () => output, errors: () => errors, exited }
}

function stop (running: Running, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (running.child.exitCode === null && running.child.signalCode === null) process.kill(running.child.pid!, signal)
}

/** Resolves once `running` printed something matching `pattern`; fails after `timeoutMs`. */
async function waitForOutput (running: Running, pattern: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs
  // Bounded by the deadline.
  for (;;) {
    const match = pattern.exec(running.output())
    if (match !== null) return match
    if (Date.now() > deadline || running.child.exitCode !== null) throw new Error(`no ${String(pattern)} in: ${running.output()}; stderr: ${running.errors()}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** A script file for `code` with its package imports pointed at this checkout. */
async function script (name: string, code: string): Promise<string> {
  const path = join(directory, name)
  const source = code
    .replace(/from 'sluice'/g, `from '${pathToFileURL(join(root, 'src/index.ts')).href}'`)
    .replace(/from 'kafkajs'/g, `from '${pathToFileURL(join(root, 'node_modules/kafkajs/index.js')).href}'`)
  await writeFile(path, source)
  return path
}

describe('README examples', () => {
  test('the embedded quick start runs as pasted and prints the first message', async () => {
    const code = codeBlock('## Embedded quick start', 'ts')
    const running = run(process.execPath, ['--import', tsx, await script('quick-start.mts', code)])
    expect(await running.exited, running.errors()).toBe(0)
    expect(running.output()).toMatch(/^orders [0-2] 0 customer-42 \{"item":"tea","qty":2\}\n$/)
  })

  test('the consumer lag example shows the shape and figures admin.lag returns', async () => {
    const block = codeBlock('### Consumer lag', 'ts')
    expect(block.split('\n')[0]).toBe("const lag = sluice.admin().lag('billing')")
    // The commented result, without its trailing "...": a literal to compare against.
    const shown = block.split('\n').slice(1).map((line) => line.replace(/^\/\/ ?/, '')).join('\n').replace(/, \.\.\.\]/, ']')
    const expected = new Function(`return (${shown})`)() as { partitions: Array<{ committedOffset: number, logEndOffset: number }> }
    const { Sluice } = await import('../../src/index.js')
    const sluice = await Sluice.open({ dataDir: join(directory, 'lag'), offsetsTopicPartitions: 1 })
    try {
      await sluice.admin().createTopics({ topics: [{ topic: 'orders', numPartitions: 1 }] })
      const producer = sluice.producer()
      await producer.sendBulk({ topic: 'orders', partition: 0, values: Array.from({ length: expected.partitions[0]!.logEndOffset }, (_, index) => Buffer.from(String(index))) })
      await producer.close()
      await sluice.admin().setOffsets('billing', 'orders', [{ partition: 0, offset: expected.partitions[0]!.committedOffset }])
      expect(sluice.admin().lag('billing')).toEqual(expected)
    } finally {
      await sluice.close()
    }
  })

  test('the broker command prints what the README shows; the kafkajs example and the kcat lines work against it', async () => {
    const brokerBlock = codeBlock('## Broker', 'sh')
    const [command, shown] = brokerBlock.trim().split('\n')
    expect(command).toBe('npx sluice broker --data ./sluice-data --port 9092')
    // The same command from source, on a free port (9092 may be taken on a shared machine).
    const broker = run(process.execPath, ['--import', tsx, join(root, 'src/cli/main.ts'), 'broker', '--data', './sluice-data', '--port', '0'])
    const [firstLine, port] = await waitForOutput(broker, /^Sluice broker listening on 127\.0\.0\.1:(\d+) .*$/m)
    expect(`# ${firstLine}`).toBe(shown!.replace(':9092', `:${port!}`))

    const kafkajsCode = codeBlock('With kafkajs:', 'js').replace(/127\.0\.0\.1:9092/g, `127.0.0.1:${port!}`)
    const example = run(process.execPath, [await script('kafkajs-example.mjs', kafkajsCode)])
    await waitForOutput(example, /^hello$/m, 60_000)
    stop(example)

    const kcatLines = codeBlock('With kcat:', 'sh').trim().split('\n').map((line) => line.replace(/\s+# .*$/, '').replace(/127\.0\.0\.1:9092/g, `127.0.0.1:${port!}`))
    expect(kcatLines).toHaveLength(4)
    const metadata = run('sh', ['-c', kcatLines[0]!])
    expect(await metadata.exited).toBe(0)
    expect(metadata.output()).toContain('topic "orders" with 1 partitions:')
    const produce = run('sh', ['-c', kcatLines[1]!])
    expect(await produce.exited).toBe(0)
    const consume = run('sh', ['-c', kcatLines[2]!])
    expect(await consume.exited).toBe(0)
    expect(consume.output()).toBe('k1 hello\nk1 hello\nk2 world\n')
    // The group member joins, is assigned the partition and prints what the group has not
    // committed (-u: unbuffered, as stdout is a pipe here). Under another group name: the README shows kafkajs and kcat as alternatives, and
    // the killed kafkajs member stays in 'billing' until its session times out, with an assignor
    // librdkafka does not share (INCONSISTENT_GROUP_PROTOCOL, as Kafka answers too).
    const member = run('sh', ['-c', `exec ${kcatLines[3]!.replace('-G billing', '-G billing-kcat')} -u -q -f '%k %s\\n' -X auto.offset.reset=earliest`])
    await waitForOutput(member, /k2 world\n/, 60_000)
    stop(member)
    stop(broker, 'SIGTERM')
    expect(await broker.exited).toBe(0)
  }, 120_000)
})
