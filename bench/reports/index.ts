// Reports at scale: one million events (100 sites, 5,000 clients, 30 days) generated into
// SQLite, then a real `branchcast tracker` child process answers each report's first page
// (p95 of 20 requests, plus filtered variants), streams the whole activity log as CSV
// while its memory is sampled, and — in the same run — event ingest is measured against
// the tracker of the base commit (before the clients registry and site columns) and this
// one, alternating, under the same autocannon load.
//
//   npx node bench/reports/index.ts [--events 1000000] [--ingest-seconds 8] [--rounds 2] [--base 17ab90b] [--ingest-only] [--json]
import { execFileSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { readProcStats } from '../offload/proc-stats.ts'
import { generate } from './generate.ts'
import { spawnTracker, stopTracker } from '../tracker-process.ts'

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    'ingest-seconds': { type: 'string', default: '8' },
    rounds: { type: 'string', default: '2' },
    base: { type: 'string', default: '17ab90b' },
    /** skip the reports (steps 1–3): ingest alone, for iterating on it */
    'ingest-only': { type: 'boolean' },
    json: { type: 'boolean' }
  }
})
const EVENTS = Number(values.events)
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const DAY = 86_400_000
const TOKENS = 2000

interface AutocannonResult { requests: { average: number }, latency: { p50: number, p99: number }, non2xx: number, errors: number, timeouts: number, '2xx': number }
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon

/** Tokens minted with the tree's own identity code (the base tree's schema may differ). */
async function mintTokens (tree: string, dataDir: string, users: string[], admin = false): Promise<string[]> {
  const { openStore } = await import(join(tree, 'tracker/db/index.ts')) as typeof import('../../tracker/db/index.ts')
  const { mintApiToken } = await import(join(tree, 'tracker/index.ts')) as typeof import('../../tracker/index.ts')
  const store = await openStore({ url: `sqlite:${join(dataDir, 'tracker.db')}` })
  try {
    const out: string[] = []
    for (const user of users) out.push((await mintApiToken(store, { user, isAdmin: admin, kind: 'machine', nowMs: Date.now() })).token)
    return out
  } finally {
    await store.close()
  }
}

const p95 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.ceil(xs.length * 0.95) - 1]!

const work = await mkdtemp(join(tmpdir(), 'branchcast-bench-reports-'))
const results: Record<string, unknown> = { meta: { node: process.version, cpus: cpus().length, events: EVENTS, sites: 100, clients: 5000, days: 30 } }
try {
  if (values['ingest-only'] !== true) await reports()
  await ingestRounds()
} finally {
  await rm(work, { recursive: true, force: true })
}

async function reports (): Promise<void> {
  // ---- 1. generate ----
  const dataDir = join(work, 'reports')
  execFileSync('mkdir', ['-p', dataDir])
  const endMs = Date.now()
  const gen = await generate({ path: join(dataDir, 'tracker.db'), events: EVENTS, sites: 100, clients: 5000, days: 30, endMs })
  results.generateSeconds = Number(gen.seconds.toFixed(1))

  // ---- 2. first pages ----
  const [admin] = await mintTokens(ROOT, dataDir, ['admin'], true)
  const tracker = await spawnTracker(dataDir)
  try {
    const get = async (path: string): Promise<number> => {
      const t0 = performance.now()
      const res = await fetch(`${tracker.url}/api/v1/reports/${path}`, { headers: { authorization: `Bearer ${admin}` } })
      await res.arrayBuffer()
      if (res.status !== 200) throw new Error(`${path}: ${res.status}`)
      return performance.now() - t0
    }
    const pages: Array<Record<string, unknown>> = []
    for (const path of [
      'status', 'status?site=site-042', 'activity', 'activity?site=site-042', 'activity?user=user-1234', 'activity?since=1d&host=pc-00017',
      'errors', 'errors?site=site-042', 'offload', 'offload?site=site-042', 'deployment', 'deployment?site=site-042'
    ]) {
      await get(path) // warm the page cache and the statement
      const ms: number[] = []
      for (let i = 0; i < 20; i++) ms.push(await get(path))
      pages.push({ report: path, p50Ms: Number([...ms].sort((a, b) => a - b)[9]!.toFixed(1)), p95Ms: Number(p95(ms).toFixed(1)) })
    }
    results.firstPages = pages

    // ---- 3. CSV export of the whole activity log, memory sampled ----
    const before = await readProcStats(tracker.child.pid!)
    let peakRss = before?.rssBytes ?? 0
    const sampler = setInterval(() => { void readProcStats(tracker.child.pid!).then((s) => { if (s !== undefined) peakRss = Math.max(peakRss, s.rssBytes) }) }, 100)
    const t0 = performance.now()
    const res = await fetch(`${tracker.url}/api/v1/reports/activity?format=csv`, { headers: { authorization: `Bearer ${admin}` } })
    let bytes = 0
    let lines = 0
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.length
      for (const b of chunk) if (b === 10) lines++
    }
    clearInterval(sampler)
    results.csvExport = {
      rows: lines - 1,
      mib: Number((bytes / 2 ** 20).toFixed(1)),
      seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
      rssBeforeMiB: Number(((before?.rssBytes ?? 0) / 2 ** 20).toFixed(1)),
      peakRssMiB: Number((peakRss / 2 ** 20).toFixed(1))
    }
  } finally {
    await stopTracker(tracker)
  }
}

