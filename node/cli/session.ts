// `branchcast start|stop|restart|lock|unlock|status IMAGE` and `branchcast app IMAGE APP`: drive the running node's VM sessions.
import { UsageError, abortOnSignals, defineCommand, formatDuration, integer, parseDurationMs, readFlag, renderTable } from '../../protocol/index.ts'
import type { FlagSpecs, ParsedCommand } from '../../protocol/index.ts'
import { DEFAULT_NODE_DATA_DIR } from '../config.ts'
// the client alone: the server half (hono, zod) would double these commands' start-up
import { createControlClient, readControlFile } from '../control/client.ts'
import type { ControlClient } from '../control/client.ts'
import { formatWorkspaces } from './node.ts'
import type { SessionStatus, SessionStopResult } from '../session/index.ts'

const DATA_LINES = `  --data DIR        the node's data directory (default .data/node)
                    [env BRANCHCAST_NODE_DATA]`

const START_USAGE = `Usage: branchcast start IMAGE [--mode persistent|revertible] [--memory MB]
         [--cpus N] [--clipboard] [--file-transfer] [--printing] [--wait]
         [--data DIR] [--json]

Starts a VM of IMAGE on the running node, over a per-user overlay: a
persistent workspace keeps its changes, a revertible one loses them at stop.
A workspace with a policy runs as its policy says (mode, memory, CPUs, guest
channels, locks): the options below may ask for less, never for more. Without
a policy they are taken as given.

Options:
  --mode MODE       persistent or revertible (default: the policy's, else
                    persistent)
  --memory MB       guest memory (default: the policy's, else 1024)
  --cpus N          vCPUs (default: the policy's, else 1)
  --clipboard       only the channels named: a clipboard channel
  --file-transfer   only the channels named: a file-transfer channel
  --printing        only the channels named: a printing channel
                    (none named: the policy's channels, else none)
  --network NET     nat (default) or none
  --wait            return once the guest agent answers
  --timeout T       bound on --wait (default 5m)
  --disk PATH       boot this raw disk instead of the node's image (testing)
  --kernel PATH     boot this kernel directly (testing; --initrd, --append)
  --initrd PATH     initramfs for --kernel
  --append TEXT     kernel command line for --kernel
${DATA_LINES}`

const STOP_USAGE = (verb: 'stop' | 'restart'): string => `Usage: branchcast ${verb} IMAGE [--timeout T] [--data DIR] [--json]

${verb === 'stop' ? 'Stops' : 'Stops and starts again'} IMAGE's VM: asks the guest to power down, and
forces it after the timeout. A revertible workspace loses its changes.

Options:
  --timeout T       how long the guest has to power down (default 30s)
${DATA_LINES}`

const LOCK_USAGE = `Usage: branchcast lock IMAGE [--reason TEXT] [--data DIR] [--json]

Pauses IMAGE's VM; "branchcast unlock IMAGE" resumes it.

Options:
  --reason TEXT     why, for the session.locked event (default user)
${DATA_LINES}`

const UNLOCK_USAGE = `Usage: branchcast unlock IMAGE [--data DIR] [--json]

Resumes IMAGE's locked VM, if its workspace policy allows it now (a VM locked
because its policy expired stays locked until the policy is extended).

Options:
${DATA_LINES}`

const STATUS_USAGE = `Usage: branchcast status [IMAGE] [--data DIR] [--json]

Shows IMAGE's VM session, or every running session.

Options:
${DATA_LINES}`

const APP_USAGE = `Usage: branchcast app [--wait] [--timeout T] [--data DIR] [--json]
         [--] IMAGE APP

Runs the published application APP of workspace IMAGE in its VM, through the
guest agent: starts the VM first when it is not running. What the desktop
entries of published applications run.

Options:
  --wait            wait for the application to end; print its output and
                    exit with its status
  --timeout T       bound on starting the VM and, with --wait, on the
                    application (default 3m)
  --kernel PATH     boot this kernel directly if the VM must start (testing;
                    --initrd, --append)
  --initrd PATH     initramfs for --kernel
  --append TEXT     kernel command line for --kernel
${DATA_LINES}`

