import { useState } from 'react'
import { useRealtime, useRealtimeEvent, useRealtimeStatus, useRealtimeSubscription } from 'wirefeed/react'
import { type Alert, events, fetchAlerts, MAX_ALERTS, POLL_URL, STATUS_LABEL, WS_URL } from '../../shared/realtime'

export function App() {
  const client = useRealtime({ url: WS_URL, pollUrl: POLL_URL, events })
  const status = useRealtimeStatus(client)
  const [alerts, setAlerts] = useState<Alert[]>([])
  const [incident, setIncident] = useState('none')
  const [withIncidents, setWithIncidents] = useState(false)
  const [refreshing, setRefreshing] = useState(false)

  useRealtimeSubscription(client, withIncidents ? ['alert', 'incident.*'] : ['alert'])
  useRealtimeEvent(client, 'alert', (alert) => setAlerts((list) => [alert, ...list].slice(0, MAX_ALERTS)))
  useRealtimeEvent(client, 'incident.created', (created) => setIncident(created.title))
  // Continuity was lost (the server restarted, say): what was missed comes from the REST API.
  useRealtimeEvent(client, 'resync', () => {
    setRefreshing(true)
    fetchAlerts()
      .then(setAlerts, (error: unknown) => console.warn('Could not reload the alerts', error))
      .finally(() => setRefreshing(false))
  })

  return (
    <main>
      <header>
        <h1>Alerts</h1>
        <span role="status" className={`badge ${status}`}>
          {STATUS_LABEL[status]}
        </span>
      </header>
      {refreshing && (
        <p role="alert" className="banner">
          The connection was interrupted. Refreshing the alerts…
        </p>
      )}
      <label>
        <input type="checkbox" checked={withIncidents} onChange={(e) => setWithIncidents(e.target.checked)} /> Incidents
      </label>
      {withIncidents && <p>Latest incident: {incident}</p>}
      <ul aria-label="Latest alerts">
        {alerts.map((alert) => (
          <li key={alert.id} className={alert.severity}>
            {alert.host}: {alert.message}
          </li>
        ))}
      </ul>
    </main>
  )
}
