import { describe, expect, test } from 'vitest'
import { collidesWith, isInternalTopicName, isValidTopicName, validateTopicName, TOPIC_NAME_LENGTH_MAX } from '../../src/engine/topic-name.js'

describe('topic name', () => {
  test.each(['a', 'orders', 'Orders.v2_eu-west-1', '...', '-', '_', '__consumer_offsets', 'x'.repeat(TOPIC_NAME_LENGTH_MAX)])('accepts %s', (name) => {
    expect(() => validateTopicName(name)).not.toThrow()
  })

  test.each(['', '.', '..', 'x'.repeat(TOPIC_NAME_LENGTH_MAX + 1), 'a b', 'a/b', 'a\\b', 'é', 'a:b', 'a\u0000', 'tab\t'])('rejects %j with INVALID_TOPIC_EXCEPTION', (name) => {
    let caught: unknown
    try {
      validateTopicName(name)
    } catch (error) {
      caught = error
    }
    expect((caught as { code?: string }).code).toBe('INVALID_TOPIC_EXCEPTION')
    expect(isValidTopicName(name)).toBe(false)
  })

  test('non-strings are rejected as invalid topics, not crashes', () => {
    expect(isValidTopicName(undefined)).toBe(false)
    expect(isValidTopicName(7)).toBe(false)
  })

  test('. and _ collide, but only with a different name', () => {
    expect(collidesWith('a.b', ['a_b', 'c'])).toBe('a_b')
    expect(collidesWith('a_b', ['a.b'])).toBe('a.b')
    expect(collidesWith('a.b', ['a.b'])).toBeUndefined()
    expect(collidesWith('ab', ['a_b'])).toBeUndefined()
  })

  test('internal names start with two underscores', () => {
    expect(isInternalTopicName('__consumer_offsets')).toBe(true)
    expect(isInternalTopicName('_private')).toBe(false)
  })
})
