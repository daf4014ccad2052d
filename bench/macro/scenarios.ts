/**
 * The registry of macro scenarios, in run order. To add one: write a `Scenario` (see
 * `scenario.ts`) that declares its keys, and list it here. Nothing else changes: the runner
 * validates the keys, the report charts the rows, the perf check compares the ratios.
 */
import type { Scenario } from './scenario.js'
import { appendSweepScenario } from './append-sweep.js'
import { brokerScenarios } from './broker.js'
import { clientScenarios } from './client-scenarios.js'
import { storageScenarios } from './storage-scenarios.js'

export const scenarios: readonly Scenario[] = Object.freeze([
  ...storageScenarios,
  appendSweepScenario,
  ...clientScenarios,
  ...brokerScenarios
])
