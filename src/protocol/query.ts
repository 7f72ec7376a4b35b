/** The socket URL of servers that take settings and the token as query parameters. */

export interface SocketUrlOptions {
  /** Query parameters added to the socket URL of every attempt (e.g. `{ time_range: '1h' }`). */
  query?: Readonly<Record<string, string>>
  /**
   * With the `auth` option, the query parameter that carries the token of `auth.getToken`, fetched
   * for every attempt. Without `auth`, nothing is added (a `url` function may add a token itself).
   * @default 'token'
   */
  tokenParam?: string
}

/**
 * `socketUrl` of a protocol: `url` with the `query` parameters and the token appended (percent-
 * encoded). Appended, not merged: a parameter named here should not also be in `url`.
 */
export function socketUrl(o: SocketUrlOptions | undefined): (url: string, context: { token: string | undefined }) => string {
  const query = o?.query ?? {}
  const tokenParam = o?.tokenParam ?? 'token'
  return (url, { token }) => {
    const params = new URLSearchParams(query)
    if (token !== undefined) params.set(tokenParam, token)
    const q = params.toString()
    return q ? url + (url.includes('?') ? '&' : '?') + q : url
  }
}
