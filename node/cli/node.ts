// `branchcast node`: run the node daemon until SIGINT/SIGTERM. `branchcast desk` and
// `branchcast refresh`: how the running node's workspaces stand, and a re-read now.
import { UsageError, abortOnSignals, defineCommand, parseDurationMs, parseRateBytesPerSec, readFlag, untilStopSignal } from '../../protocol/index.ts'
import { CACHE_MAX_REMOVED, DEFAULT_NODE_DATA_DIR, loadNodeConfig } from '../config.ts'
import { createControlClient, readControlFile } from '../control/index.ts'
import type { ControlClient } from '../control/index.ts'
import { readyLine, startNode } from '../daemon/index.ts'
import type { WorkspacesStatus } from '../workspaces/index.ts'
import { roughly } from '../workspaces/index.ts'

const USAGE = `Usage: branchcast node [options]

Runs the node: the libp2p peer serving its images' chunks, the durable event
reporter, and the local control API the "pull" command talks to. Prints
"branchcast node ready peer=<id> control=<url>" once ready; stops on
SIGINT/SIGTERM.

Options:
  --data DIR           data directory (default .data/node)
                       [env BRANCHCAST_NODE_DATA]
  --tracker URL        tracker base URL (saved by "enroll")
                       [env BRANCHCAST_TRACKER]
  --token TOKEN        API token (saved by "enroll") [env BRANCHCAST_TOKEN]
  --site NAME          branch/site announced to the tracker
                       [env BRANCHCAST_SITE]
  --listen MULTIADDR   libp2p listen address, repeatable
                       (default /ip4/0.0.0.0/tcp/0)
  --upload-rate RATE   cap on bytes/s uploaded to peers (e.g. 10MiB)
  --cache-max SIZE     removed: there is no chunk cache to bound (refused)
  --origin-rate RATE   cap on bytes/s from the origin (benchmarks)
  --no-mdns            do not look for LAN peers by mDNS
  --no-auto-deliver    do not pull assigned workspaces by themselves (the
                       policy is still enforced)
  --reconcile-interval DURATION
                       how often to read the workspaces from the tracker
                       (default 5m, +/- 20 %)
  --cpu-nice N         run this much nicer than started, below the VMs the node
                       starts, which it sets back to normal (0-19, default 10;
                       0 keeps the priority)
  --config FILE        JSON config file (default <data>/config.json)
  --log-level LEVEL    debug | info | warn | error | silent`

const command = defineCommand({
  name: 'node',
  usage: USAGE,
  flags: {
    data: 'string', tracker: 'string', token: 'string', site: 'string', listen: 'string[]', 'cache-max': 'string',
    'upload-rate': 'string', 'origin-rate': 'string', 'no-mdns': 'boolean', config: 'string', 'log-level': 'string',
    'reconcile-interval': 'string', 'no-auto-deliver': 'boolean', 'cpu-nice': 'string'
  }
})

function parseNice (text: string): number {
  const n = Number(text)
  if (!/^\d+$/.test(text) || n > 19) throw new Error('an integer from 0 to 19')
  return n
}

export async function main (argv: string[]): Promise<number> {
  const cli = command.parse(argv)
  if (cli === undefined) return 0
  const { values } = cli
  // still parsed, so that an old command line hears why rather than "unknown flag"
  if (values['cache-max'] !== undefined) throw new UsageError(`--cache-max: ${CACHE_MAX_REMOVED}`)
  const config = loadNodeConfig({
    flags: {
      dataDir: values.data,
      config: values.config,
      // as given: the config file and the environment fill in what is missing, in their order
      tracker: values.tracker,
      token: values.token,
      site: values.site,
      listen: values.listen,
      uploadRateBytesPerSec: readFlag('--upload-rate', values['upload-rate'], parseRateBytesPerSec),
      originRateBytesPerSec: readFlag('--origin-rate', values['origin-rate'], parseRateBytesPerSec),
      mdns: values['no-mdns'] === true ? false : undefined,
      autoDeliver: values['no-auto-deliver'] === true ? false : undefined,
      reconcileIntervalMs: readFlag('--reconcile-interval', values['reconcile-interval'], parseDurationMs),
      cpuNice: readFlag('--cpu-nice', values['cpu-nice'], parseNice),
      logLevel: values['log-level'] as 'info' | undefined
    }
  })
  // Listening before the start, so a SIGTERM that comes during it or right after the
  // ready line still stops the node in order instead of killing it.
  const stopSignal = untilStopSignal()
  const node = await startNode({ config, ownsProcess: true })
  process.stdout.write(readyLine(node) + '\n')
  await stopSignal
  const forced = setTimeout(() => { process.exit(1) }, 15_000)
  forced.unref()
  await node.stop()
  return 0
}

