/**
 * Describes the machine and the source tree a benchmark ran on, for the results file: figures
 * from different machines or commits are only comparable when this is known. The load average
 * is recorded at start and end because other work on a shared machine is the main source of
 * noise in every figure.
 */
import { execFileSync } from 'node:child_process'
import os from 'node:os'

export interface MachineInfo {
  node: string
  platform: string
  arch: string
  cpuModel: string
  cores: number
  memoryBytes: number
  osRelease: string
  loadAverage1m: number
}

export interface SourceInfo {
  /** Short commit id, or 'unknown' outside a git checkout. */
  sha: string
  /** True when tracked files differ from the commit: the figures describe uncommitted code. */
  dirty: boolean
}

export function describeMachine (): MachineInfo {
  const cpus = os.cpus()
  return {
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism?.() ?? cpus.length,
    memoryBytes: os.totalmem(),
    osRelease: os.release(),
    loadAverage1m: os.loadavg()[0] ?? 0
  }
}

export function describeSource (cwd: string): SourceInfo {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
    const status = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    return { sha, dirty: status.trim() !== '' }
  } catch {
    return { sha: 'unknown', dirty: false }
  }
}

/** One line for table headers and the report: "AMD EPYC, 2 cores, 23.4 GiB, node v20.20.2". */
export function machineSummary (machine: MachineInfo): string {
  return `${machine.cpuModel}, ${machine.cores} cores, ${(machine.memoryBytes / 2 ** 30).toFixed(1)} GiB, node ${machine.node}, ${machine.platform}/${machine.arch}`
}
