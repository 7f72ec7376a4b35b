/**
 * What crossed the wire on the client's side of the proxy: a WebSocket constructor that records
 * the frames of every socket a connection opens before the client handles them. It shows what the
 * client was told (each `welcome`, each `replay_failed`), which the client's own report (`resync`)
 * is then checked against.
 */
import type { WebSocketConstructor } from '../../../src/index.js'

/** One `welcome` as this side saw it, with the `after` its `hello` carried. */
export interface Resume {
  session: string
  after: number | null
  head: number
  resumed: boolean
  /** A `replay_failed` followed on this socket. */
  failed: boolean
  /** Events at or below `head` that followed it (the resend of what the client missed). */
  replayed: number
}

export interface WireLog {
  sockets: number
  /** Sockets open right now. */
  live: number
  resumes: Resume[]
  /** Every `replay_failed`, in the order the client received them. */
  replayFailed: { after: number; seq: number }[]
  /** The `after` of every `replay` the client asked for. */
  replays: number[]
}

export const newWireLog = (): WireLog => ({ sockets: 0, live: 0, resumes: [], replayFailed: [], replays: [] })

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
      })
      this.addEventListener('close', () => {
        if (opened) log.live--
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
      if (f.type === 'welcome') {
        this.resume = { session: f.session, after: this.after, head: f.seq, resumed: f.resumed, failed: false, replayed: 0 }
        log.resumes.push(this.resume)
      } else if (f.type === 'replay_failed') {
        if (this.resume) this.resume.failed = true
        log.replayFailed.push({ after: f.after, seq: f.seq })
      } else if (f.type === 'event' && this.resume && f.seq <= this.resume.head) this.resume.replayed++
    }
  }
}
