import { mountAlertsPanel } from './panel'

mountAlertsPanel(document.getElementById('app') as HTMLElement)
