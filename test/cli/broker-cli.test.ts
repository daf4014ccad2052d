import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Kafka, logLevel } from 'kafkajs'
import { afterEach, beforeEach, expect, test } from 'vitest'

let dataDir: string
beforeEach(async () => { dataDir = await mkdtemp(join(tmpdir(), 'sluice-broker-cli-')) })
afterEach(async () => { await rm(dataDir, { recursive: true, force: true }) })

test('sluice broker prints where it listens, serves a Kafka client, and stops cleanly on SIGINT', async () => {
  // The built CLI, as `npx sluice broker` runs it (npm test builds first).
  const child = spawn(process.execPath, ['dist/cli/main.js', 'broker', '--port', '0', '--data', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const exited = new Promise<number | null>((resolve) => { child.on('exit', (code) => { resolve(code) }) })
  try {
    const deadline = Date.now() + 20_000
    while (!/listening on 127\.0\.0\.1:\d+/.test(stdout)) {
      if (Date.now() > deadline) throw new Error(`broker did not start: ${stdout} ${stderr}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(stdout)![1])
    expect(port).toBeGreaterThan(0)
    expect(stdout).toContain(`kcat -b 127.0.0.1:${port} -L`)

    const kafka = new Kafka({ clientId: 'cli-test', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING })
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: 'cli', numPartitions: 2 }] })
    await admin.disconnect()
    const producer = kafka.producer()
    await producer.connect()
    await producer.send({ topic: 'cli', messages: [{ key: 'a', value: 'one' }, { key: 'b', value: 'two' }] })
    await producer.disconnect()
    const offsets = await (async () => {
      const reader = kafka.admin()
      await reader.connect()
      try { return await reader.fetchTopicOffsets('cli') } finally { await reader.disconnect() }
    })()
    expect(offsets.reduce((total, entry) => total + Number(entry.high), 0)).toBe(2)
  } finally {
    child.kill('SIGINT')
  }
  expect(await exited).toBe(0)
  expect(stderr).toContain('stopped cleanly')
  expect(existsSync(join(dataDir, '.sluice-clean-shutdown'))).toBe(true)
  expect(existsSync(join(dataDir, '.lock'))).toBe(false)
})
