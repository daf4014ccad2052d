/**
 * Every path of a Sluice data directory, derived in one place.
 *
 * ```
 * <data>/
 *   .sluice-clean-shutdown              present only between a clean close and the next open
 *   recovery-point-offset-checkpoint    per data directory: offsets below are known flushed
 *   log-start-offset-checkpoint         per data directory: first readable offset per partition
 *   <topic>-<partition>/
 *     00000000000000000000.log          record batches (Kafka RecordBatch v2 bytes)
 *     00000000000000000000.index        offset index (see offset-index.ts)
 *     00000000000000000000.timeindex    time index (see time-index.ts)
 *     <base>.log.swap | .cleaned | .deleted   transient files of compaction and retention
 * ```
 *
 * Segment names are the base offset as a 20-digit zero-padded decimal, as in Kafka, so a
 * lexicographic sort of names is the offset order.
 */
import { SluiceError } from '../core/errors.js'

export const CLEAN_SHUTDOWN_FILE = '.sluice-clean-shutdown'
export const RECOVERY_POINT_CHECKPOINT_FILE = 'recovery-point-offset-checkpoint'
export const LOG_START_OFFSET_CHECKPOINT_FILE = 'log-start-offset-checkpoint'

export const LOG_SUFFIX = '.log'
export const INDEX_SUFFIX = '.index'
export const TIME_INDEX_SUFFIX = '.timeindex'
export const SWAP_SUFFIX = '.swap'
export const CLEANED_SUFFIX = '.cleaned'
export const DELETED_SUFFIX = '.deleted'
/** Marks a rolled segment whose background fdatasync has not completed (see PartitionLog.roll). */
export const SEALING_SUFFIX = '.sealing'

const OFFSET_DIGITS = 20

/** `<base offset, 20 digits>` as Kafka names segment files. */
export function segmentFileStem (baseOffset: number): string {
  return String(baseOffset).padStart(OFFSET_DIGITS, '0')
}

/** The base offset a segment file name carries, or undefined if the name is not a segment file of `suffix`. */
export function parseSegmentFileName (name: string, suffix: string): number | undefined {
  if (!name.endsWith(suffix)) return undefined
  const stem = name.slice(0, name.length - suffix.length)
  if (stem.length !== OFFSET_DIGITS || !/^[0-9]+$/.test(stem)) return undefined
  const offset = Number(stem)
  return Number.isSafeInteger(offset) ? offset : undefined
}

/** The directory name of a partition: `<topic>-<partition>`. */
export function partitionDirectoryName (topic: string, partition: number): string {
  return `${topic}-${partition}`
}

/** Splits `<topic>-<partition>` at the last dash; undefined when the name is not a partition directory. */
export function parsePartitionDirectoryName (name: string): { topic: string, partition: number } | undefined {
  const dash = name.lastIndexOf('-')
  if (dash <= 0) return undefined
  const digits = name.slice(dash + 1)
  if (!/^[0-9]+$/.test(digits)) return undefined
  const partition = Number(digits)
  if (!Number.isSafeInteger(partition) || partition > 0x7fffffff) return undefined
  return { topic: name.slice(0, dash), partition }
}

/** The paths of one partition directory and its segments. */
export class PartitionLayout {
  readonly directory: string

  constructor (readonly dataDirectory: string, readonly topic: string, readonly partition: number) {
    if (!Number.isInteger(partition) || partition < 0 || partition > 0x7fffffff) {
      throw new SluiceError('SLUICE_INVALID_OPTION', `partition must be an int32 >= 0, got ${partition}`)
    }
    this.directory = `${dataDirectory}/${partitionDirectoryName(topic, partition)}`
  }

  logFile (baseOffset: number): string { return `${this.directory}/${segmentFileStem(baseOffset)}${LOG_SUFFIX}` }
  offsetIndexFile (baseOffset: number): string { return `${this.directory}/${segmentFileStem(baseOffset)}${INDEX_SUFFIX}` }
  timeIndexFile (baseOffset: number): string { return `${this.directory}/${segmentFileStem(baseOffset)}${TIME_INDEX_SUFFIX}` }
  sealingMarkerFile (baseOffset: number): string { return `${this.directory}/${segmentFileStem(baseOffset)}${SEALING_SUFFIX}` }
  /** A file of this partition by name (as listed by readdir). */
  file (name: string): string { return `${this.directory}/${name}` }
}

/** The paths of a data directory. */
export class DataLayout {
  constructor (readonly directory: string) {}

  get cleanShutdownFile (): string { return `${this.directory}/${CLEAN_SHUTDOWN_FILE}` }
  get recoveryPointCheckpointFile (): string { return `${this.directory}/${RECOVERY_POINT_CHECKPOINT_FILE}` }
  get logStartOffsetCheckpointFile (): string { return `${this.directory}/${LOG_START_OFFSET_CHECKPOINT_FILE}` }
  partition (topic: string, partition: number): PartitionLayout { return new PartitionLayout(this.directory, topic, partition) }
}
