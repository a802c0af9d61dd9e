/**
 * The live dashboard: one server-sent-events stream (`/api/v1/console/live`) carries a
 * snapshot each time something changes, so pulls, offload and errors appear without a reload.
 */
import type { ComponentChildren } from 'preact'
import { useEffect, useMemo, useState } from 'preact/hooks'
import type { DeploymentRow, LogRow, OffloadReportRow } from '../../../protocol/api/reports.ts'
import { API } from '../api.ts'
import { TimeChart } from '../chart.tsx'
import { bytes, percent, time } from '../format.ts'
import { DataTable } from '../table.tsx'
import type { Columns } from '../table.tsx'
import { PageHead } from '../ui.tsx'

interface Snapshot {
  offload: OffloadReportRow[]
  clients: { total: number, online: number }
  pulls: Array<{ id: string, user: string, host: string, site: string, pull: { image: string, version: number, progress: number } }>
  deployment: DeploymentRow[]
  recentPulls: LogRow[]
  errors: LogRow[]
}

interface SiteTotal { site: string, pulls: number, originBytes: number, peerBytes: number, localBytes: number, offload: number }

function siteTotals (rows: OffloadReportRow[]): SiteTotal[] {
  const by = new Map<string, SiteTotal>()
  for (const r of rows) {
    const t = by.get(r.site) ?? { site: r.site, pulls: 0, originBytes: 0, peerBytes: 0, localBytes: 0, offload: 0 }
    t.pulls += r.pulls; t.originBytes += r.originBytes; t.peerBytes += r.peerBytes; t.localBytes += r.localBytes
    by.set(r.site, t)
  }
  for (const t of by.values()) {
    const all = t.originBytes + t.peerBytes + t.localBytes
    t.offload = all === 0 ? 0 : (t.peerBytes + t.localBytes) / all
  }
  return [...by.values()].sort((a, b) => a.site.localeCompare(b.site))
}

const SITE_COLUMNS: Columns<SiteTotal> = [
  { accessorKey: 'site', header: 'Site', cell: (c) => c.getValue() === '' ? '(no site)' : c.getValue() },
  { accessorKey: 'pulls', header: 'Pulls', meta: { numeric: true } },
  { accessorKey: 'originBytes', header: 'From origin (WAN)', cell: (c) => <span data-bytes={c.getValue()}>{bytes(c.getValue())}</span>, meta: { numeric: true } },
  { accessorKey: 'peerBytes', header: 'From peers', cell: (c) => <span data-bytes={c.getValue()}>{bytes(c.getValue())}</span>, meta: { numeric: true } },
  { accessorKey: 'localBytes', header: 'Local reuse', cell: (c) => <span data-bytes={c.getValue()}>{bytes(c.getValue())}</span>, meta: { numeric: true } },
  { accessorKey: 'offload', header: 'WAN offload', cell: (c) => percent(c.getValue()), meta: { numeric: true } }
]

const PULL_COLUMNS: Columns<Snapshot['pulls'][number]> = [
  { accessorKey: 'host', header: 'Host' },
  { accessorKey: 'site', header: 'Site' },
  { accessorKey: 'user', header: 'User' },
  { id: 'image', accessorFn: (r) => `${r.pull.image} v${r.pull.version}`, header: 'Image' },
  { id: 'progress', accessorFn: (r) => r.pull.progress, header: 'Progress', cell: (c) => <span class="progress-cell"><progress max={1} value={c.getValue()} aria-label="pull progress" /> {percent(c.getValue())}</span> }
]

const DEPLOY_COLUMNS: Columns<DeploymentRow> = [
  { accessorKey: 'image', header: 'Image' },
  { accessorKey: 'version', header: 'Version', meta: { numeric: true } },
  { accessorKey: 'state', header: 'State' },
  { accessorKey: 'clients', header: 'Clients on it', meta: { numeric: true } },
  { accessorKey: 'pulling', header: 'Pulling', meta: { numeric: true } },
  { accessorKey: 'lagging', header: 'Lagging', meta: { numeric: true } }
]

const LOG_COLUMNS: Columns<LogRow> = [
  { accessorKey: 'atMs', header: 'When', cell: (c) => time(c.getValue()) },
  { accessorKey: 'severity', header: 'Severity', cell: (c) => <span class={`sev sev-${c.getValue()}`}>{c.getValue()}</span> },
  { accessorKey: 'category', header: 'Kind' },
  { accessorKey: 'host', header: 'Host' },
  { accessorKey: 'description', header: 'What happened' }
]

const PULL_LOG_COLUMNS: Columns<LogRow> = [
  { accessorKey: 'atMs', header: 'When', cell: (c) => time(c.getValue()) },
  { accessorKey: 'site', header: 'Site' },
  { accessorKey: 'host', header: 'Host' },
  { accessorKey: 'description', header: 'Pull' }
]

