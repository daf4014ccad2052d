/**
 * The built-in partition assignors, by the protocol names Kafka clients use, so a group can
 * mix Sluice's embedded consumers with Java, librdkafka and kafkajs members.
 */
import type { PartitionAssignor } from './assignor.js'
import { cooperativeStickyAssignor } from './cooperative-sticky.js'
import { rangeAssignor } from './range.js'
import { kafkajsRoundRobinAssignor, roundRobinAssignor } from './round-robin.js'

export * from './assignor.js'
export { rangeAssign, rangeAssignor } from './range.js'
export { roundRobinAssign, roundRobinAssignor, kafkajsRoundRobinAssignor } from './round-robin.js'
export { cooperativeStickyAssign, cooperativeStickyAssignor, stickyTarget } from './cooperative-sticky.js'

export const builtInAssignors: ReadonlyMap<string, PartitionAssignor> = new Map([
  [rangeAssignor.name, rangeAssignor],
  [roundRobinAssignor.name, roundRobinAssignor],
  [kafkajsRoundRobinAssignor.name, kafkajsRoundRobinAssignor],
  [cooperativeStickyAssignor.name, cooperativeStickyAssignor]
])
