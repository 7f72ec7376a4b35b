import { describe, expect, it } from 'vitest'
import { redactUrl } from '../../src/logger.js'

describe('redactUrl', () => {
  it.each([
    ['wss://user:pw@host/path?token=x#y', 'wss://host/path'],
    ['wss://api.example.com/ws/events', 'wss://api.example.com/ws/events'],
    ['wss://api.example.com/ws/events?token=eyJhbGciOi', 'wss://api.example.com/ws/events'],
    ['wss://api.example.com/ws/events#access_token=abc', 'wss://api.example.com/ws/events'],
    ['https://api.example.com/api/events?session=s-7f3&token=abc#frag', 'https://api.example.com/api/events'],
    ['wss://token@api.example.com:8443/ws', 'wss://api.example.com:8443/ws'],
    ['WSS://User:Secret@API.example.com/ws', 'WSS://API.example.com/ws'],
    ['wss://api.example.com?token=abc', 'wss://api.example.com'],
    // a raw `@` inside the password: URL parsers end user info at the last `@` before the host
    ['wss://user:p@ss@api.example.com/ws', 'wss://api.example.com/ws'],
    // an `@` after the host (in the path or the query) is not user info
    ['wss://api.example.com/users/@me/ws', 'wss://api.example.com/users/@me/ws'],
    ['wss://api.example.com/ws?user=a@b.c', 'wss://api.example.com/ws'],
    // query strings that span lines are removed whole
    ['wss://host/ws?token=a\nb', 'wss://host/ws'],
  ])('%j → %j', (url, expected) => {
    expect(redactUrl(url)).toBe(expected)
  })

  it('never leaves the secret parts in the output', () => {
    const out = redactUrl('wss://alice:hunter2@host.example/ws/events?token=SECRET-TOKEN&x=1#SECRET-FRAG')
    expect(out).toBe('wss://host.example/ws/events')
    for (const secret of ['alice', 'hunter2', 'SECRET-TOKEN', 'SECRET-FRAG']) expect(out).not.toContain(secret)
  })
})