const DAY_MS = 86_400_000
/** the tracker's window (`DASHBOARD_OFFLOAD_DAYS`) */
const WINDOW_DAYS = 30

const COLORS = { origin: '#c0392b', peers: '#2471a3', local: '#1e8449' }

export function Dashboard (): ComponentChildren {
  const [snap, setSnap] = useState<Snapshot | undefined>(undefined)
  const [connected, setConnected] = useState(false)
  const [site, setSite] = useState('')

  useEffect(() => {
    const es = new EventSource(`${API}/console/live`)
    es.addEventListener('dashboard', (e) => { setSnap(JSON.parse((e as MessageEvent<string>).data) as Snapshot); setConnected(true) })
    es.onerror = () => setConnected(false)
    es.onopen = () => setConnected(true)
    return () => es.close()
  }, [])

  const sites = useMemo(() => siteTotals(snap?.offload ?? []), [snap])
  const chart = useMemo(() => {
    // every day of the window, so that quiet days show as zero and the axis spans the window
    const today = Math.floor(Date.now() / DAY_MS) * DAY_MS
    const days = Array.from({ length: WINDOW_DAYS }, (_, i) => new Date(today - (WINDOW_DAYS - 1 - i) * DAY_MS).toISOString().slice(0, 10))
    const pick = (key: 'originBytes' | 'peerBytes' | 'localBytes'): number[] => days.map((d) => (snap?.offload ?? []).filter((r) => r.day === d && (site === '' || r.site === site)).reduce((n, r) => n + r[key], 0))
    return {
      x: days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000),
      series: [
        { label: 'origin (WAN)', color: COLORS.origin, values: pick('originBytes') },
        { label: 'peers (LAN)', color: COLORS.peers, values: pick('peerBytes') },
        { label: 'local reuse', color: COLORS.local, values: pick('localBytes') }
      ]
    }
  }, [snap, site])

  const all = sites.reduce((n, s) => n + s.originBytes + s.peerBytes + s.localBytes, 0)
  const offloaded = sites.reduce((n, s) => n + s.peerBytes + s.localBytes, 0)

  return (
    <>
      <PageHead title="Dashboard">
        <span class={connected ? 'live on' : 'live'} role="status">{connected ? 'Live' : 'Connecting…'}</span>
      </PageHead>
      {snap === undefined
        ? <p class="loading">Waiting for the first snapshot…</p>
        : (
          <>
            <section class="cards" aria-label="Summary">
              <div class="card"><span class="big" data-testid="clients-online">{snap.clients.online}</span> clients online <small>of {snap.clients.total}</small></div>
              <div class="card"><span class="big" data-testid="pulls-active">{snap.pulls.length}</span> pulls in progress</div>
              <div class="card"><span class="big">{percent(all === 0 ? 0 : offloaded / all)}</span> WAN offload, last 30 days</div>
              <div class="card"><span class="big">{snap.errors.filter((e) => e.severity === 'error').length}</span> recent errors</div>
            </section>
            <section aria-labelledby="offload-h">
              <div class="section-head">
                <h2 id="offload-h">WAN offload per site</h2>
                <label class="inline">Site{' '}
                  <select value={site} onChange={(e) => setSite(e.currentTarget.value)}>
                    <option value="">all sites</option>
                    {sites.map((s) => <option key={s.site} value={s.site}>{s.site === '' ? '(no site)' : s.site}</option>)}
                  </select>
                </label>
              </div>
              <TimeChart label="Wire bytes per day by source: origin, peers, local reuse" x={chart.x} series={chart.series} formatY={bytes} />
              <DataTable label="Offload per site" data={sites} columns={SITE_COLUMNS} rowId={(r) => r.site} empty="No pulls in the last 30 days." />
            </section>
            <div class="two">
              <section aria-labelledby="pulls-h">
                <h2 id="pulls-h">Pulls in progress</h2>
                <DataTable label="Pulls in progress" data={snap.pulls} columns={PULL_COLUMNS} rowId={(r) => r.id} empty="No pull in progress." />
              </section>
              <section aria-labelledby="deploy-h">
                <h2 id="deploy-h">Deployment of current versions</h2>
                <DataTable label="Deployment" data={snap.deployment} columns={DEPLOY_COLUMNS} empty="No image published yet." />
              </section>
            </div>
            <section aria-labelledby="recent-h">
              <h2 id="recent-h">Recent pulls</h2>
              <DataTable label="Recent pulls" data={snap.recentPulls} columns={PULL_LOG_COLUMNS} rowId={(r) => r.id} empty="No pull completed yet." />
            </section>
            <section aria-labelledby="errors-h">
              <h2 id="errors-h">Errors and security events</h2>
              <DataTable label="Errors and security events" data={snap.errors} columns={LOG_COLUMNS} rowId={(r) => r.id} empty="Nothing to report." />
            </section>
          </>
          )}
    </>
  )
}
