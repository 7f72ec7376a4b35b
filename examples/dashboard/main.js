/**
 * The live demo page: one RealtimeClient, a feed of its events, its stats, and a continuity check
 * computed here from `meta.seq` alone, so what the page shows does not depend on the client's own
 * counters. The server bundles this file with esbuild on request (`wirefeed` comes from dist/).
 */
import { RealtimeClient } from 'wirefeed'
import { z } from 'zod'

const FEED_MAX = 50
const LOG_MAX = 40
/** An event older than this when it arrives was held up by a fault (a replay, or a held poll). */
const LATE_MS = 1500

const STATUS_LABEL = {
  idle: 'Offline',
  connecting: 'Connecting',
  open: 'Live',
  reconnecting: 'Reconnecting',
  polling: 'Polling',
  closed: 'Offline',
}

const RESYNC_REASON = {
  new_session: 'the server no longer knew the session',
  replay_failed: 'the server could not replay the missing events',
  replay_timeout: 'the missing events did not arrive in time',
  buffer_full: 'too many events arrived past a hole',
}

const $ = (testid) => document.querySelector(`[data-testid="${testid}"]`)
const el = (tag, className, text) => {
  const node = document.createElement(tag)
  if (className) node.className = className
  if (text !== undefined) node.textContent = text
  return node
}
const clock = (ms = Date.now()) => new Date(ms).toLocaleTimeString([], { hour12: false })

// ---- the client ----

const config = await fetch('/demo/config').then((r) => r.json())
const wsOrigin = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`

const severity = z.enum(['low', 'high'])
const client = new RealtimeClient({
  url: `${wsOrigin}${config.wsPath}`,
  pollUrl: `${location.origin}${config.pollPath}`,
  events: {
    alert: z.object({ id: z.string(), severity, host: z.string(), message: z.string() }),
    'incident.created': z.object({ id: z.string(), title: z.string(), severity }),
    'incident.resolved': z.object({ id: z.string(), title: z.string() }),
  },
  // one socket for every tab of the demo (?shared=0: one per tab)
  shareAcrossTabs: new URLSearchParams(location.search).get('shared') !== '0',
  ...config.client,
})

// ---- continuity, from meta.seq ----

/**
 * `expected` is the next seq of the current session, or null right after a `new_session` resync
 * (the new session's first event sets it). A seq above `expected` is a hole: it is lost unless a
 * resync reported it. A seq below it was delivered twice or out of order.
 */
const continuity = { delivered: 0, lost: 0, disordered: 0, resyncs: 0 }
let expected = 1
/** Seq ranges a resync reported in the current session, [from, to]. */
let reported = []

function checkSeq(seq) {
  continuity.delivered++
  if (expected === null) {
    expected = seq + 1
    return
  }
  if (seq < expected) {
    continuity.disordered++
    return
  }
  for (let s = expected; s < seq; s++) {
    if (!reported.some(([from, to]) => s >= from && s <= to)) continuity.lost++
  }
  expected = seq + 1
}

function noteResync(info) {
  continuity.resyncs++
  if (info.reason === 'new_session') {
    expected = null
    reported = []
  } else {
    reported.push([info.from, info.to ?? Number.MAX_SAFE_INTEGER])
  }
}

// ---- the feed ----

const feed = $('event-feed')

function describe(event, data) {
  if (event === 'alert') return { text: `${data.host} · ${data.message}`, level: data.severity }
  if (event === 'incident.created') return { text: `${data.id} · ${data.title}`, level: data.severity }
  if (event === 'incident.resolved') return { text: `${data.id} · ${data.title}`, level: 'ok' }
  if (event.startsWith('host.') && data && typeof data.value === 'number') {
    return { text: `${data.value.toFixed(1)}${data.unit ?? ''}`, level: data.value >= 85 ? 'high' : 'metric' }
  }
  return { text: JSON.stringify(data)?.slice(0, 80) ?? '', level: 'metric' }
}

function kindOf(event) {
  if (event === 'alert') return 'alert'
  if (event.startsWith('incident.')) return 'incident'
  if (event.startsWith('host.')) return 'host'
  return 'other'
}

function addToFeed(data, meta) {
  const { text, level } = describe(meta.event, data)
  const age = meta.ts === undefined ? 0 : Date.now() - meta.ts
  const row = el('li', `row level-${level}${age > LATE_MS ? ' late' : ''}`)
  row.dataset.testid = 'feed-item'
  row.dataset.seq = String(meta.seq)
  row.dataset.event = meta.event
  row.append(
    el('span', 'seq', `#${meta.seq}`),
    el('span', `name kind-${kindOf(meta.event)}`, meta.event),
    el('span', 'data', text),
    el('time', 'time', age > LATE_MS ? `late ${(age / 1000).toFixed(1)} s` : clock(meta.ts)),
  )
  feed.prepend(row)
  while (feed.childElementCount > FEED_MAX) feed.lastElementChild.remove()
  $('feed-empty').hidden = true
}

// ---- the log ----

const logList = $('log')
let logIndex = 0

function log(kind, text, extra = {}) {
  const row = el('li', `entry kind-${kind}`)
  row.dataset.testid = 'log-entry'
  row.dataset.kind = kind
  row.dataset.index = String(++logIndex)
  for (const [k, v] of Object.entries(extra)) row.dataset[k] = String(v)
  row.append(el('time', 'time', clock()), el('span', 'text', text))
  logList.prepend(row)
  while (logList.childElementCount > LOG_MAX) logList.lastElementChild.remove()
}

// ---- counters ----

function setText(testid, value) {
  const node = $(testid)
  const text = String(value)
  if (node.textContent !== text) node.textContent = text
}

