/**
 * Debug output. Never prints a token, a URL's query string or fragment, or user info: only what
 * is needed to follow the connection's life.
 */
export interface Logger {
  debug(message: string, ...details: unknown[]): void
}

/** `wss://user:pw@host/path?token=x#y` → `wss://host/path` */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][\w+.-]*:\/\/)[^@/?#]*@/i, '$1').replace(/[?#].*$/s, '')
}
