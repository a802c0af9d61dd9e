/** Clients: every node the tracker has heard from, searched, filtered, sorted and paged on the server. */
import type { ComponentChildren } from 'preact'
import { useState } from 'preact/hooks'
import type { SortingState } from '@tanstack/table-core'
import type { Client, ClientList } from '../../../protocol/api/clients.ts'
import { api, query } from '../api.ts'
import { ago, percent } from '../format.ts'
import { DataTable } from '../table.tsx'
import type { Columns } from '../table.tsx'
import { ErrorLine, PageHead, useLoad } from '../ui.tsx'

const PAGE = 50
const SORTABLE = new Set(['lastSeen', 'host', 'user', 'site', 'id'])

const columns: Columns<Client> = [
  { id: 'host', accessorKey: 'host', header: 'Host' },
  { id: 'site', accessorKey: 'site', header: 'Site' },
  { id: 'user', accessorKey: 'user', header: 'User' },
  { id: 'status', accessorKey: 'online', header: 'Status', enableSorting: false, cell: (c) => <span class={c.getValue() === true ? 'state state-published' : 'state'}>{c.getValue() === true ? 'online' : 'offline'}</span> },
  { id: 'lastSeen', accessorKey: 'lastSeenAtMs', header: 'Last seen', cell: (c) => ago(c.getValue()) },
  { id: 'versions', accessorFn: (r) => r.images.map((i) => `${i.image} v${i.version}`).join(', '), header: 'Versions held', enableSorting: false },
  { id: 'workspace', accessorFn: (r) => Object.entries(r.workspace ?? {}).map(([img, w]) => `${img}: ${w.state}`).join(', '), header: 'Workspaces', enableSorting: false },
  { id: 'pull', accessorFn: (r) => r.pull === null ? '' : `${r.pull.image} v${r.pull.version} ${percent(r.pull.progress)}`, header: 'Pulling', enableSorting: false },
  { id: 'nodeVersion', accessorKey: 'nodeVersion', header: 'Client version', enableSorting: false }
]

export function Clients (): ComponentChildren {
  const [q, setQ] = useState('')
  const [site, setSite] = useState('')
  const [status, setStatus] = useState('')
  const [sorting, setSorting] = useState<SortingState>([])
  const [offset, setOffset] = useState(0)
  const sort = sorting[0]
  const list = useLoad(async (signal) => await api<ClientList>('GET', `/clients${query({
    q, site, status, offset, limit: PAGE,
    sort: sort === undefined ? undefined : sort.id,
    order: sort === undefined ? undefined : sort.desc ? 'desc' : 'asc'
  })}`, undefined, signal), [q, site, status, offset, sort?.id, sort?.desc])
  const total = list.data?.total ?? 0
  return (
    <>
      <PageHead title="Clients" />
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>Search <input name="q" type="search" value={q} maxLength={100} placeholder="host, user or id" onInput={(e) => { setQ(e.currentTarget.value); setOffset(0) }} /></label>
        <label>Site <input name="site" value={site} maxLength={64} onInput={(e) => { setSite(e.currentTarget.value); setOffset(0) }} /></label>
        <label>Status <select name="status" value={status} onChange={(e) => { setStatus(e.currentTarget.value); setOffset(0) }}><option value="">any</option><option value="online">online</option><option value="offline">offline</option></select></label>
      </form>
      <ErrorLine error={list.error} />
      <DataTable label="Clients" data={list.data?.clients ?? []} columns={columns} rowId={(c) => c.id} pageSize={PAGE}
        sorting={sorting} onSort={(s) => { setSorting(s.filter((x) => SORTABLE.has(x.id))); setOffset(0) }}
        empty={list.loading ? 'Loading…' : 'No client matches.'} />
      <nav class="pager" aria-label="Client pages">
        <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>Previous</button>
        <span>{total === 0 ? 'none' : `${offset + 1}–${Math.min(total, offset + PAGE)} of ${total}`}</span>
        <button type="button" disabled={list.data?.nextOffset === null || list.data === undefined} onClick={() => setOffset(list.data?.nextOffset ?? offset)}>Next</button>
      </nav>
      <p class="hint">Refresh policy, lock and revoke from here are not built yet: revoke a user's API tokens with <code>branchcast tokens revoke</code>.</p>
    </>
  )
}
