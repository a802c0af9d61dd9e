/**
 * Offload bench (`npm run bench -- offload`): how much a branch's WAN link to the origin
 * carries, and how long a branch takes, when N nodes of one site pull one image together —
 * against the same N nodes pulling straight from the origin (peers off by policy).
 *
 * One tracker (built-in origin) in this process behind a WAN link (`wan-link.ts`: one
 * token bucket shared by every origin download, u_origin); N `branchcast node` child
 * processes, each with its upload capped at u_peer (`--upload-rate`); the image is the
 * deterministic sample image (bin/sample-image.ts: 1 MiB blocks, 1/8 zeros, 1/8 repeats
 * of one block, the rest AES-CTR noise). Each run uses its own site and fresh node data
 * directories; the tracker forgets the previous run's nodes (announce TTL 10 s) before the
 * next starts.
 *
 * Per run: origin bytes (nodes' reports and bytes through the link) / image size, time
 * until all are done, per-node CPU seconds and peak RSS (/proc), and the lower bound
 * max(F/u_origin, F/d_min, N·F/(u_origin + N·u_peer)) with F the bytes a node must fetch
 * (the image's distinct chunks) and d_min unbounded (no download cap on loopback).
 * The baseline (peers off) takes about N·F/u_origin, so it is measured at the smaller Ns
 * (`--baseline-nodes`) and computed for the rest from the measured efficiency, marked so.
 *
 * Arrivals (`--arrivals`, any of): `all` — every node pulls at once; `sequential` — each
 * node starts its pull when the previous one finished (desks coming in over a morning:
 * later joiners should take ~0 from the origin, and the second should be ready within
 * ~F/u_peer of starting, served by a complete same-site seeder); `random` — each starts at
 * a seeded-random time within `--window`. The nodes' processes are up before the first pull
 * in every mode: a desk that is on but not pulling is not in the swarm.
 *
 * Flags (env in brackets): --size (OFFLOAD_SIZE, 512MiB), --nodes (OFFLOAD_NODES, 1,4,8,16),
 * --baseline-nodes (OFFLOAD_BASELINE_NODES, 1), --origin-rate (OFFLOAD_ORIGIN_RATE, 2MB),
 * --peer-rate (OFFLOAD_PEER_RATE, 2MB), --arrivals (OFFLOAD_ARRIVALS, all), --window
 * (OFFLOAD_WINDOW_S, 20 seconds), --seed (OFFLOAD_SEED, 1), --quick (32 MiB, N 1,4,
 * baseline 1,4: a smoke run, ~2 min).
 * The full default run takes about 25 min on 2 cores (each run ≈ F/u_origin ≈ 3.5 min plus
 * node start, assembly and the 11 s pause). OFFLOAD_CPU_PROF=DIR writes each node's V8 CPU profile.
 *
 * Why u_peer = u_origin: with the origin sending each byte about once (the ratio ≤ 1.05 the
 * issue asks), all are done no sooner than F/u_origin, and the peers carry (N−1)·F; the bound
 * N·F/(u_origin + N·u_peer) is below F/u_origin only when u_peer < u_origin·(N−1)/N, and then
 * it can only be reached by the origin sending more than F. With u_peer ≥ u_origin (a LAN
 * upload at least a branch's share of the WAN link) both requirements can hold at once.
 */
import { execFileSync } from 'node:child_process'
import { appendFile, mkdir, rm } from 'node:fs/promises'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createLogger } from '../../protocol/logger.ts'
import { loadTrackerConfig } from '../../tracker/config.ts'
import { startTracker } from '../../tracker/server.ts'
import { mintApiToken } from '../../tracker/index.ts'
import { formatBytes, parseBytes, readFlag } from '../../protocol/index.ts'
import { createControlClient, readControlFile } from '../../node/index.ts'
import type { PullReport } from '../../node/index.ts'
import { adminClient, publishSample } from '../../bin/local-tracker.ts'
import { startNodeProcess } from '../../bin/node-process.ts'
import type { NodeProcess } from '../../bin/node-process.ts'
import { startWanLink } from './wan-link.ts'
import { readProcStats } from './proc-stats.ts'
import type { ProcStats } from './proc-stats.ts'

const ANNOUNCE_TTL_S = 10
const IMAGE = 'offload-bench'

