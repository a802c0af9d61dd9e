// `branchcast pull IMAGE`: ask the running node to pull an image, show progress, summarise.
import { UsageError, abortOnSignals, createProgressBar, defineCommand, errorJson, formatBytes, formatClock, integer, readFlag } from '../../protocol/index.ts'
import { DEFAULT_NODE_DATA_DIR } from '../config.ts'
// the client alone: the server half (hono, zod) would double this command's start-up
import { createControlClient, readControlFile } from '../control/client.ts'
import type { DryRunReport, PullProgress, PullReport } from '../pull/index.ts'

const USAGE = `Usage: branchcast pull IMAGE [--version N] [--dry-run] [--data DIR] [--json]

Asks the running node (found through <data>/control.json) to pull an image
version: from branch peers first, from what is on disk, and from the origin only
where needed. Shows a progress bar on a terminal.

Options:
  --version N       the version, or "latest" (default: the latest published)
  --dry-run         say what would come from where (held, older versions, local
                    sources, peers or origin, deltas), write no image data
  --data DIR        the node's data directory (default .data/node)
                    [env BRANCHCAST_NODE_DATA]`

const command = defineCommand({ name: 'pull', usage: USAGE, flags: { version: 'string', data: 'string', 'dry-run': 'boolean' }, positionals: true, json: 'print only the final summary (or the error) as JSON' })

/** What `--json` prints: the report's fields, named here so the output keeps its shape as reports grow. */
const SUMMARY_FIELDS = ['image', 'version', 'path', 'sha256', 'totalBytes', 'bytesFromPeers', 'bytesFromOrigin', 'bytesFromLocal', 'bytesFromLocalSources', 'deltaBytesFromOrigin', 'decodedBytesFromDeltas', 'deltas', 'decodedBytesFromPeers', 'decodedBytesFromOrigin', 'originBytesByReason', 'durationMs', 'peersUsed', 'bannedPeers', 'failures'] as const

/** The machine-readable summary `--json` prints. */
export type PullSummary = Pick<PullReport, typeof SUMMARY_FIELDS[number]>

export function summaryOf (r: PullReport): PullSummary {
  return Object.fromEntries(SUMMARY_FIELDS.map((k) => [k, r[k]])) as PullSummary
}

/** Where the bytes came from so far, for the progress line. */
function sources (p: PullProgress): string {
  const got = p.bytesFromPeers + p.bytesFromOrigin + p.bytesFromLocal
  const share = (n: number): string => got <= 0 ? '0%' : `${Math.round(100 * n / got)}%`
  return `peers ${share(p.bytesFromPeers)} origin ${share(p.bytesFromOrigin)} local ${share(p.bytesFromLocal)}`
}

export function describeReport (r: PullReport): string {
  const got = r.bytesFromPeers + r.bytesFromOrigin + r.bytesFromLocal
  const share = (n: number): string => got === 0 ? '0%' : `${(100 * n / got).toFixed(1)}%`
  const reasons = Object.entries(r.originBytesByReason).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${formatBytes(v)}`)
  return [
    `${r.image} v${r.version} ready: ${r.path}`,
    `  sha256   ${r.sha256}`,
    `  size     ${formatBytes(r.totalBytes)} in ${formatClock(r.durationMs)} (${r.durationMs} ms)`,
    `  peers    ${formatBytes(r.bytesFromPeers)} (${share(r.bytesFromPeers)}) from ${r.peersUsed} peer(s)`,
    `  origin   ${formatBytes(r.bytesFromOrigin)} (${share(r.bytesFromOrigin)})${reasons.length > 0 ? ' — why: ' + reasons.join(', ') : ''}`,
    ...(r.deltaBytesFromOrigin > 0 || r.deltas.refused > 0
      ? [`  deltas   ${formatBytes(r.deltaBytesFromOrigin)} of the origin's rebuilt ${r.deltas.chunks} chunk(s), ${formatBytes(r.decodedBytesFromDeltas)}` +
          (r.deltas.refused > 0 ? ` (${r.deltas.refused} bad delta(s) refused)` : '')]
      : []),
    `  local    ${formatBytes(r.bytesFromLocal)} (${share(r.bytesFromLocal)})`,
    ...(r.bannedPeers.length > 0 ? [`  banned   ${r.bannedPeers.join(', ')}`] : [])
  ].join('\n')
}

export function describeDryRun (r: DryRunReport): string {
  const line = (what: string, n: { chunks: number, bytes: number }): string => `  ${what.padEnd(15)}${formatBytes(n.bytes).padStart(10)}  ${n.chunks} chunk(s)`
  const index = r.deltaIndex === 'used' ? `${r.deltas.indexEntries} entries` : r.deltaIndex
  return [
    `${r.image} v${r.version} (${formatBytes(r.totalBytes)}, ${r.chunks} distinct chunks), dry run:`,
    line('held', r.held),
    line('older versions', r.copies),
    ...Object.entries(r.localSources).map(([kind, n]) => line(`local: ${kind}`, n)),
    line('peers or origin', r.network),
    `    as deltas    ${formatBytes(r.deltas.wireBytes).padStart(10)}  from the origin for ${r.deltas.chunks} chunk(s)`,
    `                 ${formatBytes(r.deltas.bytes).padStart(10)}  rebuilt (delta index: ${index})`,
    `    whole        ${formatBytes(r.whole.bytes).padStart(10)}  ${r.whole.chunks} chunk(s), before compression`,
    ...(r.listWireBytes > 0 ? [`  chunk list     ${formatBytes(r.listWireBytes).padStart(10)}  fetched now, cached for the pull`] : [])
  ].join('\n')
}

function readVersion (text: string): number | 'latest' {
  return text === 'latest' ? 'latest' : integer(1)(text)
}

export async function main (argv: string[]): Promise<number> {
  const cli = command.parse(argv)
  if (cli === undefined) return 0
  const { values, positionals } = cli
  if (positionals.length !== 1) throw new UsageError('needs one IMAGE')
  const version = readFlag('--version', values.version, readVersion)
  const dataDir = values.data ?? (process.env.BRANCHCAST_NODE_DATA || DEFAULT_NODE_DATA_DIR)
  const interrupt = abortOnSignals()
  if (values['dry-run'] === true) {
    try {
      const client = createControlClient(await readControlFile(dataDir))
      const report = await client.pullDryRun(positionals[0]!, { version, signal: interrupt.signal })
      cli.print(report, () => describeDryRun(report))
      return 0
    } finally {
      interrupt.dispose()
    }
  }
  const bar = createProgressBar({ json: cli.json })
  try {
    const client = createControlClient(await readControlFile(dataDir))
    const report = await client.pull(positionals[0]!, {
      version,
      signal: interrupt.signal,
      onProgress: (p) => bar.update({ label: p.phase.padEnd(8), doneBytes: p.doneBytes, totalBytes: p.totalBytes, detail: sources(p) })
    })
    bar.done()
    cli.print(summaryOf(report), () => describeReport(report))
    return 0
  } catch (err) {
    bar.done()
    if (!cli.json) throw err
    // a script reading --json gets the failure on stdout too, in the same one-line form
    cli.print({ error: errorJson(err, 'ERR_PULL_FAILED') }, '')
    return 1
  } finally {
    interrupt.dispose()
  }
}
