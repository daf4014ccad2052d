/**
 * Sluice's public surface. Everything a user imports comes from here.
 */
export { SluiceError, isSluiceError, kafkaErrorName, type ErrorCode, type SluiceErrorOptions } from './core/errors.js'
export { kafkaErrors, type KafkaErrorName } from './core/kafka-error-codes.js'
export { crc32c } from './io/crc32c.js'
export { murmur2, defaultPartition, toPositive } from './io/murmur2.js'
