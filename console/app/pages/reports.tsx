/**
 * Reports: status, activity, errors, offload per site and deployment — filtered, sorted
 * and paged by the tracker, grouped here, exported as CSV by the tracker. A pull in the
 * activity log opens to its bytes by source and its origin bytes by reason.
 */
import type { ComponentChildren } from 'preact'
import { useState } from 'preact/hooks'
import type { SortingState } from '@tanstack/table-core'
import { REPORT_NAMES, REPORT_SORTS } from '../../../protocol/api/reports.ts'
import type { DeploymentRow, LogRow, OffloadReportRow, ReportAnswer, ReportName, StatusRow } from '../../../protocol/api/reports.ts'
import { API, api, query } from '../api.ts'
import { ago, bytes, percent, time } from '../format.ts'
import { DataTable } from '../table.tsx'
import type { Columns } from '../table.tsx'
import { ErrorLine, PageHead, useLoad } from '../ui.tsx'

const TITLES: Record<ReportName, string> = { status: 'Status', activity: 'Activity', errors: 'Errors', offload: 'Offload per site', deployment: 'Deployment' }
const PAGE = 50
const byteCell = { cell: (c: { getValue: () => number }) => bytes(c.getValue()), meta: { numeric: true }, aggregationFn: 'sum' as const }

const LOG: Columns<LogRow> = [
  { id: 'at', accessorKey: 'atMs', header: 'When', cell: (c) => time(c.getValue()) },
  { accessorKey: 'severity', header: 'Severity' },
  { accessorKey: 'category', header: 'Category' },
  { accessorKey: 'type', header: 'Type' },
  { accessorKey: 'site', header: 'Site' },
  { accessorKey: 'host', header: 'Host' },
  { accessorKey: 'user', header: 'User' },
  { accessorKey: 'image', header: 'Image' },
  { accessorKey: 'description', header: 'Description' }
]

const COLUMNS: { [N in ReportName]: Columns<any> } = {
  status: [
    { id: 'host', accessorKey: 'host', header: 'Host' },
    { id: 'site', accessorKey: 'site', header: 'Site' },
    { id: 'user', accessorKey: 'user', header: 'User' },
    { accessorKey: 'online', header: 'Online', cell: (c) => c.getValue() === true ? 'yes' : 'no' },
    { id: 'lastSeen', accessorKey: 'lastSeenAtMs', header: 'Last seen', cell: (c) => ago(c.getValue()) },
    { accessorKey: 'imageVersions', header: 'Versions held' },
    { accessorKey: 'workspace', header: 'Workspaces' },
    { accessorKey: 'pull', header: 'Pulling' },
    { accessorKey: 'clientVersion', header: 'Client version' }
  ] satisfies Columns<StatusRow>,
  activity: LOG,
  errors: LOG,
  offload: [
    { id: 'day', accessorKey: 'day', header: 'Day' },
    { id: 'site', accessorKey: 'site', header: 'Site' },
    { accessorKey: 'pulls', header: 'Pulls', meta: { numeric: true }, aggregationFn: 'sum' },
    { id: 'originBytes', accessorKey: 'originBytes', header: 'From origin', ...byteCell },
    { accessorKey: 'peerBytes', header: 'From peers', ...byteCell },
    { accessorKey: 'localBytes', header: 'Local reuse', ...byteCell },
    { id: 'offload', accessorKey: 'offload', header: 'Offload', cell: (c) => percent(c.getValue()), meta: { numeric: true }, aggregationFn: 'mean' }
  ] satisfies Columns<OffloadReportRow>,
  deployment: [
    { id: 'image', accessorKey: 'image', header: 'Image' },
    { accessorKey: 'version', header: 'Version', meta: { numeric: true } },
    { accessorKey: 'state', header: 'State' },
    { accessorKey: 'current', header: 'Current', cell: (c) => c.getValue() === true ? 'yes' : '' },
    { id: 'clients', accessorKey: 'clients', header: 'Clients', meta: { numeric: true }, aggregationFn: 'sum' },
    { accessorKey: 'pulling', header: 'Pulling', meta: { numeric: true }, aggregationFn: 'sum' },
    { id: 'lagging', accessorKey: 'lagging', header: 'Lagging', meta: { numeric: true }, aggregationFn: 'sum' },
    { accessorKey: 'publishedAtMs', header: 'Published', cell: (c) => time(c.getValue()) }
  ] satisfies Columns<DeploymentRow>
}

const GROUPABLE: Record<ReportName, Array<{ id: string, label: string }>> = {
  status: [{ id: 'site', label: 'site' }, { id: 'user', label: 'user' }],
  activity: [{ id: 'type', label: 'type' }, { id: 'site', label: 'site' }, { id: 'host', label: 'host' }],
  errors: [{ id: 'category', label: 'category' }, { id: 'site', label: 'site' }, { id: 'host', label: 'host' }],
  offload: [{ id: 'site', label: 'site' }, { id: 'day', label: 'day' }],
  deployment: [{ id: 'image', label: 'image' }]
}

interface StoredPull { payload: { bytesFromOrigin?: number, bytesFromPeers?: number, bytesFromLocal?: number, decodedBytesFromOrigin?: number, decodedBytesFromPeers?: number, originBytesByReason?: Record<string, number>, durationMs?: number } }

