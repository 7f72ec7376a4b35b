import { describe, expect, it } from 'vitest'
import { ReplayBuffer } from '../../src/server/replay-buffer.js'
import { prepare } from '../../src/server/wire.js'

const fill = (buffer: ReplayBuffer, from: number, to: number, ts = 1000): void => {
  for (let seq = from; seq <= to; seq++) buffer.push({ seq, item: prepare('e', seq, false, ts) })
}
const seqsOf = (entries: { seq: number }[] | undefined): number[] | undefined => entries?.map((e) => e.seq)

describe('ReplayBuffer', () => {
  it('keeps the last `capacity` entries, oldest first, across wrap-around', () => {
    const buffer = new ReplayBuffer(3, Number.POSITIVE_INFINITY)
    fill(buffer, 1, 7)
    expect(buffer.length).toBe(3)
    expect(seqsOf(buffer.since(4, 7))).toEqual([5, 6, 7])
    expect(seqsOf(buffer.since(6, 7))).toEqual([7])
    expect(seqsOf(buffer.since(7, 7))).toEqual([])
    expect(buffer.since(3, 7)).toBeUndefined()
    expect(buffer.find(6)?.item.data).toBe(6)
    expect(buffer.find(4)).toBeUndefined()
    expect(buffer.find(8)).toBeUndefined()
  })

  it('does not cover what it never held', () => {
    const buffer = new ReplayBuffer(3, Number.POSITIVE_INFINITY)
    expect(seqsOf(buffer.since(0, 0))).toEqual([])
    expect(buffer.since(0, 2)).toBeUndefined()
  })

  it('drops entries older than maxAge', () => {
    const buffer = new ReplayBuffer(10, 100)
    fill(buffer, 1, 2, 1000)
    fill(buffer, 3, 4, 1080)
    expect(seqsOf(buffer.since(0, 4, 1090))).toEqual([1, 2, 3, 4])
    expect(buffer.since(0, 4, 1150)).toBeUndefined()
    expect(seqsOf(buffer.since(2, 4, 1150))).toEqual([3, 4])
    expect(buffer.length).toBe(2)
    buffer.clear()
    expect(buffer.length).toBe(0)
  })
})
