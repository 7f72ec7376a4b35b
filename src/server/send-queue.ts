/**
 * A socket's outbound side, bounded. `ws` never refuses a frame: what the peer does not read piles
 * up in memory. This counts frames handed to `ws` whose write has not completed, and watches
 * `bufferedAmount` (bytes the kernel has not taken yet), so a consumer that falls behind is noticed
 * while it is still cheap.
 *
 * Write completions are reported a tick late, so a burst of frames published in one go counts
 * them all even when the kernel took them at once. The frame bound therefore applies only while
 * the socket is actually backing up (`bufferedAmount > 0`): a fast consumer survives any burst, a
 * stalled one is caught after `maxQueue` frames or `maxBytes` bytes, whichever comes first.
 */
import type { WebSocket } from 'ws'

export class SendQueue {
  /** Frames handed to `ws` whose write has not completed. */
  depth = 0
  private readonly written = (): void => {
    this.depth--
  }

  constructor(
    private readonly ws: WebSocket,
    private readonly maxQueue: number,
    private readonly maxBytes: number,
  ) {}

  /**
   * Queue a frame; false (and nothing queued) when the peer is already too far behind. With
   * `bounded` false the frame is written whatever the backlog (a replay, whose size the replay
   * buffer already bounds); it still counts toward the backlog that live frames are judged by.
   */
  send(frame: string, bounded = true): boolean {
    const buffered = this.ws.bufferedAmount
    if (bounded && (buffered > this.maxBytes || (buffered > 0 && this.depth >= this.maxQueue))) return false
    this.depth++
    this.ws.send(frame, this.written)
    return true
  }
}
