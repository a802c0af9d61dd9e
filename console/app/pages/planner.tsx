/**
 * The planner: what-if estimates of time to deploy and WAN bytes per site (the lower bound
 * in `planner.ts`), beside what the latest real deployments of a similar size achieved.
 */
import type { ComponentChildren } from 'preact'
import { useMemo, useState } from 'preact/hooks'
import type { Image, ImageVersion } from '../../../protocol/api/images.ts'
import type { DeploymentRow, ReportAnswer } from '../../../protocol/api/reports.ts'
import { api } from '../api.ts'
import { bytes, duration, time } from '../format.ts'
import { estimate } from '../planner.ts'
import type { SitePlan } from '../planner.ts'
import { DataTable } from '../table.tsx'
import type { Columns } from '../table.tsx'
import { ErrorLine, PageHead, useLoad } from '../ui.tsx'

const GIB = 1024 ** 3
const MBIT = 1e6

interface Real { image: string, version: number, totalBytes: number, clients: number, publishedAtMs: number | null, seconds: number | null }

async function realDeployments (signal: AbortSignal): Promise<Real[]> {
  const [{ images }, deployment] = await Promise.all([
    api<{ images: Image[] }>('GET', '/images', undefined, signal),
    api<ReportAnswer<'deployment'>>('GET', '/reports/deployment?limit=1000', undefined, signal)
  ])
  const sizes = new Map<string, number>()
  await Promise.all(images.slice(0, 50).map(async (i) => {
    for (const v of (await api<{ versions: ImageVersion[] }>('GET', `/images/${encodeURIComponent(i.name)}/versions`, undefined, signal)).versions) sizes.set(`${v.image}@${v.version}`, v.totalBytes)
  }))
  return deployment.rows.filter((r: DeploymentRow) => r.clients > 0 && sizes.has(`${r.image}@${r.version}`)).map((r: DeploymentRow) => ({
    image: r.image,
    version: r.version,
    totalBytes: sizes.get(`${r.image}@${r.version}`)!,
    clients: r.clients,
    publishedAtMs: r.publishedAtMs,
    seconds: r.publishedAtMs === null || r.lastHeldAtMs === null ? null : Math.max(0, (r.lastHeldAtMs - r.publishedAtMs) / 1000)
  }))
}

const REAL_COLUMNS: Columns<Real> = [
  { accessorKey: 'image', header: 'Image' },
  { accessorKey: 'version', header: 'Version', meta: { numeric: true } },
  { accessorKey: 'totalBytes', header: 'Size', cell: (c) => bytes(c.getValue()), meta: { numeric: true } },
  { accessorKey: 'clients', header: 'Desks', meta: { numeric: true } },
  { accessorKey: 'publishedAtMs', header: 'Published', cell: (c) => time(c.getValue()) },
  { accessorKey: 'seconds', header: 'Publish to last desk', cell: (c) => c.getValue() === null ? '—' : duration(c.getValue()), meta: { numeric: true } }
]

function num (v: string, fallback: number): number {
  const n = Number(v)
  return Number.isFinite(n) && n >= 0 ? n : fallback
}

export function Planner (): ComponentChildren {
  const [sizeGiB, setSizeGiB] = useState('20')
  const [reuse, setReuse] = useState('0')
  const [originMbit, setOriginMbit] = useState('1000')
  const [sites, setSites] = useState<Array<{ name: string, desks: string, wan: string, lan: string }>>([
    { name: 'branch-1', desks: '50', wan: '100', lan: '1000' },
    { name: 'branch-2', desks: '10', wan: '20', lan: '100' }
  ])
  const real = useLoad(realDeployments, [])
  const imageBytes = num(sizeGiB, 0) * GIB
  const plan = useMemo(() => estimate({
    imageBytes,
    localReuse: num(reuse, 0) / 100,
    originBitsPerSec: num(originMbit, 1) * MBIT,
    sites: sites.map((s): SitePlan => ({ name: s.name, desks: Math.floor(num(s.desks, 0)), wanBitsPerSec: num(s.wan, 1) * MBIT, lanBitsPerSec: num(s.lan, 1) * MBIT }))
  }), [imageBytes, reuse, originMbit, sites])
  const similar = (real.data ?? []).filter((r) => imageBytes === 0 || (r.totalBytes >= imageBytes / 2 && r.totalBytes <= imageBytes * 2))
  const edit = (i: number, k: 'name' | 'desks' | 'wan' | 'lan', v: string): void => setSites((old) => old.map((s, j) => j === i ? { ...s, [k]: v } : s))

  return (
    <>
      <PageHead title="Planner" />
      <p class="hint">A lower bound per site: T ≥ max(F/u<sub>origin</sub>, F/d<sub>min</sub>, N·F/(u<sub>origin</sub> + Σu<sub>peers</sub>)). Real deployments take longer (desks arrive over time, links are shared); the table below shows by how much.</p>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>Image size (GiB) <input name="size" type="number" min="0" step="any" value={sizeGiB} onInput={(e) => setSizeGiB(e.currentTarget.value)} /></label>
        <label>Already on the desks (%) <input name="reuse" type="number" min="0" max="100" value={reuse} onInput={(e) => setReuse(e.currentTarget.value)} /></label>
        <label>Origin uplink (Mbit/s) <input name="origin" type="number" min="1" value={originMbit} onInput={(e) => setOriginMbit(e.currentTarget.value)} /></label>
      </form>
      <div class="scroll-x">
        <table aria-label="Sites and estimates">
          <thead><tr><th scope="col">Site</th><th scope="col">Desks</th><th scope="col">WAN (Mbit/s)</th><th scope="col">Desk LAN (Mbit/s)</th><th scope="col">Time at least</th><th scope="col">Bound by</th><th scope="col">WAN bytes</th><th scope="col">Without peers</th><th scope="col"><span class="sr-only">Remove</span></th></tr></thead>
          <tbody>
            {sites.map((s, i) => (
              <tr key={i}>
                <td><input aria-label="Site name" value={s.name} onInput={(e) => edit(i, 'name', e.currentTarget.value)} /></td>
                <td><input aria-label="Desks" type="number" min="0" value={s.desks} onInput={(e) => edit(i, 'desks', e.currentTarget.value)} /></td>
                <td><input aria-label="WAN Mbit/s" type="number" min="1" value={s.wan} onInput={(e) => edit(i, 'wan', e.currentTarget.value)} /></td>
                <td><input aria-label="LAN Mbit/s" type="number" min="1" value={s.lan} onInput={(e) => edit(i, 'lan', e.currentTarget.value)} /></td>
                <td class="num" data-testid="estimate-seconds">{duration(plan[i]!.seconds)}</td>
                <td>{plan[i]!.bound}</td>
                <td class="num">{bytes(plan[i]!.wanBytes)}</td>
                <td class="num">{bytes(plan[i]!.wanBytesWithoutPeers)}</td>
                <td><button type="button" onClick={() => setSites((old) => old.filter((_, j) => j !== i))} disabled={sites.length === 1}>Remove site</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <button type="button" onClick={() => setSites((old) => [...old, { name: `branch-${old.length + 1}`, desks: '10', wan: '50', lan: '1000' }])}>Add a site</button>
      <section aria-labelledby="real-h">
        <h2 id="real-h">Real deployments of a similar size (½× to 2×)</h2>
        <ErrorLine error={real.error} />
        <DataTable label="Real deployments" data={similar} columns={REAL_COLUMNS} rowId={(r) => `${r.image}@${r.version}`} empty={real.loading ? 'Loading…' : 'No deployment of a similar size yet.'} />
      </section>
    </>
  )
}
