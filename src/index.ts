/**
 * Sluice's public surface. Everything a user imports comes from here.
 */
export { SluiceError, isSluiceError, kafkaErrorName, type ErrorCode, type SluiceErrorOptions } from './core/errors.js'
export { kafkaErrors, type KafkaErrorName } from './core/kafka-error-codes.js'
