/**
 * Subscription patterns (PROTOCOL.md): dot-separated segments; `*` matches exactly one segment;
 * `**`, only as the last segment, matches zero or more; anything else matches itself.
 */

/** Longest pattern the client accepts, in characters. */
export const MAX_PATTERN_LENGTH = 256

/** Whether `pattern` is well formed: non-empty segments, `**` only at the end. */
export function isValidPattern(pattern: unknown): pattern is string {
  if (typeof pattern !== 'string' || pattern.length === 0 || pattern.length > MAX_PATTERN_LENGTH) return false
  const segments = pattern.split('.')
  // a comma would split the pattern in a poll URL's comma-separated `events`
  return !pattern.includes(',') && segments.every((s, i) => s.length > 0 && (s !== '**' || i === segments.length - 1))
}

/** Whether the event name `event` matches `pattern`. */
export function matchPattern(pattern: string, event: string): boolean {
  if (pattern === event) return true
  const p = pattern.split('.')
  const e = event.split('.')
  for (let i = 0; i < p.length; i++) {
    const seg = p[i]
    if (seg === '**' && i === p.length - 1) return true
    if (i >= e.length || (seg !== '*' && seg !== e[i])) return false
  }
  return p.length === e.length
}
