/** Small HTTP helpers for the polling and stats endpoints. */
import type { IncomingMessage, ServerResponse } from 'node:http'

/** Seconds a client is asked to wait (Retry-After) when the server is over capacity. */
export const RETRY_AFTER_SECONDS = 5

/** Answer with a JSON body (already serialized); never cached. */
export function sendJson(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
    ...headers,
  })
  res.end(body)
}

/** Answer with an `{ "error": message }` body. */
export const sendError = (res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void =>
  sendJson(res, status, JSON.stringify({ error: message }), headers)

/** Answer with no body (204, 405...). */
export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return
  res.writeHead(status, { 'cache-control': 'no-store', ...headers })
  res.end()
}

/** Whether the client went away (or was already answered): nothing can be written any more. */
export const isGone = (res: ServerResponse): boolean => res.writableEnded || res.destroyed || res.socket === null || res.socket.destroyed

export type Body = { ok: true; text: string } | { ok: false; status: 400 | 413 }

/** Read a request body of at most `limit` bytes; a larger one is cut off (413). */
export function readBody(req: IncomingMessage, limit: number): Promise<Body> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length'])
    if (declared > limit) return resolve({ ok: false, status: 413 })
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    const finish = (body: Body): void => {
      if (done) return
      done = true
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      req.off('close', onError)
      resolve(body)
    }
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      if (size > limit) return finish({ ok: false, status: 413 })
      chunks.push(chunk)
    }
    const onEnd = (): void => finish({ ok: true, text: Buffer.concat(chunks).toString('utf8') })
    const onError = (): void => finish({ ok: false, status: 400 })
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
    req.on('close', onError) // aborted before the end
  })
}
