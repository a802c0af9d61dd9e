/**
 * `branchcast selftest`: proves peer assistance works where it runs. Two or three nodes
 * (in this process, each with its own data directory, peer key and libp2p listener on
 * loopback) pull a small synthetic image together, from a tracker given with
 * `--tracker`/`--token` (an admin's: the test publishes the image) or from one started
 * here on a temp directory. Prints the share that came from peers, how many copies of the
 * image the origin sent, and the reasons for every origin byte.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { UsageError, createLogger, defineCommand, errorJson, formatBytes, integer, parseBytes, readFlag } from '../protocol/index.ts'
import { loadNodeConfig, startNode } from '../node/index.ts'
import type { PullReport, RunningNode } from '../node/index.ts'
import { adminClient, assignImage, publishSample, startLocalTracker } from './local-tracker.ts'
import type { LocalTracker } from './local-tracker.ts'

const USAGE = `Usage: branchcast selftest [--site S] [--nodes 2|3] [--size BYTES]
                          [--tracker URL --token ADMIN_TOKEN] [--json]

Starts two or three nodes on this machine (temp data directories, loopback),
publishes a small synthetic image and pulls it through them together, then
prints the share of bytes that came from peers and why the rest came from the
origin. Without --tracker, a tracker is started here on a temp directory; with
one, --token must be an admin's (the self-test publishes its image there as
"branchcast-selftest").

Options:
  --site S          the nodes' site (default selftest, env BRANCHCAST_SITE)
  --nodes N         2 or 3 nodes (default 3)
  --size BYTES      image size (default 8MiB)
  --tracker URL     a running tracker to test against (with --token)
  --token T         an admin API token for --tracker`

const command = defineCommand({
  name: 'selftest',
  usage: USAGE,
  flags: { site: 'string', nodes: 'string', size: 'string', tracker: 'string', token: 'string' },
  json: 'print one JSON summary (or the failure) only'
})

/** What each origin reason means, for the printout. */
const REASONS: Record<string, string> = {
  assigned: 'this node\'s share of the first copy in the branch (the tracker splits it among the pullers)',
  policy: 'the policy forbids peer-to-peer for this image',
  'no-peer': 'no peer held the chunk',
  'bad-piece': 'a peer sent a corrupt chunk (it was banned)',
  'peers-slow': 'peers were busy, slow or refused',
  waited: 'the swarm made no progress for a while'
}

export interface SelftestSummary {
  site: string
  nodes: number
  imageBytes: number
  bytesFromPeers: number
  bytesFromOrigin: number
  bytesFromLocal: number
  /** bytes from peers / all bytes the nodes received */
  peerShare: number
  /** the best possible peer share: every byte crosses the origin once, (n - 1) / n */
  idealPeerShare: number
  /** origin bytes / image size; 1 is the least possible */
  originCopies: number
  originBytesByReason: Record<string, number>
  allIdentical: boolean
  ok: boolean
}

