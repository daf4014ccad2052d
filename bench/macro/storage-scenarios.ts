/**
 * Storage-engine scenarios: thin wrappers over the figure functions of `./storage.ts` (owned by
 * the storage engine), turning each returned figure object into JSON keys and report rows.
 *
 * The module is loaded lazily: while it does not exist, each scenario is skipped with that
 * reason and its keys are absent from the results.
 */
import type { Scenario, ScenarioSkip } from './scenario.js'

type StorageModule = Record<string, unknown>

let loaded: Promise<StorageModule | ScenarioSkip> | undefined

/** Imports `./storage.ts` once; a missing file is a skip, any other import error is a failure. */
export function loadStorageModule (): Promise<StorageModule | ScenarioSkip> {
  // A variable specifier: the file may not exist yet, and the type checker must not require it.
  const specifier = './storage.js'
  loaded ??= import(specifier).then(
    (module: StorageModule) => module,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('storage')) {
        return { skipped: 'bench/macro/storage.ts does not exist yet' }
      }
      throw error
    }
  )
  return loaded
}

export const storageScenarios: readonly Scenario[] = Object.freeze([])