/** One pull's explanation: its stored event, found by client and time. */
function PullDetail ({ row }: { row: LogRow }): ComponentChildren {
  const ev = useLoad(async (signal) => {
    const { events } = await api<{ events: Array<StoredPull & { id: string }> }>('GET', `/events${query({ client: row.clientId, type: 'pull.completed', from: row.atMs, to: row.atMs + 1, limit: 100 })}`, undefined, signal)
    return events.find((e) => e.id === row.id)
  }, [row.id])
  if (ev.error !== undefined) return <ErrorLine error={ev.error} />
  if (ev.data === undefined) return <p>{ev.loading ? 'Loading…' : 'The event is no longer stored.'}</p>
  const p = ev.data.payload
  const reasons = Object.entries(p.originBytesByReason ?? {})
  return (
    <div class="pull-detail">
      <dl class="bytes-by-source">
        <dt>From origin (WAN)</dt><dd data-bytes={p.bytesFromOrigin ?? 0}>{bytes(p.bytesFromOrigin ?? 0)}{p.decodedBytesFromOrigin !== undefined ? ` (${bytes(p.decodedBytesFromOrigin)} decoded)` : ''}</dd>
        <dt>From peers (LAN)</dt><dd data-bytes={p.bytesFromPeers ?? 0}>{bytes(p.bytesFromPeers ?? 0)}{p.decodedBytesFromPeers !== undefined ? ` (${bytes(p.decodedBytesFromPeers)} decoded)` : ''}</dd>
        <dt>Reused from local disk</dt><dd data-bytes={p.bytesFromLocal ?? 0}>{bytes(p.bytesFromLocal ?? 0)}</dd>
        {p.durationMs !== undefined && <><dt>Took</dt><dd>{(p.durationMs / 1000).toFixed(1)} s</dd></>}
      </dl>
      <h3>Origin bytes by reason</h3>
      {reasons.length === 0 ? <p>None from the origin.</p> : <ul>{reasons.map(([why, n]) => <li key={why}>{why}: {bytes(n)}</li>)}</ul>}
    </div>
  )
}

export function Reports (): ComponentChildren {
  const [name, setName] = useState<ReportName>('activity')
  const [filters, setFilters] = useState<Record<string, string>>({ since: '7d' })
  const [sorting, setSorting] = useState<SortingState>([])
  const [cursors, setCursors] = useState<string[]>([])
  const sort = sorting[0]
  const params = { ...filters, sort: sort?.id, order: sort === undefined ? undefined : sort.desc ? 'desc' : 'asc' }
  const cursor = cursors.at(-1)
  const page = useLoad(async (signal) => await api<ReportAnswer>('GET', `/reports/${name}${query({ ...params, limit: PAGE, cursor })}`, undefined, signal), [name, JSON.stringify(params), cursor])
  const setFilter = (k: string, v: string): void => { setFilters((f) => ({ ...f, [k]: v })); setCursors([]) }
  const sortable = new Set<string>(REPORT_SORTS[name])
  const columns = COLUMNS[name].map((c) => ({ ...c, enableSorting: sortable.has(String(c.id ?? (c as { accessorKey?: string }).accessorKey)) }))
  const csv = `${API}/reports/${name}${query({ ...params, format: 'csv' })}`
  return (
    <>
      <PageHead title="Reports" />
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>Report <select name="report" value={name} onChange={(e) => { setName(e.currentTarget.value as ReportName); setSorting([]); setCursors([]) }}>
          {REPORT_NAMES.map((n) => <option key={n} value={n}>{TITLES[n]}</option>)}
        </select></label>
        <label>Since <select name="since" value={filters.since ?? ''} onChange={(e) => setFilter('since', e.currentTarget.value)}>
          {[['1h', 'last hour'], ['1d', 'last day'], ['7d', 'last 7 days'], ['30d', 'last 30 days'], ['', 'all time']].map(([v, l]) => <option key={v} value={v}>{l}</option>)}
        </select></label>
        {['site', 'image', 'user', 'host'].filter((k) => !(name === 'deployment' && k !== 'image')).map((k) => (
          <label key={k}>{k[0]!.toUpperCase() + k.slice(1)} <input name={k} value={filters[k] ?? ''} maxLength={200} onChange={(e) => setFilter(k, e.currentTarget.value)} /></label>
        ))}
        {name === 'activity' && <label>Type <input name="type" value={filters.type ?? ''} maxLength={64} placeholder="pull.completed" onChange={(e) => setFilter('type', e.currentTarget.value)} /></label>}
        <a class="button" href={csv} download={`branchcast-${name}.csv`}>Export CSV</a>
      </form>
      <ErrorLine error={page.error} />
      <DataTable<any> key={name} label={`${TITLES[name]} report`} data={page.data?.rows ?? []} columns={columns} pageSize={PAGE}
        sorting={sorting} onSort={(s) => { setSorting(s); setCursors([]) }} groupable={GROUPABLE[name]}
        rowId={(r: { id?: string, clientId?: string, day?: string, site?: string, image?: string, version?: number }) => r.id ?? r.clientId ?? `${r.day ?? r.image}-${r.site ?? r.version}`}
        detail={name === 'activity' || name === 'errors' ? (r: any) => r.type === 'pull.completed' ? <PullDetail row={r} /> : <p>{r.description}</p> : undefined}
        empty={page.loading ? 'Loading…' : 'No rows match.'} />
      <nav class="pager" aria-label="Report pages">
        <button type="button" disabled={cursors.length === 0} onClick={() => setCursors((c) => c.slice(0, -1))}>Previous</button>
        <span>Page {cursors.length + 1}</span>
        <button type="button" disabled={page.data?.nextCursor === null || page.data === undefined} onClick={() => { const next = page.data?.nextCursor; if (next) setCursors((c) => [...c, next]) }}>Next</button>
      </nav>
    </>
  )
}
