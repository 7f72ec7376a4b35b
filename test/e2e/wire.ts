/**
 * What crossed the wire on the client's side: a WebSocket constructor that records the frames of
 * every socket a connection opens before the client handles them. It shows what the client was
 * told (each `welcome`, each `replay_failed`), which the client's own report (`resync`) is then
 * checked against. Used by the chaos runs (node.test.ts) and the fault runs (faults.test.ts).
 */
import type { WebSocketConstructor } from '../../src/index.js'

/** One `welcome` as this side saw it, with the `after` its `hello` carried. */
export interface Resume {
  session: string
  after: number | null
  head: number
  resumed: boolean
  /** A `replay_failed` followed the `welcome` on this socket. */
  failed: boolean
  /** Some frame followed the `welcome` on this socket (so a `replay_failed`, if sent, arrived). */
  later: boolean
  /** Events at or below `head` that followed it (the resend of what the client missed). */
  replayed: number
}

export interface WireLog {
  sockets: number
  /** Sockets open right now. */
  live: number
  /** The close code of every socket that closed. */
  closes: number[]
  resumes: Resume[]
  /** Every `replay_failed`, in the order the client received them. */
  replayFailed: { after: number; seq: number }[]
  /** The `after` of every `replay` the client asked for. */
  replays: number[]
  /** Called as each socket opens, before the client itself hears of it (before its `hello`). */
  onOpen?: (() => void) | undefined
  /** Called with the type of each frame that arrives, before the client handles it. */
  onFrame?: ((type: string) => void) | undefined
}

export const newWireLog = (): WireLog => ({ sockets: 0, live: 0, closes: [], resumes: [], replayFailed: [], replays: [] })

/** Node's WebSocket, recording into `log` what it sends and receives before the client handles it. */
export function tapped(log: WireLog): WebSocketConstructor {
  return class TappedWebSocket extends WebSocket {
    private after: number | null = null
    private resume: Resume | undefined

    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols)
      log.sockets++
      let opened = false
      this.addEventListener('open', () => {
        opened = true
        log.live++
        log.onOpen?.()
      })
      this.addEventListener('close', (e) => {
        if (opened) log.live--
        log.closes.push(e.code)
      })
      this.addEventListener('message', (e) => this.seen(String(e.data)))
    }

    override send(data: string | ArrayBufferLike | Blob | ArrayBufferView): void {
      if (typeof data === 'string') {
        if (data.startsWith('{"type":"hello"')) this.after = (JSON.parse(data) as { after: number | null }).after
        else if (data.startsWith('{"type":"replay"')) log.replays.push((JSON.parse(data) as { after: number }).after)
      }
      super.send(data)
    }

    private seen(text: string): void {
      const f = JSON.parse(text) as { type: string; seq: number; after: number; session: string; resumed: boolean }
      log.onFrame?.(f.type)
      if (f.type === 'welcome') {
        this.resume = { session: f.session, after: this.after, head: f.seq, resumed: f.resumed, failed: false, later: false, replayed: 0 }
        log.resumes.push(this.resume)
        return
      }
      if (!this.resume) return
      this.resume.later = true
      if (f.type === 'replay_failed') {
        this.resume.failed = true
        log.replayFailed.push({ after: f.after, seq: f.seq })
      } else if (f.type === 'event' && f.seq <= this.resume.head) this.resume.replayed++
    }
  }
}
