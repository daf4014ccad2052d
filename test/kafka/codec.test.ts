/**
 * The codec's two execution modes: generated struct functions (the default) and the closure
 * interpreter used where code generation from strings is disabled.
 */
import { execFileSync } from 'node:child_process'
import { expect, test } from 'vitest'

test('without code generation the codec falls back to closures and still round-trips', () => {
  const output = execFileSync(process.execPath, [
    '--disallow-code-generation-from-strings', '--import', 'tsx', 'test/kafka/support/no-codegen-round-trip.ts'
  ], { encoding: 'utf8' })
  expect(output.trim()).toBe('ok 3')
}, 30_000)
