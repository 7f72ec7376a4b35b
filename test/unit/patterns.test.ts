import { describe, expect, it } from 'vitest'
import { MAX_PATTERN_LENGTH, isValidPattern, matchPattern } from '../../src/patterns.js'

describe('isValidPattern', () => {
  it.each([
    'alert',
    'incident.created',
    'jobs.42.log',
    '*',
    'incident.*',
    '*.created',
    '*.*',
    '**',
    'incident.**',
    'jobs.*.**',
    'a'.repeat(MAX_PATTERN_LENGTH),
  ])('accepts %j', (pattern) => {
    expect(isValidPattern(pattern)).toBe(true)
  })

  it.each([
    '',
    '.',
    '.alert',
    'alert.',
    'incident..created',
    '**.created',
    'a.**.b',
    '**.**',
    'alert,incident',
    'a'.repeat(MAX_PATTERN_LENGTH + 1),
  ])('rejects %j', (pattern) => {
    expect(isValidPattern(pattern)).toBe(false)
  })

  it.each([null, undefined, 42, ['alert'], { pattern: 'alert' }])('rejects the non-string %j', (value) => {
    expect(isValidPattern(value)).toBe(false)
  })
})

describe('matchPattern', () => {
  it.each([
    ['alert', 'alert', true],
    ['alert', 'alerts', false],
    ['alert', 'alert.high', false],
    ['incident.created', 'incident.created', true],
    ['incident.created', 'incident.closed', false],
    // `*`: exactly one segment
    ['*', 'alert', true],
    ['*', 'incident.created', false],
    ['incident.*', 'incident.created', true],
    ['incident.*', 'incident', false],
    ['incident.*', 'incident.created.eu', false],
    ['incident.*', 'incidents.created', false],
    ['*.created', 'incident.created', true],
    ['*.created', 'incident.closed', false],
    ['jobs.*.log', 'jobs.42.log', true],
    ['jobs.*.log', 'jobs.42.43.log', false],
    // `**` (last segment): zero or more segments
    ['incident.**', 'incident', true],
    ['incident.**', 'incident.created', true],
    ['incident.**', 'incident.created.eu', true],
    ['incident.**', 'incidents', false],
    ['incident.**', 'incidents.created', false],
    ['incident.**', 'alert', false],
    ['**', 'alert', true],
    ['**', 'incident.created.eu', true],
    ['jobs.*.**', 'jobs.42', true],
    ['jobs.*.**', 'jobs.42.log.stderr', true],
    ['jobs.*.**', 'jobs', false],
    // `**` anywhere else is no wildcard (and no valid pattern): it matches nothing but itself
    ['a.**.b', 'a.x.b', false],
    ['a.**.b', 'a.b', false],
    // a `*` inside a segment is a literal character
    ['inc*', 'incident', false],
    ['inc*', 'inc*', true],
  ])('%j vs %j → %s', (pattern, event, expected) => {
    expect(matchPattern(pattern, event)).toBe(expected)
  })
})
