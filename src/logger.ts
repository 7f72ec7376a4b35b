/**
 * Debug output. Never prints a token, a URL's query string or fragment, or user info: only what
 * is needed to follow the connection's life.
 */
export interface Logger {
  debug(message: string, ...details: unknown[]): void
}

/**
 * `wss://user:pw@host/path?token=x#y` → `wss://host/path`. User info ends at the last `@` before
 * the path, as URL parsers read it: a raw `@` inside a password does not end it.
 */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][\w+.-]*:\/\/)[^/?#]*@/i, '$1').replace(/[?#].*$/s, '')
}
