import { RealtimeClient, type Status } from 'wirefeed'
import { type Alert, events, fetchAlerts, MAX_ALERTS, POLL_URL, STATUS_LABEL, WS_URL } from '../../shared/realtime'

/** Render the alerts panel into `root` and keep it live. Returns what takes it down again. */
export function mountAlertsPanel(root: HTMLElement): () => void {
  root.innerHTML = `
    <main>
      <header><h1>Alerts</h1> <span role="status" class="badge"></span></header>
      <p role="alert" class="banner" hidden>The connection was interrupted. Refreshing the alerts…</p>
      <label><input type="checkbox" /> Incidents</label>
      <p class="incident" hidden>Latest incident: <span>none</span></p>
      <ul aria-label="Latest alerts"></ul>
    </main>`
  const find = <T extends Element>(selector: string) => root.querySelector(selector) as T
  const badge = find<HTMLElement>('[role="status"]')
  const banner = find<HTMLElement>('[role="alert"]')
  const toggle = find<HTMLInputElement>('input[type="checkbox"]')
  const incident = find<HTMLElement>('.incident')
  const list = find<HTMLUListElement>('ul')

  const client = new RealtimeClient({ url: WS_URL, pollUrl: POLL_URL, events, subscribe: ['alert'] })
  let alerts: Alert[] = []
  const showStatus = (status: Status) => {
    badge.textContent = STATUS_LABEL[status]
    badge.className = `badge ${status}`
  }
  const showAlerts = (next: Alert[]) => {
    alerts = next.slice(0, MAX_ALERTS)
    list.replaceChildren(
      ...alerts.map((alert) => Object.assign(document.createElement('li'), { className: alert.severity, textContent: `${alert.host}: ${alert.message}` })),
    )
  }

  showStatus(client.status)
  client.on('status', showStatus)
  client.on('alert', (alert) => showAlerts([alert, ...alerts]))
  client.on('incident.created', (created) => (find('.incident span').textContent = created.title))
  // Continuity was lost (the server restarted, say): what was missed comes from the REST API.
  client.on('resync', () => {
    banner.hidden = false
    fetchAlerts()
      .then(showAlerts, (error: unknown) => console.warn('Could not reload the alerts', error))
      .finally(() => (banner.hidden = true))
  })

  let unsubscribeIncidents: (() => void) | undefined
  toggle.addEventListener('change', () => {
    unsubscribeIncidents?.()
    unsubscribeIncidents = toggle.checked ? client.subscribe('incident.*') : undefined
    incident.hidden = !toggle.checked
  })

  return () => {
    client.close()
    root.replaceChildren()
  }
}