const when = (ms: number): string => new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC'

/** Each workspace as people read it: versions, state, the next action and why, the policy in force and why. */
export function formatWorkspaces (s: WorkspacesStatus, nowMs = Date.now()): string {
  const lines: string[] = []
  for (const w of s.workspaces) {
    const versions = `${w.held === null ? 'none held' : `v${w.held} held`}, ${w.wanted === null ? 'nothing wanted' : `v${w.wanted} wanted`}`
    lines.push(`${w.image}  ${versions}: ${w.state}`, `  next     ${w.reason}`)
    const p = w.policy
    if (p !== undefined) {
      lines.push(`  policy   ${p.name} (via ${p.via.kind} ${p.via.subject}); ${p.expiresAtMs === null ? 'never expires' : `expires ${when(p.expiresAtMs)}`}; offline grace ${roughly(p.offlineGraceSeconds * 1000)}; p2p ${p.p2pAllowed ? 'on' : 'off'}${p.downloadWindow === null ? '' : `; window ${p.downloadWindow}`}`)
    }
    if (w.warning !== undefined) lines.push(`  warning  ${w.warning}`)
  }
  if (s.workspaces.length === 0) lines.push('no workspaces')
  const cache = s.cache.state === 'verified' ? `verified (issued ${when(s.cache.issuedAtMs ?? 0)})` : s.cache.state === 'refused' ? `REFUSED: ${s.cache.message ?? ''}` : 'none yet'
  const contact = s.contact.state === 'ok'
    ? `answered ${roughly(nowMs - (s.contact.lastOkMs ?? nowMs))} ago`
    : s.contact.state === 'failed' ? `not answering (${s.contact.lastError ?? '?'})` : 'not asked yet'
  lines.push(`policy cache: ${cache}`, `tracker: ${contact}${s.nextCheckAtMs === undefined ? '' : `; next check ${when(s.nextCheckAtMs)}`}`)
  return lines.join('\n')
}

async function runWorkspaces (argv: string[], name: string, usage: string, act: (client: ControlClient, signal: AbortSignal) => Promise<WorkspacesStatus>): Promise<number> {
  const cli = defineCommand({ name, usage, flags: { data: 'string' }, json: true }).parse(argv)
  if (cli === undefined) return 0
  const dataDir = cli.values.data ?? (process.env.BRANCHCAST_NODE_DATA || DEFAULT_NODE_DATA_DIR)
  const interrupt = abortOnSignals()
  try {
    const status = await act(createControlClient(await readControlFile(dataDir)), interrupt.signal)
    cli.print(status, formatWorkspaces(status))
    return 0
  } finally {
    interrupt.dispose()
  }
}

const WORKSPACES_USAGE = `Usage: branchcast desk [--data DIR] [--json]

Shows each workspace the running node keeps: the version held and the one its
policy wants, its state, what the node does next and why, and which policy is in
force and why (the assignment it came by).

Options:
  --data DIR        the node's data directory (default .data/node)
  --json            machine-readable output`

const REFRESH_USAGE = `Usage: branchcast refresh [--data DIR] [--json]

Makes the running node read its workspaces from the tracker now and act on
them (pull, delete, lock), then shows them as "branchcast desk" does.

Options:
  --data DIR        the node's data directory (default .data/node)
  --json            machine-readable output`

export async function workspacesMain (argv: string[]): Promise<number> {
  return await runWorkspaces(argv, 'desk', WORKSPACES_USAGE, async (client, signal) => await client.workspaces({ signal }))
}

export async function refreshMain (argv: string[]): Promise<number> {
  return await runWorkspaces(argv, 'refresh', REFRESH_USAGE, async (client, signal) => await client.refreshWorkspaces({ signal }))
}
