import '../../shared/style.css'
import { mountAlertsPanel } from './panel'

mountAlertsPanel(document.getElementById('app') as HTMLElement)
