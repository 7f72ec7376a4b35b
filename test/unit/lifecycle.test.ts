import { afterEach, describe, expect, it, vi } from 'vitest'
import { watchBrowser } from '../../src/lifecycle.js'

/** A window and a document made of plain EventTargets, installed on globalThis. */
function fakeBrowser() {
  const win = new EventTarget()
  const doc = Object.assign(new EventTarget(), { visibilityState: 'hidden' as DocumentVisibilityState })
  const added = vi.spyOn(win, 'addEventListener')
  const removed = vi.spyOn(win, 'removeEventListener')
  const docAdded = vi.spyOn(doc, 'addEventListener')
  const docRemoved = vi.spyOn(doc, 'removeEventListener')
  vi.stubGlobal('addEventListener', win.addEventListener.bind(win))
  vi.stubGlobal('removeEventListener', win.removeEventListener.bind(win))
  vi.stubGlobal('document', doc)
  return { win, doc, added, removed, docAdded, docRemoved }
}

afterEach(() => {
  vi.unstubAllGlobals()
  vi.restoreAllMocks()
})

describe('watchBrowser', () => {
  it('wakes on online, pageshow, resume, and visibilitychange to visible only', () => {
    const b = fakeBrowser()
    const wake = vi.fn()
    watchBrowser(wake)
    b.win.dispatchEvent(new Event('online'))
    b.win.dispatchEvent(new Event('pageshow'))
    expect(wake).toHaveBeenCalledTimes(2)
    b.doc.dispatchEvent(new Event('visibilitychange'))
    expect(wake).toHaveBeenCalledTimes(2)
    b.doc.visibilityState = 'visible'
    b.doc.dispatchEvent(new Event('visibilitychange'))
    expect(wake).toHaveBeenCalledTimes(3)
  })

  it('wakes on resume (a frozen page runs again) even while the page stays hidden, and not on freeze', () => {
    const b = fakeBrowser()
    const wake = vi.fn()
    watchBrowser(wake)
    b.doc.dispatchEvent(new Event('freeze'))
    expect(wake).not.toHaveBeenCalled()
    expect(b.doc.visibilityState).toBe('hidden')
    b.doc.dispatchEvent(new Event('resume'))
    expect(wake).toHaveBeenCalledTimes(1)
    // `resume` belongs to the document: the same event on the window is not the Page Lifecycle one
    b.win.dispatchEvent(new Event('resume'))
    expect(wake).toHaveBeenCalledTimes(1)
  })

  it('the returned function removes every listener it added', () => {
    const b = fakeBrowser()
    const wake = vi.fn()
    const unwatch = watchBrowser(wake)
    expect(b.added.mock.calls.map((c) => c[0])).toEqual(['online', 'pageshow'])
    expect(b.docAdded.mock.calls.map((c) => c[0])).toEqual(['visibilitychange', 'resume'])
    unwatch()
    expect(b.removed.mock.calls).toEqual(b.added.mock.calls)
    expect(b.docRemoved.mock.calls).toEqual(b.docAdded.mock.calls)
    b.doc.visibilityState = 'visible'
    b.win.dispatchEvent(new Event('online'))
    b.win.dispatchEvent(new Event('pageshow'))
    b.doc.dispatchEvent(new Event('visibilitychange'))
    b.doc.dispatchEvent(new Event('resume'))
    expect(wake).not.toHaveBeenCalled()
  })

  it('works on a window without a document', () => {
    const win = new EventTarget()
    vi.stubGlobal('addEventListener', win.addEventListener.bind(win))
    vi.stubGlobal('removeEventListener', win.removeEventListener.bind(win))
    const wake = vi.fn()
    const unwatch = watchBrowser(wake)
    win.dispatchEvent(new Event('online'))
    expect(wake).toHaveBeenCalledTimes(1)
    unwatch()
    win.dispatchEvent(new Event('online'))
    expect(wake).toHaveBeenCalledTimes(1)
  })

  it('does nothing outside a browser (no addEventListener/removeEventListener on globalThis)', () => {
    const doc = new EventTarget()
    const docAdded = vi.spyOn(doc, 'addEventListener')
    vi.stubGlobal('addEventListener', undefined)
    vi.stubGlobal('document', doc)
    const unwatch = watchBrowser(vi.fn())
    expect(docAdded).not.toHaveBeenCalled()
    expect(() => unwatch()).not.toThrow()
  })
})