function describe (s: SessionStatus): string {
  if (s.state === 'stopped') return `${s.image}: stopped`
  const lines = [
    `${s.image}${s.version === undefined ? '' : ` v${s.version}`}: ${s.state} (${s.mode ?? '?'}, pid ${s.pid ?? '?'}, ${s.accel ?? '?'}, ${s.memoryMb ?? '?'} MiB, ${s.cpus ?? '?'} vCPU)`,
    `  up       ${formatDuration(s.uptimeMs ?? 0)}${s.agent === true ? ', guest agent answering' : ''}`,
    `  channels ${Object.entries(s.channels ?? {}).filter(([, on]) => on).map(([c]) => c).join(', ') || 'none'}`,
    `  locks    ${s.idleLockMinutes == null ? 'no idle lock' : `after ${s.idleLockMinutes} min idle`}, ${s.lockOnSuspend === true ? 'on host suspend' : 'not on host suspend'}${s.lockReason === undefined ? '' : `; locked (${s.lockReason})`}`,
    `  overlay  ${s.overlayPath ?? '?'}`
  ]
  return lines.join('\n')
}

function describeStop (r: SessionStopResult): string {
  return `${r.image}: stopped after ${formatDuration(r.durationMs)}${r.forced ? ' (the guest did not power down in time: forced)' : ''}`
}

/** The shared shape of every session command: one IMAGE (optional for status; two positionals for app), --data, --json. */
async function runSession<S extends FlagSpecs> (
  argv: string[], name: string, usage: string, flags: S, imageRequired: boolean | 2,
  act: (client: ControlClient, image: string | undefined, cli: ParsedCommand<S & { data: 'string' }>, signal: AbortSignal) => Promise<{ data: unknown, text: string, code?: number }>
): Promise<number> {
  const command = defineCommand({ name, usage, flags: { ...flags, data: 'string' } as S & { data: 'string' }, positionals: true, json: true })
  const cli = command.parse(argv)
  if (cli === undefined) return 0
  if (imageRequired === 2) {
    if (cli.positionals.length !== 2) throw new UsageError('needs IMAGE and APP')
  } else if (cli.positionals.length > 1 || (imageRequired && cli.positionals.length !== 1)) throw new UsageError(imageRequired ? 'needs one IMAGE' : 'takes at most one IMAGE')
  const dataDir = (cli.values as { data?: string }).data ?? (process.env.BRANCHCAST_NODE_DATA || DEFAULT_NODE_DATA_DIR)
  const interrupt = abortOnSignals()
  try {
    const client = createControlClient(await readControlFile(dataDir))
    const out = await act(client, cli.positionals[0], cli, interrupt.signal)
    cli.print(out.data, out.text)
    return out.code ?? 0
  } finally {
    interrupt.dispose()
  }
}

const START_FLAGS = { mode: 'string', memory: 'string', cpus: 'string', clipboard: 'boolean', 'file-transfer': 'boolean', printing: 'boolean', network: 'string', wait: 'boolean', timeout: 'string', disk: 'string', kernel: 'string', initrd: 'string', append: 'string' } as const

export async function startMain (argv: string[]): Promise<number> {
  return await runSession(argv, 'start', START_USAGE, START_FLAGS, true, async (client, image, { values: v }, signal) => {
    const mode = readFlag('--mode', v.mode, (t) => { if (t !== 'persistent' && t !== 'revertible') throw new TypeError('persistent or revertible'); return t })
    const network = readFlag('--network', v.network, (t) => { if (t !== 'none' && t !== 'nat') throw new TypeError('nat or none'); return t })
    const s = await client.sessionStart(image!, {
      disk: v.disk, mode, network, kernel: v.kernel, initrd: v.initrd, append: v.append,
      memoryMb: readFlag('--memory', v.memory, integer(16, 256 * 1024)),
      cpus: readFlag('--cpus', v.cpus, integer(1, 64)),
      channels: v.clipboard === true || v['file-transfer'] === true || v.printing === true
        ? { clipboard: v.clipboard === true, fileTransfer: v['file-transfer'] === true, printing: v.printing === true }
        : undefined,
      wait: v.wait === true,
      timeoutMs: v.wait === true ? readFlag('--timeout', v.timeout ?? '5m', parseDurationMs) : undefined
    }, { signal })
    return { data: s, text: describe(s) }
  })
}