const { values } = parseArgs({
  options: {
    size: { type: 'string' },
    nodes: { type: 'string' },
    'baseline-nodes': { type: 'string' },
    'origin-rate': { type: 'string' },
    'peer-rate': { type: 'string' },
    arrivals: { type: 'string' },
    window: { type: 'string' },
    seed: { type: 'string' },
    quick: { type: 'boolean' }
  },
  strict: true
})
const env = process.env
const quick = values.quick === true || env.OFFLOAD_QUICK === '1'
const sizeBytes = readFlag('--size', values.size ?? env.OFFLOAD_SIZE ?? (quick ? '32MiB' : '512MiB'), parseBytes)
const list = (s: string): number[] => s.split(',').map((x) => Number(x.trim())).filter((x) => Number.isInteger(x) && x > 0)
const nodeCounts = list(values.nodes ?? env.OFFLOAD_NODES ?? (quick ? '1,4' : '1,4,8,16'))
const baselineCounts = list(values['baseline-nodes'] ?? env.OFFLOAD_BASELINE_NODES ?? (quick ? '1,4' : '1'))
const uOrigin = readFlag('--origin-rate', values['origin-rate'] ?? env.OFFLOAD_ORIGIN_RATE ?? '2MB', parseBytes)
const uPeer = readFlag('--peer-rate', values['peer-rate'] ?? env.OFFLOAD_PEER_RATE ?? '2MB', parseBytes)
type Arrival = 'all' | 'sequential' | 'random'
const ARRIVALS: readonly Arrival[] = ['all', 'sequential', 'random']
const arrivals = (values.arrivals ?? env.OFFLOAD_ARRIVALS ?? 'all').split(',').map((x) => x.trim()).filter((x) => x !== '')
for (const a of arrivals) if (!(ARRIVALS as readonly string[]).includes(a)) throw new TypeError(`--arrivals: ${a} is not one of ${ARRIVALS.join(', ')}`)
const windowMs = Number(values.window ?? env.OFFLOAD_WINDOW_S ?? '20') * 1000
const seed = Number(values.seed ?? env.OFFLOAD_SEED ?? '1')

/** mulberry32: the random arrival times are the same in every run with the same seed. */
function seededRandom (s: number): () => number {
  let a = s >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const here = fileURLToPath(new URL('.', import.meta.url))
const work = join(here, '..', '.work', 'offload')
const runDir = join(work, `run-${Date.now()}`)
const resultsFile = join(work, 'results.jsonl')

interface NodeResult {
  durationMs: number
  /** when its pull started and finished, from the run's start */
  startMs: number
  finishMs: number
  /** link bytes while its pull ran (exact per node only when pulls do not overlap: sequential) */
  linkBytes: number
  bytesFromPeers: number
  bytesFromOrigin: number
  bytesFromLocal: number
  originBytesByReason: Record<string, number>
  failures: Record<string, number>
  cpuSec: number
  hwmBytes: number
  sampledRssMaxBytes: number
  /** RSS when the node was ready, before its pull */
  readyRssBytes: number
  ok: boolean
}

interface RunResult {
  label: string
  n: number
  p2p: boolean
  arrival: Arrival
  wallMs: number
  originReportedBytes: number
  linkBytes: number
  /** bytes a node fetched (peers + origin), max over nodes, as wire bytes on the link */
  fNetBytes: number
  boundMs: number
  nodes: NodeResult[]
  benchCpuSec: number
  loadBefore: string
  loadAfter: string
  /** every 2 s: [seconds since start, link MB so far, per node [origin MB, peers MB], origin responses in flight through the link] */
  timeline: Array<[number, number, Array<[number, number]>, number]>
}

function uptime (): string { return execFileSync('uptime', { encoding: 'utf8' }).trim() }
const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))
const say = (s: string): void => { process.stderr.write(s + '\n') }

function lowerBoundMs (n: number, fBytes: number, p2p: boolean): number {
  const terms = [fBytes / uOrigin] // F/d_min: no download cap, so 0
  terms.push(n * fBytes / (uOrigin + (p2p ? n * uPeer : 0)))
  return Math.max(...terms) * 1000
}

