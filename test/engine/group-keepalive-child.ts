/**
 * Child process for the keep-alive test: an embedded application whose only pending work is
 * its first JoinGroup. It must print the join result instead of exiting early.
 */
import { GroupCoordinator } from '../../src/engine/group-coordinator.js'

const coordinator = await GroupCoordinator.open({ groupInitialRebalanceDelayMs: 200 })
const result = await coordinator.joinGroup({
  groupId: 'g', memberId: '', groupInstanceId: null, clientId: 'c', clientHost: 'h', sessionTimeoutMs: 10_000,
  rebalanceTimeoutMs: 30_000, protocolType: 'consumer', protocols: [{ name: 'range', metadata: new Uint8Array() }], requireKnownMemberId: false
})
process.stdout.write(`joined generation ${result.generationId}\n`)
// Not closing on purpose: idle session and retention timers must not hold the process open.