export async function main (argv: string[]): Promise<number> {
  const cli = command.parse(argv)
  if (cli === undefined) return 0
  const { values, json } = cli
  const site = values.site ?? process.env.BRANCHCAST_SITE ?? 'selftest'
  const nodeCount = readFlag('--nodes', values.nodes ?? '3', integer(2, 3))
  const sizeBytes = readFlag('--size', values.size ?? '8MiB', parseBytes)
  if ((values.tracker === undefined) !== (values.token === undefined)) throw new UsageError('give --tracker and --token together')
  const say = (line: string): void => { if (!json) process.stderr.write(line + '\n') }
  const logger = createLogger({ level: (process.env.BRANCHCAST_LOG_LEVEL as 'warn' | undefined) ?? 'error' })

  const dir = await mkdtemp(join(tmpdir(), 'branchcast-selftest-'))
  let local: LocalTracker | undefined
  const nodes: RunningNode[] = []
  try {
    let url: string
    let adminToken: string
    if (values.tracker === undefined) {
      local = await startLocalTracker(join(dir, 'tracker'), { logLevel: 'error' })
      url = local.url
      adminToken = local.adminToken
      say(`tracker started here: ${url}`)
    } else {
      url = values.tracker.replace(/\/+$/, '')
      adminToken = values.token!
    }
    const admin = adminClient(url, adminToken)
    const me = await admin.json<{ user: string, admin: boolean }>('GET', '/api/v1/me')
    if (!me.admin) throw new Error('the self-test publishes an image: --token must be an admin token')
    const image = 'branchcast-selftest'
    // a fresh seed per run, so the nodes find nothing of it on disk from an earlier run
    const sample = await publishSample(admin, { image, sizeBytes, seed: Date.now() % 1_000_000_007 })
    await assignImage(admin, { image, user: me.user, policy: `${image}-${me.user}` })
    say(`published ${image} v${sample.version} (${formatBytes(sample.totalBytes)}, ${sample.chunkCount} chunks)`)

    for (let i = 0; i < nodeCount; i++) {
      const config = loadNodeConfig({ flags: { dataDir: join(dir, `node-${i + 1}`), tracker: url, token: adminToken, site, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, logLevel: 'error', autoDeliver: false }, env: {} })
      nodes.push(await startNode({ config, logger }))
    }
    say(`${nodeCount} nodes in site "${site}": ${nodes.map((n) => n.peerId.slice(-8)).join(', ')}; pulling together …`)
    const reports = await Promise.all(nodes.map(async (n) => await n.pull({ image, version: sample.version, signal: AbortSignal.timeout(10 * 60_000) })))
    const summary = summarise(site, sample.totalBytes, sample.sha256, reports)
    cli.print(summary, () => describe(summary))
    return summary.ok ? 0 : 1
  } catch (err) {
    if (!json) throw err
    cli.print({ ok: false, error: errorJson(err, 'ERR_SELFTEST') }, '')
    return 1
  } finally {
    for (const n of nodes) await n.stop()
    await local?.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

function summarise (site: string, imageBytes: number, sha256: string, reports: PullReport[]): SelftestSummary {
  const sum = (k: 'bytesFromPeers' | 'bytesFromOrigin' | 'bytesFromLocal'): number => reports.reduce((s, r) => s + r[k], 0)
  const peers = sum('bytesFromPeers')
  const origin = sum('bytesFromOrigin')
  const localBytes = sum('bytesFromLocal')
  const reasons: Record<string, number> = {}
  for (const r of reports) for (const [k, v] of Object.entries(r.originBytesByReason)) if (v > 0) reasons[k] = (reasons[k] ?? 0) + v
  const received = peers + origin + localBytes
  const allIdentical = reports.every((r) => r.sha256 === sha256)
  const originCopies = Math.round(1000 * origin / imageBytes) / 1000
  return {
    site,
    nodes: reports.length,
    imageBytes,
    bytesFromPeers: peers,
    bytesFromOrigin: origin,
    bytesFromLocal: localBytes,
    peerShare: received === 0 ? 0 : Math.round(1000 * peers / received) / 1000,
    idealPeerShare: Math.round(1000 * (reports.length - 1) / reports.length) / 1000,
    originCopies,
    originBytesByReason: reasons,
    allIdentical,
    // peers carried something and the origin sent well under one copy per node
    ok: allIdentical && peers > 0 && origin < imageBytes * (reports.length - 0.5)
  }
}

function describe (s: SelftestSummary): string {
  const pct = (x: number): string => `${(100 * x).toFixed(1)}%`
  const received = s.bytesFromPeers + s.bytesFromOrigin + s.bytesFromLocal
  const lines = [
    `self-test: ${s.nodes} nodes in site "${s.site}", image ${formatBytes(s.imageBytes)}`,
    `  from peers   ${formatBytes(s.bytesFromPeers).padStart(10)}  ${pct(s.bytesFromPeers / received)} (best possible with ${s.nodes} nodes: ${pct(s.idealPeerShare)})`,
    `  from origin  ${formatBytes(s.bytesFromOrigin).padStart(10)}  ${pct(s.bytesFromOrigin / received)} = ${s.originCopies} × the image size (at best once its distinct chunks)`,
    `  from disk    ${formatBytes(s.bytesFromLocal).padStart(10)}  ${pct(s.bytesFromLocal / received)}`
  ]
  const reasons = Object.entries(s.originBytesByReason).sort((a, b) => b[1] - a[1])
  if (reasons.length > 0) {
    lines.push('  why bytes came from the origin:')
    for (const [k, v] of reasons) lines.push(`    ${k.padEnd(10)} ${formatBytes(v).padStart(10)}  ${REASONS[k] ?? ''}`)
  }
  lines.push(s.ok
    ? `  PASS: peers carried ${pct(s.peerShare)} of the bytes; every image is identical`
    : `  FAIL: ${s.allIdentical ? 'peers did not carry the image between nodes' : 'the images differ'}`)
  return lines.join('\n')
}