async function run (label: string, n: number, p2p: boolean, arrival: Arrival, tracker: { url: string }, token: string, link: { bytes: () => number, active: () => number }, imageSha: string): Promise<RunResult> {
  const loadBefore = uptime()
  const dir = join(runDir, label)
  await mkdir(dir, { recursive: true })
  const nodes: NodeProcess[] = []
  try {
    const started = await Promise.allSettled(Array.from({ length: n }, async (_, i) => await startNodeProcess({
      dataDir: join(dir, `node-${i + 1}`), tracker: tracker.url, token, site: label, logFile: join(dir, `node-${i + 1}.log`),
      extraArgs: ['--upload-rate', String(uPeer)], readyTimeoutMs: 300_000
    })))
    for (const s of started) if (s.status === 'fulfilled') nodes.push(s.value)
    for (const s of started) if (s.status === 'rejected') throw s.reason
    const clients = await Promise.all(nodes.map(async (x) => createControlClient(await readControlFile(x.dataDir))))
    const cpu0 = await Promise.all(nodes.map(async (x) => await readProcStats(x.child.pid!)))
    const rssMax = nodes.map(() => 0)
    const latest: Array<[number, number]> = nodes.map(() => [0, 0])
    const timeline: RunResult['timeline'] = []
    let ticks = 0
    const sampler = setInterval(() => {
      nodes.forEach((x, i) => { void readProcStats(x.child.pid!).then((s) => { if (s !== undefined) rssMax[i] = Math.max(rssMax[i]!, s.rssBytes) }) })
      if (ticks++ % 2 === 0) timeline.push([Math.round((Date.now() - t0) / 1000), Math.round((link.bytes() - link0) / 1e5) / 10, latest.map(([o, p]) => [Math.round(o / 1e5) / 10, Math.round(p / 1e5) / 10]), link.active()])
    }, 1000)
    const link0 = link.bytes()
    const bench0 = process.cpuUsage()
    const t0 = Date.now()
    const start: number[] = nodes.map(() => 0)
    const finish: number[] = nodes.map(() => 0)
    const linkAt: Array<[number, number]> = nodes.map(() => [0, 0])
    const last: Array<ProcStats | undefined> = nodes.map(() => undefined)
    const pullOne = async (i: number): Promise<PullReport> => {
      start[i] = Date.now() - t0
      linkAt[i]![0] = link.bytes()
      const r = await clients[i]!.pull(IMAGE, { onProgress: (p) => { latest[i] = [p.bytesFromOrigin, p.bytesFromPeers] } })
      finish[i] = Date.now() - t0
      linkAt[i]![1] = link.bytes()
      // the node keeps serving after its pull: its CPU and RSS are read when all are done
      return r
    }
    let reports: PullReport[]
    try {
      if (arrival === 'sequential') {
        reports = []
        for (let i = 0; i < clients.length; i++) reports.push(await pullOne(i))
      } else {
        const random = seededRandom(seed)
        const delays = clients.map(() => arrival === 'random' ? Math.round(random() * windowMs) : 0)
        reports = await Promise.all(clients.map(async (_, i) => { await sleep(delays[i]!); return await pullOne(i) }))
      }
    } finally {
      clearInterval(sampler)
    }
    const wallMs = Date.now() - t0
    const bench = process.cpuUsage(bench0)
    const linkBytes = link.bytes() - link0
    for (let i = 0; i < nodes.length; i++) last[i] = await readProcStats(nodes[i]!.child.pid!)
    const nodeResults: NodeResult[] = reports.map((r, i) => ({
      durationMs: r.durationMs,
      startMs: start[i]!,
      finishMs: finish[i]!,
      linkBytes: linkAt[i]![1] - linkAt[i]![0],
      bytesFromPeers: r.bytesFromPeers,
      bytesFromOrigin: r.bytesFromOrigin,
      bytesFromLocal: r.bytesFromLocal,
      originBytesByReason: Object.fromEntries(Object.entries(r.originBytesByReason).filter(([, v]) => v > 0)),
      failures: Object.fromEntries(Object.entries(r.failures).filter(([, v]) => v > 0)),
      cpuSec: (last[i]?.cpuSec ?? 0) - (cpu0[i]?.cpuSec ?? 0),
      hwmBytes: last[i]?.hwmBytes ?? 0,
      sampledRssMaxBytes: Math.max(rssMax[i]!, last[i]?.rssBytes ?? 0),
      readyRssBytes: cpu0[i]?.rssBytes ?? 0,
      ok: r.sha256 === imageSha
    }))
    // F as it crosses the wire: what a node fetched, scaled by the link's wire/decoded ratio
    // (zero chunks travel zstd-compressed from the origin)
    const originReported = nodeResults.reduce((s, x) => s + x.bytesFromOrigin, 0)
    const fNetBytes = Math.max(...nodeResults.map((x) => x.bytesFromPeers + x.bytesFromOrigin)) * Math.min(1, linkBytes / originReported)
    return {
      label, n, p2p, arrival, wallMs,
      originReportedBytes: originReported,
      linkBytes,
      fNetBytes,
      boundMs: lowerBoundMs(n, fNetBytes, p2p),
      nodes: nodeResults,
      benchCpuSec: (bench.user + bench.system) / 1e6,
      loadBefore,
      loadAfter: uptime(),
      timeline
    }
  } finally {
    await Promise.all(nodes.map(async (x) => await x.stop()))
    await rm(dir, { recursive: true, force: true })
  }
}

