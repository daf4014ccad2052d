/**
 * Topic name rules, as Kafka's `Topic.validate` states them:
 * - not empty, not `.` and not `..` (they would name the data directory or its parent);
 * - at most 249 characters (255, the usual file-name limit, minus room for the partition
 *   suffix and Kafka's `.<uuid>-delete` rename on deletion);
 * - only ASCII letters, digits, `.`, `_` and `-`.
 *
 * Kafka also warns that `.` and `_` collide in metric names (`a.b` and `a_b` report as one).
 * Sluice allows such pairs, as Kafka does (it only warns), and offers `collidesWith` so a
 * caller can warn; the registry publishes a warning on the `sluice:topic:collision` channel.
 *
 * Names starting with `__` are internal (`__consumer_offsets`, `__transaction_state`); the
 * registry reserves them for the engine itself.
 */
import { SluiceError } from '../core/errors.js'

/** Kafka `Topic.MAX_NAME_LENGTH`. */
export const TOPIC_NAME_LENGTH_MAX = 249

const LEGAL = /^[a-zA-Z0-9._-]+$/

/** Throws SluiceError('INVALID_TOPIC_EXCEPTION') naming the rule a name breaks. */
export function validateTopicName (name: unknown): asserts name is string {
  if (typeof name !== 'string') throw new SluiceError('INVALID_TOPIC_EXCEPTION', 'Topic name must be a string')
  if (name.length === 0) throw new SluiceError('INVALID_TOPIC_EXCEPTION', "Topic name is illegal, it can't be empty")
  if (name === '.' || name === '..') throw new SluiceError('INVALID_TOPIC_EXCEPTION', `Topic name cannot be "." or ".."`)
  if (name.length > TOPIC_NAME_LENGTH_MAX) {
    throw new SluiceError('INVALID_TOPIC_EXCEPTION', `Topic name is illegal, it can't be longer than ${TOPIC_NAME_LENGTH_MAX} characters, topic name: ${name.slice(0, 40)}...`)
  }
  if (!LEGAL.test(name)) {
    throw new SluiceError('INVALID_TOPIC_EXCEPTION', `Topic name ${JSON.stringify(name)} is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`)
  }
}

/** True when the name passes `validateTopicName`. */
export function isValidTopicName (name: unknown): name is string {
  try {
    validateTopicName(name)
    return true
  } catch {
    return false
  }
}

/** True for names Sluice reserves for its own internal topics (`__consumer_offsets`, ...). */
export function isInternalTopicName (name: string): boolean {
  return name.startsWith('__')
}

/** True when the name contains a character that collides in metric names ('.' or '_'). */
export function hasCollisionChars (name: string): boolean {
  return name.includes('.') || name.includes('_')
}

/** The name with '.' mapped to '_': two names with equal forms collide in metric names. */
export function unifyCollisionChars (name: string): string {
  return name.replaceAll('.', '_')
}

/** The first of `existing` that differs from `name` but collides with it, if any. */
export function collidesWith (name: string, existing: Iterable<string>): string | undefined {
  if (!hasCollisionChars(name)) return undefined
  const unified = unifyCollisionChars(name)
  for (const other of existing) {
    if (other !== name && unifyCollisionChars(other) === unified) return other
  }
  return undefined
}
