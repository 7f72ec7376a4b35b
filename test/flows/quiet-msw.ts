/**
 * msw keeps one listener per mocked WebSocket on a shared BroadcastChannel, and never removes the
 * one of a socket closed before msw finished registering it (a refused socket). Tests that refuse
 * many sockets would print a MaxListenersExceededWarning; raise the default limit before msw
 * creates its channel. Import this module before anything that imports msw.
 */
import { setMaxListeners } from 'node:events'

setMaxListeners(1000)
