/**
 * A minimal reader of WebSocket frames (RFC 6455 §5.2) for the fault proxy: it cuts a byte
 * stream into whole frames, across TCP chunk boundaries, without interpreting more than the
 * proxy needs (opcode, FIN, the payload, unmasked when the frame is masked).
 *
 * It reads only what the reference server and a client speak: no extensions (the server runs
 * `ws` with `perMessageDeflate: false`, so no RSV bit is ever set and payloads are plain UTF-8).
 */

export const Opcode = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const

export interface Frame {
  fin: boolean
  opcode: number
  /** The payload, unmasked. */
  payload: Buffer
  /** The frame as it was on the wire (header, mask and payload), to forward unchanged. */
  raw: Buffer
}

/** Accumulates bytes and hands out every complete frame, in order. */
export class FrameReader {
  #buffer: Buffer = Buffer.alloc(0)

  /** Bytes received that do not make a whole frame yet. */
  get pending(): number {
    return this.#buffer.length
  }

  /** Add `chunk`; returns the frames it completed (possibly none). */
  push(chunk: Buffer): Frame[] {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk])
    const frames: Frame[] = []
    let offset = 0
    for (;;) {
      const frame = readFrame(this.#buffer, offset)
      if (!frame) break
      frames.push(frame.frame)
      offset = frame.end
    }
    this.#buffer = offset === 0 ? this.#buffer : this.#buffer.subarray(offset)
    return frames
  }
}

/** The frame starting at `offset`, or undefined when `buf` does not hold all of it yet. */
function readFrame(buf: Buffer, offset: number): { frame: Frame; end: number } | undefined {
  if (buf.length - offset < 2) return undefined
  const b0 = buf[offset] as number
  const b1 = buf[offset + 1] as number
  const masked = (b1 & 0x80) !== 0
  let length = b1 & 0x7f
  let header = 2
  if (length === 126) {
    if (buf.length - offset < 4) return undefined
    length = buf.readUInt16BE(offset + 2)
    header = 4
  } else if (length === 127) {
    if (buf.length - offset < 10) return undefined
    const big = buf.readBigUInt64BE(offset + 2)
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('frame length out of range')
    length = Number(big)
    header = 10
  }
  const maskAt = offset + header
  if (masked) header += 4
  const end = offset + header + length
  if (buf.length < end) return undefined
  let payload = buf.subarray(offset + header, end)
  if (masked) {
    const key = buf.subarray(maskAt, maskAt + 4)
    payload = Buffer.from(payload)
    for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (key[i & 3] as number)
  }
  return { frame: { fin: (b0 & 0x80) !== 0, opcode: b0 & 0x0f, payload, raw: buf.subarray(offset, end) }, end }
}

/** The end of an HTTP head (the byte after `\r\n\r\n`) in `buf`, or -1. */
export function headEnd(buf: Buffer): number {
  const i = buf.indexOf('\r\n\r\n')
  return i < 0 ? -1 : i + 4
}
