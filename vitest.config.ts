import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Crash and broker tests spawn children and bind ports; two cores, so keep the fan-out modest.
    pool: 'forks',
    maxWorkers: 2
  }
})