const mb = (b: number): string => (b / 1e6).toFixed(1)
const s1 = (ms: number): string => (ms / 1000).toFixed(1)

function row (r: RunResult): string {
  const cpu = r.nodes.map((x) => x.cpuSec)
  const cpuSum = cpu.reduce((a, b) => a + b, 0)
  const coresUsed = cpuSum / (r.wallMs / 1000)
  const hwm = Math.max(...r.nodes.map((x) => x.hwmBytes))
  const reasons: Record<string, number> = {}
  for (const x of r.nodes) for (const [k, v] of Object.entries(x.originBytesByReason)) reasons[k] = (reasons[k] ?? 0) + v
  return `| ${r.n} | ${r.p2p ? `peers, ${r.arrival}` : 'baseline (origin only)'} | **${s1(r.wallMs)}** | ${s1(r.boundMs)} | ${(r.wallMs / r.boundMs).toFixed(2)} | **${(r.originReportedBytes / sizeBytes).toFixed(3)}** | ${(r.linkBytes / r.fNetBytes).toFixed(3)} | ${(cpuSum / r.n).toFixed(1)} / ${Math.max(...cpu).toFixed(1)} | ${coresUsed.toFixed(2)} | ${(hwm / 2 ** 20).toFixed(0)} | ${r.benchCpuSec.toFixed(1)} | ${r.nodes.every((x) => x.ok) ? 'yes' : 'NO'} | ${Object.entries(reasons).map(([k, v]) => `${k} ${mb(v)}`).join(', ')} |`
}