function setTile(testid, value) {
  setText(testid, value)
  $(`${testid}-tile`).className = `tile ${value === 0 ? 'good' : 'bad'}`
}

function renderCounters() {
  setText('continuity-delivered', continuity.delivered)
  setTile('continuity-lost', continuity.lost)
  setTile('continuity-duplicated', continuity.disordered)
  setText('continuity-resyncs', continuity.resyncs)
  const s = client.stats
  setText('stat-messages', s.messages)
  setText('stat-gaps', s.gaps)
  setText('stat-replayed', s.replayed)
  setText('stat-resyncs', s.resyncs)
  setText('stat-reconnects', s.reconnects)
  setText('stat-duplicates', s.duplicates)
  setText('stat-transport', s.transport ?? '—')
  setText('stat-rtt', s.rtt === null ? '—' : `${Math.round(s.rtt)} ms`)
  setText('transport-chip', s.transport ?? 'no link')
}

let renderQueued = false
function scheduleRender() {
  if (renderQueued) return
  renderQueued = true
  queueMicrotask(() => {
    renderQueued = false
    renderCounters()
  })
}

function renderStatus(status) {
  const badge = $('status-badge')
  badge.dataset.status = status
  badge.textContent = STATUS_LABEL[status] ?? status
}

// ---- wiring the client ----

client.on('*', (data, meta) => {
  checkSeq(meta.seq)
  addToFeed(data, meta)
  scheduleRender()
})

client.on('status', (status) => {
  renderStatus(status)
  log('status', `status → ${STATUS_LABEL[status] ?? status} (${status})`, { status })
  scheduleRender()
})

client.on('resync', (info) => {
  noteResync(info)
  const range = info.to === null ? `from #${info.from}` : `#${info.from}–#${info.to} (${info.missed} missed)`
  log('resync', `resync ${range}: ${RESYNC_REASON[info.reason] ?? info.reason}, refetch state`, { reason: info.reason })
  scheduleRender()
})

let lastError = ''
client.on('error', (error) => {
  const text = `error ${error.code}: ${error.message}`
  if (text !== lastError) log('error', text, { code: error.code })
  lastError = text
})

renderStatus(client.status)
log('status', `status → ${STATUS_LABEL[client.status] ?? client.status} (${client.status})`, { status: client.status })

// ---- subscriptions ----

const undo = new Map()
const boxes = [...document.querySelectorAll('.subs input[type="checkbox"]')]

function syncSubscription(box) {
  if (box.checked && !undo.has(box.value)) undo.set(box.value, client.subscribe(box.value))
  if (!box.checked && undo.has(box.value)) {
    undo.get(box.value)()
    undo.delete(box.value)
  }
  $('subs-none').hidden = boxes.some((b) => b.checked)
}

for (const box of boxes) {
  syncSubscription(box)
  box.addEventListener('change', () => {
    syncSubscription(box)
    log('subscription', `${box.checked ? 'subscribe' : 'unsubscribe'} ${box.value}`, { pattern: box.value })
  })
}

// ---- faults ----

const seconds = (ms) => `${Math.round(ms / 100) / 10} s`
const { heartbeat, polling } = config.client
const FAULTS = {
  drop: { path: '/demo/drop', text: 'fault: drop every connection' },
  silent: {
    path: '/demo/silent',
    text: `fault: the server goes silent (half-open link); the heartbeat notices within ${seconds(heartbeat.interval + heartbeat.timeout)}`,
  },
  refuse: { path: '/demo/refuse-websocket', body: { on: true }, text: 'fault: the server refuses WebSocket upgrades' },
  allow: {
    path: '/demo/refuse-websocket',
    body: { on: false },
    text: `the server accepts WebSocket again; a polling client probes every ${seconds(polling.upgradeInterval)}`,
  },
  restart: { path: '/demo/restart', text: 'fault: restart the realtime server (sessions lost)' },
}

async function post(path, body) {
  const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) })
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`)
  return res.json()
}

let serverState
for (const button of document.querySelectorAll('.faults button')) {
  button.addEventListener('click', async () => {
    const name = button.dataset.fault
    try {
      if (name === 'pause') {
        const on = !serverState?.paused
        log('fault', on ? 'event source paused' : 'event source resumed')
        renderServer(await post('/demo/pause', { on }))
        return
      }
      const fault = FAULTS[name]
      log('fault', fault.text, { fault: name })
      renderServer(await post(fault.path, fault.body))
    } catch (error) {
      log('error', `demo control failed: ${error.message}`)
    }
  })
}

// ---- the server's side ----

function renderServer(state) {
  serverState = state
  setText('server-published', state.published)
  setText('server-delivered', state.server.delivered)
  setText('server-sessions', state.server.sessions)
  setText('server-sockets', state.server.connections)
  setText('server-restarts', state.restarts)
  const flags = [state.refusing && 'refusing WebSocket', state.silent && 'silent', state.paused && 'paused', state.restarting && 'restarting']
  setText('server-flags', flags.filter(Boolean).join(' · '))
  $('fault-refuse').classList.toggle('active', state.refusing)
  $('fault-silent').classList.toggle('active', state.silent)
  const pause = $('source-pause')
  pause.setAttribute('aria-pressed', String(state.paused))
  pause.textContent = state.paused ? 'Resume events' : 'Pause events'
}

async function refreshServer() {
  try {
    renderServer(await fetch('/demo/state').then((r) => r.json()))
  } catch {
    // the demo server is away; the badge says so
  }
}

renderCounters()
void refreshServer()
setInterval(() => {
  renderCounters()
  void refreshServer()
}, 500)

// For the console: `demo.client.stats`, `demo.continuity`.
globalThis.demo = { client, continuity }