function stopLike (verb: 'stop' | 'restart') {
  return async (argv: string[]): Promise<number> => await runSession(argv, verb, STOP_USAGE(verb), { timeout: 'string' } as const, true, async (client, image, { values: v }, signal) => {
    const timeoutMs = readFlag('--timeout', v.timeout, parseDurationMs)
    if (verb === 'stop') {
      const r = await client.sessionStop(image!, { timeoutMs }, { signal })
      return { data: r, text: describeStop(r) }
    }
    const s = await client.sessionRestart(image!, { timeoutMs }, { signal })
    return { data: s, text: describe(s) }
  })
}

export const stopMain = stopLike('stop')
export const restartMain = stopLike('restart')

export async function lockMain (argv: string[]): Promise<number> {
  return await runSession(argv, 'lock', LOCK_USAGE, { reason: 'string' } as const, true, async (client, image, { values: v }, signal) => {
    const s = await client.sessionLock(image!, { reason: v.reason }, { signal })
    return { data: s, text: describe(s) }
  })
}

export async function unlockMain (argv: string[]): Promise<number> {
  return await runSession(argv, 'unlock', UNLOCK_USAGE, {}, true, async (client, image, _cli, signal) => {
    const s = await client.sessionUnlock(image!, { signal })
    return { data: s, text: describe(s) }
  })
}

export async function statusMain (argv: string[]): Promise<number> {
  return await runSession(argv, 'status', STATUS_USAGE, {}, false, async (client, image, cli, signal) => {
    if (image !== undefined) {
      const s = await client.sessionStatus(image, { signal })
      return { data: s, text: describe(s) }
    }
    // With no image: each workspace (held, wanted, next action and why), then the VMs.
    // (a node run without workspaces — tests, benches — answers sessions only)
    const [all, workspaces] = await Promise.all([client.sessions({ signal }), client.workspaces({ signal }).catch(() => undefined)])
    const rows = all.map((s) => [s.image, s.state, s.mode ?? '', String(s.pid ?? ''), formatDuration(s.uptimeMs ?? 0)])
    const vms = all.length === 0 ? 'no VM session is running' : renderTable([{ header: 'IMAGE' }, { header: 'STATE' }, { header: 'MODE' }, { header: 'PID' }, { header: 'UP' }], rows, { width: cli.columns })
    return { data: { workspaces, sessions: all }, text: workspaces === undefined ? vms : `${formatWorkspaces(workspaces)}\n\n${vms}` }
  })
}

export async function appMain (argv: string[]): Promise<number> {
  const flags = { wait: 'boolean', timeout: 'string', kernel: 'string', initrd: 'string', append: 'string' } as const
  return await runSession(argv, 'app', APP_USAGE, flags, 2, async (client, image, { values: v, positionals }, signal) => {
    const app = positionals[1]!
    const r = await client.appLaunch(image!, {
      app, wait: v.wait === true, timeoutMs: readFlag('--timeout', v.timeout ?? '3m', parseDurationMs), kernel: v.kernel, initrd: v.initrd, append: v.append
    }, { signal })
    if (r.exitCode === undefined) return { data: r, text: `${image!}: ${app} launched (guest pid ${r.pid}, ${formatDuration(r.durationMs)})` }
    const text = [r.stdout ?? '', r.stderr === undefined || r.stderr === '' ? '' : `stderr: ${r.stderr}`, `${image!}: ${app} exited with status ${r.exitCode}`].filter((l) => l !== '').join('\n')
    return { data: r, text, code: r.exitCode === 0 ? 0 : 1 }
  })
}
