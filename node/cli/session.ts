// `branchcast start|stop|restart|lock|unlock|status IMAGE`: drive the running node's VM sessions.
import { UsageError, abortOnSignals, defineCommand, formatDuration, integer, parseDurationMs, readFlag, renderTable } from '../../protocol/index.ts'
import type { FlagSpecs, ParsedCommand } from '../../protocol/index.ts'
import { DEFAULT_NODE_DATA_DIR } from '../config.ts'
// the client alone: the server half (hono, zod) would double these commands' start-up
import { createControlClient, readControlFile } from '../control/client.ts'
import type { ControlClient } from '../control/client.ts'
import type { SessionStatus, SessionStopResult } from '../session/index.ts'

const DATA_LINES = `  --data DIR        the node's data directory (default .data/node)
                    [env BRANCHCAST_NODE_DATA]`

const START_USAGE = `Usage: branchcast start IMAGE [--mode persistent|revertible] [--memory MB]
         [--cpus N] [--clipboard] [--file-transfer] [--printing] [--wait]
         [--data DIR] [--json]

Starts a VM of the newest ready version of IMAGE on the running node, over a
per-user overlay: a persistent workspace keeps its changes, a revertible one
loses them at stop. Guest channels are off unless named.

Options:
  --mode MODE       persistent (default) or revertible
  --memory MB       guest memory (default 1024)
  --cpus N          vCPUs (default 1)
  --clipboard       give the guest a clipboard channel
  --file-transfer   give the guest a file-transfer channel
  --printing        give the guest a printing channel
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

Resumes IMAGE's locked VM.

Options:
${DATA_LINES}`

const STATUS_USAGE = `Usage: branchcast status [IMAGE] [--data DIR] [--json]

Shows IMAGE's VM session, or every running session.

Options:
${DATA_LINES}`

function describe (s: SessionStatus): string {
  if (s.state === 'stopped') return `${s.image}: stopped`
  const lines = [
    `${s.image}${s.version === undefined ? '' : ` v${s.version}`}: ${s.state} (${s.mode ?? '?'}, pid ${s.pid ?? '?'}, ${s.accel ?? '?'}, ${s.memoryMb ?? '?'} MiB, ${s.cpus ?? '?'} vCPU)`,
    `  up       ${formatDuration(s.uptimeMs ?? 0)}${s.agent === true ? ', guest agent answering' : ''}`,
    `  channels ${Object.entries(s.channels ?? {}).filter(([, on]) => on).map(([c]) => c).join(', ') || 'none'}`,
    `  overlay  ${s.overlayPath ?? '?'}`
  ]
  return lines.join('\n')
}

function describeStop (r: SessionStopResult): string {
  return `${r.image}: stopped after ${formatDuration(r.durationMs)}${r.forced ? ' (the guest did not power down in time: forced)' : ''}`
}

/** The shared shape of every session command: one IMAGE (optional for status), --data, --json. */
async function runSession<S extends FlagSpecs> (
  argv: string[], name: string, usage: string, flags: S, imageRequired: boolean,
  act: (client: ControlClient, image: string | undefined, cli: ParsedCommand<S & { data: 'string' }>, signal: AbortSignal) => Promise<{ data: unknown, text: string }>
): Promise<number> {
  const command = defineCommand({ name, usage, flags: { ...flags, data: 'string' } as S & { data: 'string' }, positionals: true, json: true })
  const cli = command.parse(argv)
  if (cli === undefined) return 0
  if (cli.positionals.length > 1 || (imageRequired && cli.positionals.length !== 1)) throw new UsageError(imageRequired ? 'needs one IMAGE' : 'takes at most one IMAGE')
  const dataDir = (cli.values as { data?: string }).data ?? (process.env.BRANCHCAST_NODE_DATA || DEFAULT_NODE_DATA_DIR)
  const interrupt = abortOnSignals()
  try {
    const client = createControlClient(await readControlFile(dataDir))
    const out = await act(client, cli.positionals[0], cli, interrupt.signal)
    cli.print(out.data, out.text)
    return 0
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
      channels: { clipboard: v.clipboard === true, fileTransfer: v['file-transfer'] === true, printing: v.printing === true },
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
    const all = await client.sessions({ signal })
    const rows = all.map((s) => [s.image, s.state, s.mode ?? '', String(s.pid ?? ''), formatDuration(s.uptimeMs ?? 0)])
    return { data: { sessions: all }, text: all.length === 0 ? 'no VM session is running' : renderTable([{ header: 'IMAGE' }, { header: 'STATE' }, { header: 'MODE' }, { header: 'PID' }, { header: 'UP' }], rows, { width: cli.columns }) }
  })
}
