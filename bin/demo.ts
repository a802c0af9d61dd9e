/**
 * `branchcast demo` (`npm run demo`): a tracker on the embedded defaults, a generated
 * sample image published to it, and N nodes (`branchcast node` child processes) in S
 * sites pulling it at once; then the offload summary and the console URL.
 *
 * `--json` runs unattended: one JSON summary on stdout, everything stopped and removed.
 * Otherwise the tracker and nodes keep running (nodes keep serving) until Ctrl-C.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { abortOnSignals, createProgressBar, defineCommand, formatBytes, integer, parseBytes, readFlag, renderTable } from '../protocol/index.ts'
import { createControlClient, readControlFile } from '../node/index.ts'
import type { PullProgress, PullReport } from '../node/index.ts'
import { adminClient, assignImage, publishSample, startLocalTracker } from './local-tracker.ts'
import type { LocalTracker } from './local-tracker.ts'
import { startNodeProcess } from './node-process.ts'
import type { NodeProcess } from './node-process.ts'

const USAGE = `Usage: branchcast demo [--nodes N] [--sites S] [--size BYTES] [--dir DIR]
                       [--json]

Starts a tracker on the embedded defaults, publishes a generated sample image,
runs N nodes (default 6) in S sites (default 2) that pull it together, and
prints how much came from peers, from the origin and from local disk.

Options:
  --nodes N         nodes to run (each a "branchcast node" process)
  --sites S         branch sites the nodes are spread over
  --size BYTES      sample image size (default 64MiB; suffixes KiB, MiB, GiB)
  --dir DIR         keep the tracker's and nodes' data there (default: a temp
                    directory, removed at the end)`

const command = defineCommand({
  name: 'demo',
  usage: USAGE,
  flags: { nodes: 'string', sites: 'string', size: 'string', dir: 'string' },
  json: 'print one JSON summary only, then stop everything'
})

/** One node's pull report, as much of it as the summary shows. */
export interface DemoNodeResult extends Pick<PullReport, 'bytesFromPeers' | 'bytesFromOrigin' | 'bytesFromLocal' | 'durationMs' | 'sha256'> {
  node: string
  site: string
  peerId: string
  /** the reasons that account for any bytes */
  originBytesByReason: Partial<PullReport['originBytesByReason']>
}

export interface DemoSummary {
  image: string
  version: number
  imageBytes: number
  imageSha256: string
  nodes: DemoNodeResult[]
  sites: Array<{ site: string, nodes: number, originBytes: number, originRatio: number }>
  totalOriginBytes: number
  /** total origin bytes / image size: 1 means the origin sent the image once for everybody */
  originRatio: number
  allIdentical: boolean
  wallMs: number
  consoleUrl: string
  nodeMode: 'child-process'
}

export async function main (argv: string[]): Promise<number> {
  const cli = command.parse(argv)
  if (cli === undefined) return 0
  const { values, json } = cli
  const nodeCount = readFlag('--nodes', values.nodes ?? '6', integer(1, 64))
  const siteCount = readFlag('--sites', values.sites ?? '2', integer(1, nodeCount))
  const sizeBytes = readFlag('--size', values.size ?? '64MiB', parseBytes)
  const say = (line: string): void => { if (!json) process.stderr.write(line + '\n') }

  const ownDir = values.dir === undefined
  const dir = ownDir ? await mkdtemp(join(tmpdir(), 'branchcast-demo-')) : resolve(values.dir!)
  await mkdir(join(dir, 'nodes'), { recursive: true, mode: 0o700 })
  let tracker: LocalTracker | undefined
  const nodes: NodeProcess[] = []
  const interrupted = abortOnSignals(['SIGINT', 'SIGTERM'])
  try {
    tracker = await startLocalTracker(join(dir, 'tracker'))
    say(`tracker   ${tracker.url} (data in ${join(dir, 'tracker')})`)
    const admin = adminClient(tracker.url, tracker.adminToken)
    const image = 'sample-desktop'
    say(`publishing a ${formatBytes(sizeBytes)} sample image …`)
    const sample = await publishSample(admin, { image, sizeBytes, seed: 1 })
    say(`published ${image} v${sample.version}: ${sample.chunkCount} chunks in ${sample.durationMs} ms, sha256 ${sample.sha256}`)
    await assignImage(admin, { image, user: 'demo-user' })
    const userToken = await tracker.tokenFor('demo-user', { label: 'demo nodes' })

    say(`starting ${nodeCount} nodes in ${siteCount} sites …`)
    const started = await Promise.allSettled(Array.from({ length: nodeCount }, async (_, i) => {
      const dataDir = join(dir, 'nodes', `node-${i + 1}`)
      return await startNodeProcess({ dataDir, tracker: tracker!.url, token: userToken, site: `branch-${(i % siteCount) + 1}`, logFile: `${dataDir}.log` })
    }))
    for (const s of started) if (s.status === 'fulfilled') nodes.push(s.value)
    for (const s of started) if (s.status === 'rejected') throw s.reason
    nodes.sort((a, b) => a.dataDir.localeCompare(b.dataDir, undefined, { numeric: true }))
    interrupted.signal.throwIfAborted()

    say('pulling on every node at once …')
    const progress = new Map<number, PullProgress>()
    const bar = createProgressBar({ json })
    const t0 = Date.now()
    const reports = await Promise.all(nodes.map(async (n, i) => {
      const client = createControlClient(await readControlFile(n.dataDir))
      return await client.pull(image, {
        signal: interrupted.signal,
        onProgress: (p) => {
          progress.set(i, p)
          let done = 0; let peers = 0; let origin = 0
          for (const q of progress.values()) { done += q.doneBytes; peers += q.bytesFromPeers; origin += q.bytesFromOrigin }
          bar.update({ label: `${nodes.length} nodes`, doneBytes: done, totalBytes: sizeBytes * nodes.length, detail: `peers ${formatBytes(peers)} origin ${formatBytes(origin)}` })
        }
      })
    })).finally(() => bar.done())
    const summary = summarise(sample.image, sample.version, sample.totalBytes, sample.sha256, nodes, reports, Date.now() - t0, `${tracker.url}/console`)

    if (json) {
      process.stdout.write(JSON.stringify(summary) + '\n')
      return summary.allIdentical ? 0 : 1
    }
    process.stdout.write(describe(summary, cli.columns) + '\n')
    process.stdout.write(`\nconsole   ${summary.consoleUrl}\nadmin API token (for the console and the CLI): ${tracker.adminToken}\n` +
      `The tracker and the nodes keep running (the nodes keep serving); press Ctrl-C to stop.\n`)
    await new Promise<void>((resolve) => {
      if (interrupted.signal.aborted) resolve()
      interrupted.signal.addEventListener('abort', () => resolve(), { once: true })
    })
    return summary.allIdentical ? 0 : 1
  } finally {
    interrupted.dispose()
    await Promise.all(nodes.map(async (n) => await n.stop()))
    await tracker?.stop()
    if (ownDir) await rm(dir, { recursive: true, force: true })
  }
}

