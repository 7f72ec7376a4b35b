/**
 * Test helpers for the reference server: start one on a random port, and a raw WebSocket peer
 * (the `ws` client) that speaks the protocol by hand and waits for frames without sleeping.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { afterEach } from 'vitest'
import WebSocket from 'ws'
import { createRealtimeServer, type RealtimeServer, type RealtimeServerOptions } from '../../src/server/index.js'

export type Frame = Record<string, any>

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  const list = cleanups.splice(0).reverse()
  for (const fn of list) await fn()
})

/** Run `fn` after the current test; what is registered last runs first. */
export function afterTest(fn: () => unknown): void {
  cleanups.push(fn)
}

/** A server on 127.0.0.1 and a free port, closed after the test. */
export async function startServer<P extends object = Record<string, unknown>>(options: RealtimeServerOptions<P> = {}): Promise<RealtimeServer & { url: string; pollUrl: string; base: string }> {
  const rt = createRealtimeServer<P>({ port: 0, ...options })
  cleanups.push(() => rt.close())
  await rt.ready
  const base = `http://127.0.0.1:${rt.port}`
  return Object.assign(rt, { base }) as RealtimeServer & { url: string; pollUrl: string; base: string }
}

/** Resolve once `check` returns a value other than undefined/false, polling every few ms. */
export async function until<T>(check: () => T | undefined | false, timeout = 2000, what = 'condition'): Promise<T> {
  const end = Date.now() + timeout
  for (;;) {
    const value = check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** A hand-driven protocol peer. */
export class Peer {
  readonly frames: Frame[] = []
  /** Frames not taken yet by `next`/`take`. */
  private unread: Frame[] = []
  closeInfo: { code: number; reason: string } | undefined
  readonly closed: Promise<{ code: number; reason: string }>

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      let frame: Frame
      try {
        frame = JSON.parse(String(data))
      } catch {
        frame = { type: '<not json>', raw: String(data) }
      }
      this.frames.push(frame)
      this.unread.push(frame)
    })
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: String(reason) }
        resolve(this.closeInfo)
      })
    })
    ws.on('error', () => {})
  }

  /** Open a socket to `url`; it is terminated after the test. */
  static async open(url: string): Promise<Peer> {
    const ws = new WebSocket(url)
    const peer = new Peer(ws)
    cleanups.push(() => ws.terminate())
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('error', reject)
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)))
    })
    return peer
  }

  /** Open a socket and say `hello`; resolves with the `welcome`. */
  static async connect(url: string, hello: Partial<{ session: string | null; after: number | null; events: string[]; token: string }> = {}): Promise<{ peer: Peer; welcome: Frame }> {
    const peer = await Peer.open(url)
    const welcome = await peer.hello(hello)
    return { peer, welcome }
  }

  send(message: Frame | string): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message))
  }

  async hello(hello: Partial<{ session: string | null; after: number | null; events: string[]; token: string }> = {}): Promise<Frame> {
    this.send({ type: 'hello', v: 1, session: null, after: null, events: [], ...hello })
    return this.take('welcome')
  }

  /** The next unread frame of `type` (any type when omitted); earlier unread frames of other types stay unread. */
  async take(type?: string, timeout = 2000): Promise<Frame> {
    const index = await until(() => {
      const i = this.unread.findIndex((f) => type === undefined || f.type === type)
      return i >= 0 ? i + 1 : undefined
    }, timeout, `a "${type ?? 'any'}" frame`)
    return this.unread.splice(index - 1, 1)[0] as Frame
  }

  /** The next `n` event frames. */
  async events(n: number, timeout = 2000): Promise<Frame[]> {
    const out: Frame[] = []
    for (let i = 0; i < n; i++) out.push(await this.take('event', timeout))
    return out
  }

  /** Unread frames of `type`, without waiting. */
  pending(type: string): Frame[] {
    return this.unread.filter((f) => f.type === type)
  }

  /** Let the server send anything already in flight, then check nothing of `type` arrived. */
  async quiet(type: string, ms = 50): Promise<Frame[]> {
    await new Promise((r) => setTimeout(r, ms))
    return this.pending(type)
  }

  close(): void {
    this.ws.close()
  }
}

/** A poll GET; `query` values are put in the query string as given. */
export async function poll(rt: { pollUrl: string }, query: Record<string, string | number | undefined> = {}): Promise<{ status: number; body: Frame; headers: Headers }> {
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v))
  const res = await fetch(`${rt.pollUrl}?${params}`)
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers }
}

/** A poll POST of `messages` for `session`. */
export async function post(rt: { pollUrl: string }, body: unknown): Promise<number> {
  const res = await fetch(rt.pollUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) })
  await res.arrayBuffer()
  return res.status
}

/** seq and event name of event frames, for compact assertions. */
export const seqs = (frames: Frame[]): number[] => frames.map((f) => f.seq)

/**
 * Run `script` (TypeScript, importing `./src/server/index.ts`) in a Node process of its own, and
 * tell how it ended: a process whose server was closed must exit by itself, nothing left running.
 */
export async function runAlone(script: string): Promise<{ exit: number | string; stdout: string; stderr: string }> {
  const root = fileURLToPath(new URL('../..', import.meta.url))
  const out = await build({
    stdin: { contents: script, resolveDir: root, loader: 'ts', sourcefile: 'close-check.ts' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    write: false,
    logLevel: 'silent',
  })
  const child = spawn(process.execPath, ['--input-type=module', '-'], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  child.stdin.end(out.outputFiles[0]?.text ?? '')
  const exit = await new Promise<number | string>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      resolve('did not exit within 10 s')
    }, 10_000)
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve(code ?? -1)
    })
  })
  return { exit, stdout: stdout.trim(), stderr }
}