async function ingestRounds (): Promise<void> {
  // ---- 4. ingest: base commit vs this tree, same load, alternating ----
  const baseTree = join(work, 'base')
  execFileSync('mkdir', ['-p', baseTree])
  execFileSync('sh', ['-c', `git -C ${JSON.stringify(ROOT)} archive ${values.base} | tar -x -C ${JSON.stringify(baseTree)}`])
  await symlink(join(ROOT, 'node_modules'), join(baseTree, 'node_modules'))
  const config = join(work, 'ingest-config.json')
  // the bench posts as 2000 users at ~0.2 batches/s each: no limit answers instead
  await writeFile(config, JSON.stringify({ eventBatchesPerUserPerMinute: 1_000_000, eventsPerUserPerDay: 1_000_000_000 }))
  const users = Array.from({ length: TOKENS }, (_, i) => `desk-${i}`)
  const ingest: Array<Record<string, unknown>> = []
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const [name, tree, env] of [['base', baseTree, {}], ['reports', ROOT, { BRANCHCAST_CONFIG: config }]] as const) {
      const dir = join(work, `ingest-${name}-${round}`)
      execFileSync('mkdir', ['-p', dir])
      const t = await spawnTracker(dir, { tree, env })
      try {
        const tokens = await mintTokens(tree, dir, users)
        let n = 0
        const cpuBefore = (await readProcStats(t.child.pid!))?.cpuSec ?? 0
        const r = await autocannon({
          url: t.url,
          connections: 10,
          duration: Number(values['ingest-seconds']),
          requests: [{
            method: 'POST',
            path: '/api/v1/events',
            setupRequest: (req: Record<string, unknown>) => {
              const i = n++ % TOKENS
              const at = Date.now()
              const payload = { image: 'win11', version: 3, bytesFromPeers: 9_000_000, bytesFromOrigin: 1_000_000, bytesFromLocal: 0, originBytesByReason: { share: 1_000_000 }, durationMs: 60_000 }
              const events = Array.from({ length: 10 }, () => ({ id: randomUUID(), type: 'pull.completed', at, payload }))
              return {
                ...req,
                headers: { authorization: `Bearer ${tokens[i]}`, 'content-type': 'application/json', 'x-branchcast-client': `desk-node-${i}` },
                body: JSON.stringify({ client: { host: `pc-${i}`, site: `site-${i % 100}`, os: 'Linux 6.1 x64', nodeVersion: '0.1.0' }, events })
              }
            }
          }]
        })
        // the tracker's own CPU per batch: what the load generator on the same cores does not blur
        const cpuSec = ((await readProcStats(t.child.pid!))?.cpuSec ?? 0) - cpuBefore
        ingest.push({
          tracker: name, round, batchesPerSec: Math.round(r.requests.average), eventsPerSec: Math.round(r.requests.average * 10), p50Ms: r.latency.p50, p99Ms: r.latency.p99,
          trackerCpuUsPerBatch: Math.round(cpuSec * 1e6 / Math.max(1, r['2xx'])), non2xx: r.non2xx, errors: r.errors + r.timeouts
        })
      } finally {
        await stopTracker(t)
      }
    }
  }
  const mean = (name: string): number => {
    const xs = ingest.filter((x) => x.tracker === name).map((x) => x.eventsPerSec as number)
    return xs.reduce((a, b) => a + b, 0) / xs.length
  }
  results.ingest = ingest
  results.ingestRatio = Number((mean('reports') / mean('base')).toFixed(2))
  // the same in the tracker's CPU per batch (base ÷ this): ≥ 1 costs no more than the base
  const cpu = (name: string): number => {
    const xs = ingest.filter((x) => x.tracker === name).map((x) => x.trackerCpuUsPerBatch as number)
    return xs.reduce((a, b) => a + b, 0) / xs.length
  }
  results.ingestCpuRatio = Number((cpu('base') / cpu('reports')).toFixed(2))
}

if (values.json === true) {
  console.log(JSON.stringify(results))
} else {
  console.log(JSON.stringify(results, null, 2))
}