await mkdir(work, { recursive: true })
// OFFLOAD_CPU_PROF=DIR: every node process writes a V8 CPU profile there when it stops
if (env.OFFLOAD_CPU_PROF !== undefined) process.env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${env.OFFLOAD_CPU_PROF}`.trim()
say(`offload bench: image ${formatBytes(sizeBytes)}, N ${nodeCounts.join(',')}, arrivals ${arrivals.join(',')} (window ${windowMs / 1000} s, seed ${seed}), baseline measured at ${baselineCounts.join(',')}, u_origin ${mb(uOrigin)} MB/s, u_peer ${mb(uPeer)} MB/s; ${cpus().length} cores`)
say(`load before: ${uptime()}`)
const benchT0 = Date.now()
const link = await startWanLink({ rateBytesPerSec: uOrigin })
const config = loadTrackerConfig({ flags: { dataDir: join(runDir, 'tracker'), port: 0, logLevel: 'warn', publicUrl: link.url, announceTtlSeconds: ANNOUNCE_TTL_S }, env: {} })
const tracker = await startTracker(config, { logger: createLogger({ level: 'warn' }, 'tracker') })
link.setUpstream(tracker.url)
const results: RunResult[] = []
try {
  const store = tracker.components.store
  const tokenFor = async (user: string, admin = false): Promise<string> => {
    return (await mintApiToken(store, { user, groups: [], isAdmin: admin, kind: 'user', label: 'offload bench', expiresAtMs: null, nowMs: Date.now() })).token
  }
  const admin = adminClient(tracker.url, await tokenFor('admin', true))
  const tp = Date.now()
  const sample = await publishSample(admin, { image: IMAGE, sizeBytes, seed: 1 })
  say(`published ${formatBytes(sample.totalBytes)} in ${s1(Date.now() - tp)} s: ${sample.chunkCount} chunks`)
  for (const [user, p2pAllowed] of [['with-peers', true], ['origin-only', false]] as const) {
    await admin.request('POST', '/api/v1/policies', { json: { name: `${IMAGE}-${user}`, image: IMAGE, p2pAllowed } })
    await admin.request('POST', '/api/v1/assignments', { json: { policy: `${IMAGE}-${user}`, user } })
  }
  const tokens = { peers: await tokenFor('with-peers'), solo: await tokenFor('origin-only') }
  const plan: Array<{ n: number, p2p: boolean, arrival: Arrival }> = [
    ...arrivals.flatMap((arrival) => nodeCounts.map((n) => ({ n, p2p: true, arrival: arrival as Arrival }))),
    ...baselineCounts.map((n) => ({ n, p2p: false, arrival: 'all' as const }))
  ]
  for (const [i, p] of plan.entries()) {
    if (i > 0) await sleep((ANNOUNCE_TTL_S + 1) * 1000) // the previous run's nodes are out of the swarm even if a leave was lost
    const label = `${p.p2p ? `p2p-${p.arrival}` : 'base'}-n${p.n}`
    say(`run ${label} …`)
    const r = await run(label, p.n, p.p2p, p.arrival, tracker, p.p2p ? tokens.peers : tokens.solo, link, sample.sha256)
    results.push(r)
    await appendFile(resultsFile, JSON.stringify({ at: new Date().toISOString(), sizeBytes, uOrigin, uPeer, ...r }) + '\n')
    say(`  ${label}: all done ${s1(r.wallMs)} s (bound ${s1(r.boundMs)} s, ×${(r.wallMs / r.boundMs).toFixed(2)}), origin ratio ${(r.originReportedBytes / sizeBytes).toFixed(3)}, link ${mb(r.linkBytes)} MB`)
  }
} finally {
  await tracker.stop({ graceMs: 1000 })
  await link.stop()
  await rm(runDir, { recursive: true, force: true })
}

const header = [
  '| N | mode, arrivals | all done (s) | lower bound (s) | × bound | origin bytes / image | link bytes / F | node CPU s mean / max | cores used by nodes | node peak RSS max (MiB) | tracker+link CPU s | images identical | origin bytes by reason (MB) |',
  '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |'
]
const lines = [...header, ...results.map(row)]
// the baseline where it was not measured: N·F/u_origin × the efficiency measured at the largest measured N
const measured = results.filter((r) => !r.p2p).sort((a, b) => b.n - a.n)[0]
if (measured !== undefined) {
  const eff = measured.wallMs / measured.boundMs
  for (const n of nodeCounts.filter((x) => !baselineCounts.includes(x))) {
    const f = measured.fNetBytes
    lines.push(`| ${n} | baseline, computed: N·F/u_origin × ${eff.toFixed(2)} (measured at N=${measured.n}) | ${s1(lowerBoundMs(n, f, false) * eff)} | ${s1(lowerBoundMs(n, f, false))} | | ${(n * measured.originReportedBytes / measured.n / sizeBytes).toFixed(3)} | | | | | | | |`)
  }
}
const f = results[0]?.fNetBytes ?? 0
// One copy of the image on the wire, measured: what one origin-only node pulled through the link.
const base = results.filter((r) => !r.p2p).sort((a, b) => a.n - b.n)[0]
const copyBytes = base === undefined ? undefined : base.linkBytes / base.n
const arrivalLines: string[] = []
for (const r of results.filter((x) => x.p2p)) {
  const copies = copyBytes === undefined ? '' : `, ${(r.linkBytes / copyBytes).toFixed(3)} × one origin-only copy (${mb(copyBytes)} MB, measured in this run)`
  arrivalLines.push(`- ${r.label}: origin (link, wire) ${mb(r.linkBytes)} MB = **${(r.linkBytes / sizeBytes).toFixed(3)} × the image**${copies}; starts ${r.nodes.map((x) => s1(x.startMs)).join(', ')} s; ready after ${r.nodes.map((x) => s1(x.durationMs)).join(', ')} s`)
  if (r.arrival === 'sequential' && r.nodes.length > 1) {
    const later = r.nodes.slice(1)
    const laterLink = later.reduce((s, x) => s + x.linkBytes, 0)
    const laterReported = later.reduce((s, x) => s + x.bytesFromOrigin, 0)
    const lanMs = r.fNetBytes / uPeer * 1000
    arrivalLines.push(`  - later joiners together: **${(laterLink / sizeBytes).toFixed(4)} × the image** through the link (${mb(laterLink)} MB; reported ${mb(laterReported)} MB); the second desk, with one complete same-site seeder, ready after **${(r.nodes[1]!.durationMs / lanMs).toFixed(2)} × F/u_peer** (${s1(r.nodes[1]!.durationMs)} s vs ${s1(lanMs)} s); each later joiner: ${later.map((x) => (x.durationMs / lanMs).toFixed(2)).join(', ')} × F/u_peer`)
  }
}
process.stdout.write([
  '',
  `Image ${formatBytes(sizeBytes)} (${mb(sizeBytes)} MB), F = ${mb(f)} MB a node must fetch (distinct chunks); u_origin ${mb(uOrigin)} MB/s (shared WAN link), u_peer ${mb(uPeer)} MB/s per node, no download cap.`,
  ...lines,
  '',
  ...arrivalLines,
  '',
  `Total bench time ${s1(Date.now() - benchT0)} s; load after: ${uptime()}`,
  `Raw results appended to ${resultsFile}`
].join('\n') + '\n')
