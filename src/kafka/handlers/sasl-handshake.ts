/**
 * SaslHandshake (key 17): no SASL mechanism is enabled on this listener, so every mechanism is
 * UNSUPPORTED_SASL_MECHANISM with an empty list of enabled ones, as Kafka answers on a
 * PLAINTEXT listener that has none configured.
 */
import { saslHandshakeApi } from '../apis/sasl-handshake.js'
import { defineHandler, errorCode } from './context.js'

export const saslHandshakeHandler = defineHandler(saslHandshakeApi, async () => ({
  errorCode: errorCode('UNSUPPORTED_SASL_MECHANISM'),
  mechanisms: []
}))
