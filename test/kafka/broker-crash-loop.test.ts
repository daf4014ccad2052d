/**
 * The broker as users run it (`sluice broker`, a separate process) is killed with SIGKILL while
 * a kafkajs producer sends with acks=-1, restarted on the same data directory, again and again.
 * Every record the broker acknowledged must be stored exactly once afterwards, and the
 * restarted broker must start although the previous one never released its lock.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import kafkajs from 'kafkajs'
import { afterAll, expect, test } from 'vitest'
import { Engine } from '../../src/engine/engine.js'
import { storedBatchViews } from '../support/stored-batches.js'

const { Kafka, logLevel } = kafkajs
const cli = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))
const directories: string[] = []
/** Every broker started, killed in afterAll if a failure skipped its kill. */
const brokers: ChildProcess[] = []
afterAll(async () => {
  for (const child of brokers) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  for (const directory of directories) await rm(directory, { recursive: true, force: true })
})

/** Starts `sluice broker` on a free port and resolves with the process and its port. */
async function startBroker (dataDir: string, flush: 'always' | 'interval'): Promise<{ child: ChildProcess, port: number, exited: Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', cli, 'broker', '--data', dataDir, '--port', '0', '--flush', flush, '--no-auto-create-topics'], { stdio: ['ignore', 'pipe', 'pipe'] })
  brokers.push(child)
  const exited = new Promise<void>((resolve) => child.on('exit', () => { resolve() }))
  let output = ''
  let errors = ''
  child.stderr!.on('data', (chunk: Buffer) => { errors += chunk.toString() })
  const port = await new Promise<number>((resolve, reject) => {
    const timeout = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`broker never listened: ${errors}`)) }, 30_000)
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      const match = /listening on 127\.0\.0\.1:(\d+)/.exec(output)
      if (match !== null) { clearTimeout(timeout); resolve(Number(match[1])) }
    })
    child.on('exit', (code) => { clearTimeout(timeout); reject(new Error(`broker exited with ${String(code)}: ${errors}`)) })
  })
  return { child, port, exited }
}

test.each(['always', 'interval'] as const)('SIGKILL of the broker while kafkajs produces with acks=-1 (flush %s) loses no acknowledged record', async (flush) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'sluice-broker-crash-'))
  directories.push(dataDir)
  const acknowledged: string[] = []
  let sequence = 0
  for (let round = 0; round < 3; round++) {
    const broker = await startBroker(dataDir, flush)
    const kafka = new Kafka({ brokers: [`127.0.0.1:${broker.port}`], logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 2000, requestTimeout: 2000 })
    if (round === 0) {
      const admin = kafka.admin()
      await admin.connect()
      await admin.createTopics({ topics: [{ topic: 'crash', numPartitions: 2 }] })
      await admin.disconnect()
    }
    const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } })
    await producer.connect()
    const killAt = Date.now() + 300 + Math.floor(Math.random() * 700)
    const sends: Array<Promise<void>> = []
    // Bounded by the kill time and a count; several requests stay in flight when the kill lands.
    while (Date.now() < killAt && sequence < 2_000_000) {
      const values = Array.from({ length: 50 }, () => `r${round}-${sequence++}`)
      sends.push(producer.send({ topic: 'crash', acks: -1, messages: values.map((value, index) => ({ value, partition: index % 2 })) })
        .then(() => { acknowledged.push(...values) }, () => {}))
      if (sends.length % 8 === 0) await Promise.race([Promise.all(sends.slice(-8)), new Promise((resolve) => setTimeout(resolve, 5))])
    }
    broker.child.kill('SIGKILL')
    await broker.exited
    await Promise.allSettled(sends)
    await producer.disconnect().catch(() => {})
  }
  expect(acknowledged.length).toBeGreaterThan(0)

  // The engine recovers the directory in this process; a stale lock must not stop it either.
  const engine = await Engine.open({ dataDir, flush })
  const stored = new Map<string, number>()
  try {
    for (const partition of [0, 1]) {
      for (const batch of await storedBatchViews(engine, 'crash', partition)) {
        for (const record of batch) {
          const value = Buffer.from(record.value!).toString()
          stored.set(value, (stored.get(value) ?? 0) + 1)
        }
      }
    }
  } finally {
    await engine.close()
  }
  const missing = acknowledged.filter((value) => !stored.has(value))
  expect(missing).toEqual([])
  expect([...stored.values()].every((count) => count === 1)).toBe(true)
}, 120_000)
