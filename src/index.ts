export { RealtimeClient, type EventData, type RealtimeEventHook, type RealtimeOptions, type ReservedEventName } from './client.js'
export { RealtimeError, isRealtimeError, type RealtimeErrorCode, type RealtimeErrorDetails } from './errors.js'
export { backoffDelay, type BackoffOptions } from './backoff.js'
export { isValidPattern, matchPattern } from './patterns.js'
export { v1Protocol } from './protocol/v1.js'
export type { Capabilities, Decoded, HttpCodec, Inbound, InboundEvent, Invalid, Outbound, PollQuery, PollResult, Protocol, ProtocolDefaults, WireEvent } from './protocol/types.js'
export type { Logger } from './logger.js'
export type { StandardSchemaV1 } from './standard-schema.js'
export type {
  AuthOptions,
  AuthToken,
  BuiltinEvents,
  ClientOptions,
  EventMeta,
  EventSchemas,
  HeartbeatOptions,
  PollingOptions,
  ReconnectOptions,
  ReplayOptions,
  ResyncInfo,
  Stats,
  Status,
  ThrottleOptions,
  UrlSource,
  WebSocketConstructor,
} from './types.js'
