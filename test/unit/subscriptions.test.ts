import { describe, expect, it } from 'vitest'
import { Subscriptions } from '../../src/subscriptions.js'

describe('Subscriptions', () => {
  it('starts empty', () => {
    expect(new Subscriptions().list()).toEqual([])
  })

  it('add() returns only the patterns nobody held before', () => {
    const s = new Subscriptions()
    expect(s.add(['alert', 'incident.*'])).toEqual(['alert', 'incident.*'])
    expect(s.add(['alert', 'host'])).toEqual(['host'])
    expect(s.add(['alert'])).toEqual([])
    expect(s.list()).toEqual(['alert', 'incident.*', 'host'])
  })

  it('remove() returns a pattern only when its last holder lets go', () => {
    const s = new Subscriptions()
    s.add(['alert'])
    s.add(['alert'])
    s.add(['alert', 'host'])
    expect(s.remove(['alert'])).toEqual([])
    expect(s.remove(['alert', 'host'])).toEqual(['host'])
    expect(s.list()).toEqual(['alert'])
    expect(s.remove(['alert'])).toEqual(['alert'])
    expect(s.list()).toEqual([])
  })

  it('a pattern repeated in one call takes (and needs) one reference per occurrence', () => {
    const s = new Subscriptions()
    expect(s.add(['a', 'a'])).toEqual(['a'])
    expect(s.remove(['a'])).toEqual([])
    expect(s.remove(['a'])).toEqual(['a'])
  })

  it('removing a pattern nobody holds is a no-op and never goes negative', () => {
    const s = new Subscriptions()
    expect(s.remove(['ghost'])).toEqual([])
    expect(s.remove(['ghost'])).toEqual([])
    expect(s.add(['ghost'])).toEqual(['ghost'])
    expect(s.remove(['ghost'])).toEqual(['ghost'])
    expect(s.list()).toEqual([])
  })

  it('a pattern can be taken again after it was released', () => {
    const s = new Subscriptions()
    s.add(['x'])
    s.remove(['x'])
    expect(s.add(['x'])).toEqual(['x'])
    expect(s.list()).toEqual(['x'])
  })

  it('list() is a copy', () => {
    const s = new Subscriptions()
    s.add(['a'])
    const list = s.list()
    list.push('b')
    expect(s.list()).toEqual(['a'])
  })
})
