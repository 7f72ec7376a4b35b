/** Counters of one realtime server, served as JSON at `statsPath`. */

/** What `stats()` returns: gauges (current values) and counters (since the server started). */
export interface ServerStats {
  /** Open WebSockets (with or without a session yet). */
  connections: number
  /** Live sessions. */
  sessions: number
  /** Poll GETs being held (long polling). */
  heldPolls: number
  /** Frames waiting to be written, over every socket. */
  queued: number
  /** Frames waiting on the most backed-up socket. */
  maxQueued: number
  /** `publish` calls. */
  published: number
  /** Events given a seq in some session (one publish can count once per session). */
  delivered: number
  /** Frames written to sockets plus events carried by poll answers. */
  messagesSent: number
  /** Replays served (after a resume, a `replay` message, or a poll that caught up). */
  replays: number
  /** `replay_failed` answers, and polls that had to start over. */
  replayFailures: number
  /** Poll GETs answered. */
  polls: number
  /** Poll POSTs accepted. */
  posts: number
  /** Sockets closed with 4008 because they could not keep up. */
  slowConsumers: number
  /** Connections or polls refused because `maxSessions` was reached. */
  overCapacity: number
  /** Requests refused by `authenticate`. */
  unauthorized: number
  /** Invalid frames or POST bodies. */
  badRequests: number
  /** Sockets terminated because they stayed silent for two heartbeat intervals. */
  heartbeatTimeouts: number
}

export type Counter = Exclude<keyof ServerStats, 'connections' | 'sessions' | 'heldPolls' | 'queued' | 'maxQueued'>

export type Gauges = Pick<ServerStats, 'connections' | 'sessions' | 'heldPolls' | 'queued' | 'maxQueued'>

export class StatsCounters {
  private readonly counts: Record<Counter, number> = {
    published: 0,
    delivered: 0,
    messagesSent: 0,
    replays: 0,
    replayFailures: 0,
    polls: 0,
    posts: 0,
    slowConsumers: 0,
    overCapacity: 0,
    unauthorized: 0,
    badRequests: 0,
    heartbeatTimeouts: 0,
  }

  add(counter: Counter, n = 1): void {
    this.counts[counter] += n
  }

  snapshot(gauges: Gauges): ServerStats {
    return { ...gauges, ...this.counts }
  }
}
