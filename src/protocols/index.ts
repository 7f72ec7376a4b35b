/**
 * `wirefeed/protocols`: adapters for servers that do not speak wirefeed's own protocol (v1, the
 * default, which the main entry exports as `v1Protocol`). Each is passed as the `protocol` option;
 * the README's "Bring your own server" section says what each server sends and what the client
 * can promise with it.
 */
export { eventBusProtocol, type EventBusOptions } from '../protocol/event-bus.js'
export { hubProtocol, type HubOptions } from '../protocol/hub.js'
export { notifyProtocol, type NotifyOptions } from '../protocol/notify.js'
export type { SocketUrlOptions } from '../protocol/query.js'
export { typedUpdatesProtocol, type TypedUpdatesOptions } from '../protocol/typed-updates.js'
