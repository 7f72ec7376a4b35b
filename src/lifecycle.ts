/**
 * Browser signals that the link deserves a look now: the network came back (`online`), the page
 * became visible, or it was restored from the back/forward cache (`pageshow`). Listeners exist
 * only while a connection is alive; the returned function removes every one of them. Outside a
 * browser (SSR, Node) this does nothing.
 */
export function watchBrowser(wake: () => void): () => void {
  const win = globalThis as Partial<Pick<typeof globalThis, 'addEventListener' | 'removeEventListener' | 'document'>>
  if (typeof win.addEventListener !== 'function' || typeof win.removeEventListener !== 'function') return () => {}
  const doc = win.document
  const onVisibility = (): void => {
    if (doc?.visibilityState === 'visible') wake()
  }
  win.addEventListener('online', wake)
  win.addEventListener('pageshow', wake)
  doc?.addEventListener('visibilitychange', onVisibility)
  return () => {
    win.removeEventListener?.('online', wake)
    win.removeEventListener?.('pageshow', wake)
    doc?.removeEventListener('visibilitychange', onVisibility)
  }
}
