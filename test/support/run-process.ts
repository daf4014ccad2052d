/**
 * Runs a command to its exit with piped output, for tests that drive real clients (kcat, the
 * Python clients). Bounded: after `timeoutMs` the child is killed by its PID and the promise
 * rejects with what it had printed.
 */
import { spawn } from 'node:child_process'

export interface ProcessRun { code: number | null, stdout: string, stderr: string }

export function runToExit (command: string, args: readonly string[], options: { input?: string, timeoutMs?: number } = {}): Promise<ProcessRun> {
  const timeoutMs = options.timeoutMs ?? 20_000
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL')
      reject(new Error(`${command} ${args.join(' ')} timed out after ${timeoutMs} ms; stdout: ${stdout}; stderr: ${stderr}`))
    }, timeoutMs)
    child.on('error', (error) => { clearTimeout(timer); reject(error) })
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }) })
    child.stdin.end(options.input ?? '')
  })
}