function summarise (image: string, version: number, imageBytes: number, imageSha256: string, nodes: NodeProcess[], reports: PullReport[], wallMs: number, consoleUrl: string): DemoSummary {
  const results: DemoNodeResult[] = reports.map((r, i) => ({
    node: `node-${i + 1}`,
    site: nodes[i]!.site,
    peerId: nodes[i]!.peerId,
    bytesFromPeers: r.bytesFromPeers,
    bytesFromOrigin: r.bytesFromOrigin,
    bytesFromLocal: r.bytesFromLocal,
    originBytesByReason: Object.fromEntries(Object.entries(r.originBytesByReason).filter(([, v]) => v > 0)),
    durationMs: r.durationMs,
    sha256: r.sha256
  }))
  const bySite = new Map<string, { nodes: number, originBytes: number }>()
  for (const r of results) {
    const s = bySite.get(r.site) ?? { nodes: 0, originBytes: 0 }
    s.nodes++
    s.originBytes += r.bytesFromOrigin
    bySite.set(r.site, s)
  }
  const totalOriginBytes = results.reduce((s, r) => s + r.bytesFromOrigin, 0)
  return {
    image,
    version,
    imageBytes,
    imageSha256,
    nodes: results,
    sites: [...bySite].map(([site, s]) => ({ site, nodes: s.nodes, originBytes: s.originBytes, originRatio: round(s.originBytes / imageBytes) })),
    totalOriginBytes,
    originRatio: round(totalOriginBytes / imageBytes),
    allIdentical: results.every((r) => r.sha256 === imageSha256),
    wallMs,
    consoleUrl,
    nodeMode: 'child-process'
  }
}

function round (x: number): number { return Math.round(x * 1000) / 1000 }

function describe (s: DemoSummary, width: number): string {
  const table = renderTable(
    ['node', 'site', 'peers', 'origin', 'local', 'time', 'sha256'].map((header) => ({ header })),
    s.nodes.map((n) => [n.node, n.site, formatBytes(n.bytesFromPeers), formatBytes(n.bytesFromOrigin), formatBytes(n.bytesFromLocal), `${(n.durationMs / 1000).toFixed(1)} s`, n.sha256.slice(0, 16) + (n.sha256 === s.imageSha256 ? ' ok' : ' MISMATCH')]),
    { indent: 2, width }
  )
  return [
    '',
    `${s.image} v${s.version}: ${formatBytes(s.imageBytes)}, sha256 ${s.imageSha256}`,
    table,
    '',
    ...s.sites.map((x) => `  ${x.site}: ${x.nodes} nodes, origin sent ${formatBytes(x.originBytes)} = ${x.originRatio} × the image`),
    `  total origin bytes / image size = ${s.originRatio} for ${s.nodes.length} nodes (without peers: ${s.nodes.length})`,
    `  all images identical: ${s.allIdentical ? 'yes' : 'NO'}; all done in ${(s.wallMs / 1000).toFixed(1)} s`
  ].join('\n')
}
