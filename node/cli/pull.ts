// `branchcast pull IMAGE`: ask the running node to pull an image, show progress, summarise.
import { parseArgs } from 'node:util'
import { DEFAULT_NODE_DATA_DIR } from '../config.ts'
// the client alone: the server half (hono, zod) would double this command's start-up
import { createControlClient, readControlFile } from '../control/client.ts'
import type { PullReport } from '../pull/index.ts'
import { createProgressWriter } from './progress-bar.ts'
import { formatBytes, formatDuration } from './units.ts'

export const USAGE = `Usage: branchcast pull IMAGE [--version N] [--data DIR] [--json]

Asks the running node (found through <data>/control.json) to pull an image version: from
branch peers first, from what is on disk, and from the origin only where needed. Shows a
progress bar on a terminal; --json prints only the final summary.`

/** The machine-readable summary `--json` prints: the node's pull report, as a plain copy. */
export type PullSummary = PullReport

export function summaryOf (r: PullReport): PullSummary {
  return {
    image: r.image, version: r.version, path: r.path, sha256: r.sha256, totalBytes: r.totalBytes,
    bytesFromPeers: r.bytesFromPeers, bytesFromOrigin: r.bytesFromOrigin, bytesFromLocal: r.bytesFromLocal,
    decodedBytesFromPeers: r.decodedBytesFromPeers, decodedBytesFromOrigin: r.decodedBytesFromOrigin,
    originBytesByReason: { ...r.originBytesByReason }, durationMs: r.durationMs, peersUsed: r.peersUsed, bannedPeers: r.bannedPeers, failures: { ...r.failures }
  }
}

export function describeReport (r: PullReport): string {
  const got = r.bytesFromPeers + r.bytesFromOrigin + r.bytesFromLocal
  const share = (n: number): string => got === 0 ? '0%' : `${(100 * n / got).toFixed(1)}%`
  const reasons = Object.entries(r.originBytesByReason).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${formatBytes(v)}`)
  return [
    `${r.image} v${r.version} ready: ${r.path}`,
    `  sha256   ${r.sha256}`,
    `  size     ${formatBytes(r.totalBytes)} in ${formatDuration(r.durationMs)} (${r.durationMs} ms)`,
    `  peers    ${formatBytes(r.bytesFromPeers)} (${share(r.bytesFromPeers)}) from ${r.peersUsed} peer(s)`,
    `  origin   ${formatBytes(r.bytesFromOrigin)} (${share(r.bytesFromOrigin)})${reasons.length > 0 ? ' — why: ' + reasons.join(', ') : ''}`,
    `  local    ${formatBytes(r.bytesFromLocal)} (${share(r.bytesFromLocal)})`,
    ...(r.bannedPeers.length > 0 ? [`  banned   ${r.bannedPeers.join(', ')}`] : [])
  ].join('\n')
}

export async function main (argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      version: { type: 'string' },
      data: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' }
    },
    allowPositionals: true,
    strict: true
  })
  if (values.help === true) { console.log(USAGE); return 0 }
  if (positionals.length !== 1) { console.error(USAGE); return 2 }
  let version: number | 'latest' | undefined
  if (values.version !== undefined) {
    if (values.version !== 'latest' && !/^[1-9][0-9]{0,15}$/.test(values.version)) { console.error('branchcast pull: --version must be a number or "latest"'); return 2 }
    version = values.version === 'latest' ? 'latest' : Number(values.version)
  }
  const dataDir = values.data ?? (process.env.BRANCHCAST_NODE_DATA || DEFAULT_NODE_DATA_DIR)
  const json = values.json === true
  const ac = new AbortController()
  const onSigint = (): void => ac.abort(new Error('interrupted'))
  process.once('SIGINT', onSigint)
  const bar = !json && process.stderr.isTTY ? createProgressWriter(process.stderr) : undefined
  try {
    const client = createControlClient(await readControlFile(dataDir))
    const report = await client.pull(positionals[0]!, { version, signal: ac.signal, onProgress: bar?.update })
    bar?.done()
    process.stdout.write(json ? JSON.stringify(summaryOf(report)) + '\n' : describeReport(report) + '\n')
    return 0
  } catch (err) {
    bar?.done()
    const code = (err as { code?: string }).code ?? 'ERR_PULL_FAILED'
    if (json) process.stdout.write(JSON.stringify({ error: { code, message: (err as Error).message } }) + '\n')
    else console.error(`branchcast pull: ${code}: ${(err as Error).message}`)
    return 1
  } finally {
    process.off('SIGINT', onSigint)
  }
}
