/**
 * The app's realtime set-up: where the endpoints are, what the events look like, and the REST call
 * that reloads the alerts after a resync.
 */
import type { Status } from 'wirefeed'
import { z } from 'zod'

// The endpoints live on the app's own origin. In development, Vite proxies them to the server of
// the live demo (`npm start`), as a reverse proxy would in production.
const here = new URL(location.href)
export const WS_URL = `${here.protocol === 'https:' ? 'wss:' : 'ws:'}//${here.host}/ws/events`
export const POLL_URL = `${here.origin}/api/events`
export const ALERTS_URL = `${here.origin}/api/alerts`

const severity = z.enum(['low', 'high'])
export const alertSchema = z.object({ id: z.string(), severity, host: z.string(), message: z.string() })
export type Alert = z.infer<typeof alertSchema>

/** The events the app listens to: each payload is validated, and typed, by its schema. */
export const events = {
  alert: alertSchema,
  'incident.created': z.object({ id: z.string(), severity, title: z.string() }),
}

export const MAX_ALERTS = 20

export const STATUS_LABEL: Record<Status, string> = {
  idle: 'Connecting',
  connecting: 'Connecting',
  open: 'Live',
  reconnecting: 'Reconnecting',
  polling: 'Polling',
  closed: 'Offline',
}

/** The current alerts, newest first, from the REST API: what to show after a `resync`. */
export async function fetchAlerts(): Promise<Alert[]> {
  const response = await fetch(ALERTS_URL)
  if (!response.ok) throw new Error(`GET ${ALERTS_URL} answered ${response.status}`)
  return z.array(alertSchema).parse(await response.json()).slice(0, MAX_ALERTS)
}
