import { fc, test } from '@fast-check/vitest'
import { describe, expect } from 'vitest'
import { OffsetIndex } from '../../src/engine/offset-index.js'
import { TimeIndex } from '../../src/engine/time-index.js'

/** Strictly increasing (offset, position) pairs relative to a base. */
const entries = fc.array(fc.tuple(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 5000 })), { maxLength: 300 })
  .map((steps) => {
    let offset = 0
    let position = 0
    return steps.map(([offsetStep, positionStep]) => ({ offset: (offset += offsetStep), position: (position += positionStep) }))
  })

describe('OffsetIndex', () => {
  test.prop([fc.integer({ min: 0, max: 2 ** 40 }), entries, fc.array(fc.integer({ min: -10, max: 400_000 }), { maxLength: 50 })])(
    'lookup equals a linear scan, also after a round trip through the file bytes',
    (base, list, targets) => {
      const index = new OffsetIndex(base, 1000)
      for (const entry of list) index.append(base + entry.offset, entry.position)
      const reloaded = new OffsetIndex(base, 1000)
      const file = new Uint8Array(1000 * 8) // preallocated: zeros after the entries
      file.set(index.bytes())
      expect(reloaded.load(file, 10_000_000)).toBe(true)
      expect(reloaded.entries).toBe(list.length)
      for (const target of targets) {
        let expected = { offset: base, position: 0 }
        for (const entry of list) if (base + entry.offset <= base + target) expected = { offset: base + entry.offset, position: entry.position }
        expect(index.lookup(base + target)).toEqual(expected)
        expect(reloaded.lookup(base + target)).toEqual(expected)
      }
    }
  )

  test.prop([entries, fc.integer({ min: 0, max: 400_000 })])('truncateToOffset keeps exactly the entries below', (list, cut) => {
    const index = new OffsetIndex(0, 1000)
    for (const entry of list) index.append(entry.offset, entry.position)
    index.truncateToOffset(cut)
    expect(index.entries).toBe(list.filter((entry) => entry.offset < cut).length)
  })

  test('load refuses bytes that are not an index of this log', () => {
    const index = new OffsetIndex(0, 100)
    expect(index.load(new Uint8Array(7), 1000)).toBe(false)
    const decreasing = new DataView(new ArrayBuffer(16))
    decreasing.setInt32(0, 10); decreasing.setInt32(4, 100); decreasing.setInt32(8, 5); decreasing.setInt32(12, 200)
    expect(index.load(new Uint8Array(decreasing.buffer), 1000)).toBe(false)
    const beyond = new DataView(new ArrayBuffer(8))
    beyond.setInt32(0, 1); beyond.setInt32(4, 5000)
    expect(index.load(new Uint8Array(beyond.buffer), 1000)).toBe(false)
    const garbageAfterZeros = new Uint8Array(24)
    garbageAfterZeros[20] = 1
    expect(index.load(garbageAfterZeros, 1000)).toBe(false)
  })
})

describe('TimeIndex', () => {
  test.prop([fc.array(fc.tuple(fc.integer({ min: -5, max: 100 }), fc.integer({ min: 0, max: 10 })), { maxLength: 200 }), fc.array(fc.integer({ min: 0, max: 30_000 }), { maxLength: 30 })])(
    'keeps timestamps strictly increasing and looks up the greatest entry at or below a timestamp',
    (steps, targets) => {
      const index = new TimeIndex(100, 1000)
      const kept: Array<{ timestamp: number, offset: number }> = []
      let timestamp = 1000
      let offset = 100
      for (const [timeStep, offsetStep] of steps) {
        timestamp += timeStep
        offset += offsetStep
        index.maybeAppend(timestamp, offset)
        const last = kept[kept.length - 1]
        if (last === undefined || timestamp > last.timestamp) kept.push({ timestamp, offset })
      }
      expect(index.entries).toBe(kept.length)
      for (const target of targets) {
        const expected = [...kept].reverse().find((entry) => entry.timestamp <= target)
        expect(index.lookup(target)).toEqual(expected)
      }
      const reloaded = new TimeIndex(100, 1000)
      expect(reloaded.load(index.bytes(), Number.MAX_SAFE_INTEGER)).toBe(true)
      expect(reloaded.entries).toBe(kept.length)
    }
  )

  test('the last slot is kept for the final entry of a roll', () => {
    const index = new TimeIndex(0, 3)
    index.maybeAppend(10, 1)
    index.maybeAppend(20, 2)
    expect(index.isFull).toBe(true)
    index.maybeAppend(30, 3)
    expect(index.entries).toBe(2)
    index.maybeAppend(30, 3, true)
    expect(index.entries).toBe(3)
  })
})
