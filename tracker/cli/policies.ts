// `branchcast policies create|update|list|show|delete`: usage policies, over the API.
import { UsageError, defineCommand, readAction, integer, readFlag, renderTable } from '../../protocol/index.ts'
import type { FlagValues } from '../../protocol/index.ts'
import { parseDurationMs, parseRateBytesPerSec, formatDuration } from '../../protocol/index.ts'
import { readFile } from 'node:fs/promises'
import { MAX_APP_ICON_CHARS, NO_GUEST_CHANNELS } from '../../protocol/index.ts'
import type { ChannelDirection, DeletedPolicy, GuestChannels, Policy, PolicyList, PolicyWithAssignments } from '../../protocol/index.ts'

type PublishedApp = Policy['publishedApps'][number]

const HELP = `Usage: branchcast policies <create|update|list|show|delete> [options]

  policies create NAME --image I [policy options]
  policies update NAME [--rename NEW] [policy options]
  policies list [--image I]
  policies show NAME
  policies delete NAME

Policy options:
  --image I             the image this policy delivers
  --version N           pin version N (default: the latest published;
                        "latest" unpins)
  --expires DATE        no use after DATE (2027-01-31, an ISO date-time, or a
                        duration like 90d from now; "never")
  --offline-grace D     how long the workspace runs without reaching the
                        tracker (7d, 36h)
  --no-p2p              fetch from the origin only (default: peers allowed);
  --p2p                 allows peers again
  --origin-rate R       origin bandwidth cap per node (10MB/s, 512KiB/s; "none")
  --window HH:MM-HH:MM  download window, may wrap past midnight
                        (22:00-06:00; "any")
  --memory MB           VM memory in MiB
  --cpus N              VM CPUs
  --app "Name=command[,icon]"
                        a published application (repeat; replaces the list);
                        a command containing "," ends with "," without icon;
                        the icon is a theme name ("accessories-calculator")
  --app-icon "Name=FILE"
                        a PNG or SVG file as the icon of application Name
                        (repeat; the desk shows it in its menu)
  --startup auto|manual start the VM at logon, or when the user asks
  --fullscreen          start full screen
  --mode persistent|revertible
                        keep the user's changes across stops, or lose them
                        at every stop
  --clipboard DIR       clipboard channel: off, host-to-guest, guest-to-host,
                        both
  --file-transfer DIR   file-transfer channel, directions as --clipboard
  --extensions LIST     files that may be transferred, by extension
                        ("pdf,docx"; "none")
  --printing            give the VM shared printing; --no-printing takes it
  --idle-lock MINUTES   lock the VM after MINUTES without input ("never")
  --no-lock-on-suspend  leave the VM running when the host suspends
                        (default: lock); --lock-on-suspend sets it again
  --priority N          higher wins when several policies name the same image
  --rename NEW          (update) the policy's new name`

export const POLICY_FLAGS = {
  image: 'string', version: 'string', expires: 'string', 'offline-grace': 'string', p2p: 'boolean', 'no-p2p': 'boolean',
  'origin-rate': 'string', window: 'string', memory: 'string', cpus: 'string', app: 'string[]', 'app-icon': 'string[]', startup: 'string',
  fullscreen: 'boolean', priority: 'string', rename: 'string', mode: 'string', clipboard: 'string', 'file-transfer': 'string',
  extensions: 'string', printing: 'boolean', 'no-printing': 'boolean', 'idle-lock': 'string', 'lock-on-suspend': 'boolean',
  'no-lock-on-suspend': 'boolean'
} as const

const ACTIONS = ['create', 'update', 'list', 'show', 'delete']

const command = defineCommand({ name: 'policies', usage: HELP, flags: POLICY_FLAGS, positionals: true, api: true, json: true })

type Values = FlagValues<typeof POLICY_FLAGS>

function int (flag: string, text: string): number {
  return readFlag(`--${flag}`, text, integer())
}

/**
 * "Name=command[,icon]": the name ends at the first "=", the icon starts after the last ",".
 * A command that itself contains a comma ends with "," when it has no icon
 * ("Panel=rundll32 shell32.dll,Control_RunDLL,").
 */
export function parseApp (text: string): { name: string, command: string, icon?: string } {
  const eq = text.indexOf('=')
  const name = text.slice(0, eq).trim()
  const rest = text.slice(eq + 1)
  const comma = rest.lastIndexOf(',')
  const command = comma === -1 ? rest : rest.slice(0, comma)
  const icon = comma === -1 ? '' : rest.slice(comma + 1)
  if (eq <= 0 || name === '' || command.trim() === '') throw new UsageError(`--app: expected "Name=command[,icon]": ${text}`)
  return icon === '' ? { name, command } : { name, command, icon }
}

/** Flags → the API's policy body; only what was given. */
export function policyBody (v: Values, nowMs = Date.now()): Record<string, unknown> {
  const body: Record<string, unknown> = {}
  if (v.image !== undefined) body.image = v.image
  if (v.version !== undefined) {
    if (v.version === 'latest') body.channel = 'latest'
    else body.pinnedVersion = int('version', v.version)
  }
  if (v.expires !== undefined) {
    if (v.expires === 'never') body.expiresAt = null
    else if (/^\d+[smhdw]/.test(v.expires) && !/^\d{4}-/.test(v.expires)) body.expiresAt = new Date(nowMs + readFlag('--expires', v.expires, parseDurationMs)).toISOString()
    else body.expiresAt = v.expires
  }
  if (v['offline-grace'] !== undefined) body.offlineGraceSeconds = Math.floor(readFlag('--offline-grace', v['offline-grace'], parseDurationMs) / 1000)
  if (v['no-p2p'] === true && v.p2p === true) throw new UsageError('--p2p and --no-p2p contradict each other')
  if (v['no-p2p'] === true) body.p2pAllowed = false
  if (v.p2p === true) body.p2pAllowed = true
  if (v['origin-rate'] !== undefined) body.originRateBytesPerSec = v['origin-rate'] === 'none' ? null : readFlag('--origin-rate', v['origin-rate'], parseRateBytesPerSec)
  if (v.window !== undefined) body.downloadWindow = v.window === 'any' ? null : v.window
  if (v.memory !== undefined) body.vmMemoryMb = int('memory', v.memory)
  if (v.cpus !== undefined) body.vmCpus = int('cpus', v.cpus)
  if (v.app !== undefined) body.publishedApps = v.app.map(parseApp)
  if (v.startup !== undefined || v.fullscreen !== undefined) {
    if (v.startup !== undefined && v.startup !== 'auto' && v.startup !== 'manual') throw new UsageError('--startup: auto or manual')
    body.startup = { mode: v.startup ?? 'manual', ...(v.fullscreen === undefined ? {} : { fullscreen: v.fullscreen }) }
  }
  if (v.mode !== undefined) {
    if (v.mode !== 'persistent' && v.mode !== 'revertible') throw new UsageError('--mode: persistent or revertible')
    body.workspaceMode = v.mode
  }
  if (v['idle-lock'] !== undefined) body.idleLockMinutes = v['idle-lock'] === 'never' ? null : int('idle-lock', v['idle-lock'])
  const suspend = onOff(v, 'lock-on-suspend')
  if (suspend !== undefined) body.lockOnSuspend = suspend
  if (v.priority !== undefined) body.priority = int('priority', v.priority)
  if (v.rename !== undefined) body.name = v.rename
  return body
}

const DIRECTIONS = ['off', 'host-to-guest', 'guest-to-host', 'both']

/** `--x` / `--no-x` → true / false / undefined (neither); both is a usage error. */
function onOff (v: Values, flag: 'printing' | 'lock-on-suspend'): boolean | undefined {
  const on = v[flag] === true
  const off = v[`no-${flag}`] === true
  if (on && off) throw new UsageError(`--${flag} and --no-${flag} contradict each other`)
  return on ? true : off ? false : undefined
}

/** Whether any guest-channel flag was given: the API takes the channels whole. */
export function channelFlagsGiven (v: Values): boolean {
  return v.clipboard !== undefined || v['file-transfer'] !== undefined || v.extensions !== undefined || v.printing === true || v['no-printing'] === true
}

/** The guest channels after the flags, over `current` (the policy's, or all off for a new one). */
export function guestChannels (v: Values, current: GuestChannels = NO_GUEST_CHANNELS): GuestChannels {
  const direction = (flag: 'clipboard' | 'file-transfer', text: string | undefined, was: ChannelDirection): ChannelDirection => {
    if (text === undefined) return was
    if (!DIRECTIONS.includes(text)) throw new UsageError(`--${flag}: ${DIRECTIONS.join(', ')}`)
    return text as ChannelDirection
  }
  const extensions = v.extensions === undefined
    ? current.fileTransfer.extensions
    : v.extensions === 'none' ? [] : v.extensions.split(',').map((x) => x.trim().replace(/^\./, '').toLowerCase()).filter((x) => x !== '')
  return {
    clipboard: direction('clipboard', v.clipboard, current.clipboard),
    fileTransfer: { direction: direction('file-transfer', v['file-transfer'], current.fileTransfer.direction), extensions },
    printing: onOff(v, 'printing') ?? current.printing
  }
}

/** A PNG or SVG file as the `data:` URL a policy carries (the desk checks it again before use). */
export async function iconDataUrl (path: string): Promise<string> {
  const bytes = await readFile(path).catch((err: NodeJS.ErrnoException) => { throw new UsageError(`--app-icon: cannot read ${path}: ${err.code ?? err.message}`) })
  const png = bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
  const svg = !png && /<svg[\s>]/.test(bytes.subarray(0, 1024).toString('utf8'))
  if (!png && !svg) throw new UsageError(`--app-icon: ${path} is neither a PNG nor an SVG file`)
  const url = `data:image/${png ? 'png' : 'svg+xml'};base64,${bytes.toString('base64')}`
  if (url.length > MAX_APP_ICON_CHARS) throw new UsageError(`--app-icon: ${path} is too large for an icon (${bytes.length} bytes; at most about ${Math.floor(MAX_APP_ICON_CHARS * 3 / 4 / 1024)} KiB)`)
  return url
}

/** The apps with the icons `--app-icon "Name=FILE"` names; an icon for an app not in the list is a usage error. */
export async function withIcons (apps: PublishedApp[], specs: string[]): Promise<PublishedApp[]> {
  const out = apps.map((a) => ({ ...a }))
  for (const spec of specs) {
    const eq = spec.indexOf('=')
    const name = spec.slice(0, eq).trim()
    const app = out.find((a) => a.name === name)
    if (eq <= 0 || spec.slice(eq + 1) === '') throw new UsageError(`--app-icon: expected "Name=FILE": ${spec}`)
    if (app === undefined) throw new UsageError(`--app-icon: no application named ${JSON.stringify(name)} in the policy`)
    app.icon = await iconDataUrl(spec.slice(eq + 1))
  }
  return out
}

function describeIcon (icon: string): string {
  const m = /^data:image\/(png|svg\+xml);base64,/.exec(icon)
  return m === null ? icon : `${m[1] === 'png' ? 'PNG' : 'SVG'}, ${Math.floor((icon.length - m[0].length) * 3 / 4)} bytes`
}

function describeChannels (g: GuestChannels): string {
  const ft = g.fileTransfer
  return [
    `clipboard ${g.clipboard}`,
    `file transfer ${ft.direction}${ft.direction === 'off' ? '' : ` (${ft.extensions.length === 0 ? 'no extensions allowed' : ft.extensions.map((x) => `.${x}`).join(' ')})`}`,
    `printing ${g.printing ? 'on' : 'off'}`
  ].join(', ')
}

function describe (p: Policy & Partial<Pick<PolicyWithAssignments, 'assignments'>>): string {
  const lines = [
    `policy        ${p.name}`,
    `image         ${p.image} (${p.pinnedVersion === null ? 'latest published' : `pinned to version ${p.pinnedVersion}`})`,
    `expires       ${p.expiresAt ?? 'never'}`,
    `offline grace ${formatDuration(p.offlineGraceSeconds * 1000)}`,
    `peer-to-peer  ${p.p2pAllowed ? 'allowed' : 'off (origin only)'}`,
    `origin rate   ${p.originRateBytesPerSec === null ? 'no cap' : `${p.originRateBytesPerSec} B/s`}`,
    `window        ${p.downloadWindow?.text ?? 'any time'}`,
    `vm            ${p.vmMemoryMb} MiB, ${p.vmCpus} CPU${p.vmCpus === 1 ? '' : 's'}`,
    `startup       ${p.startup.mode}${p.startup.fullscreen === true ? ', full screen' : ''}`,
    `workspace     ${p.workspaceMode}`,
    `channels      ${describeChannels(p.guestChannels)}`,
    `locks         ${p.idleLockMinutes === null ? 'no idle lock' : `after ${p.idleLockMinutes} min idle`}, ${p.lockOnSuspend ? 'on host suspend' : 'not on host suspend'}`,
    `priority      ${p.priority}`
  ]
  for (const a of p.publishedApps) lines.push(`app           ${a.name} = ${a.command}${a.icon === undefined ? '' : ` (icon ${describeIcon(a.icon)})`}`)
  for (const a of p.assignments ?? []) lines.push(`assigned to   ${a.kind} ${a.subject}`)
  return lines.join('\n')
}

function table (policies: Policy[], width: number): string {
  return renderTable(
    [{ header: 'NAME' }, { header: 'IMAGE' }, { header: 'VERSION' }, { header: 'PRIORITY' }, { header: 'EXPIRES', truncate: false }, { header: 'P2P' }],
    policies.map((p) => [p.name, p.image, p.pinnedVersion === null ? 'latest' : String(p.pinnedVersion), String(p.priority), p.expiresAt ?? 'never', p.p2pAllowed ? 'yes' : 'no']),
    { width }
  )
}

export async function main (argv: string[]): Promise<number> {
  const cli = command.parse(argv)
  if (cli === undefined) return 0
  const { values, positionals } = cli
  const { action, name } = readAction(positionals, ACTIONS, 'a policy NAME')
  if (action === 'create' && values.image === undefined) throw new UsageError('create needs --image')
  if (action === 'create' && values.rename !== undefined) throw new UsageError('--rename is for update')
  const body = policyBody(values) // read every flag before the first request
  if (action === 'create' && channelFlagsGiven(values)) body.guestChannels = guestChannels(values)
  else if (channelFlagsGiven(values)) guestChannels(values) // the flags' errors before the first request
  const path = `/api/v1/policies/${encodeURIComponent(name ?? '')}`
  const client = cli.client()
  if (action === 'update' && channelFlagsGiven(values)) body.guestChannels = guestChannels(values, (await client.json<Policy>('GET', path)).guestChannels)
  if (values['app-icon'] !== undefined) {
    const apps = (body.publishedApps as PublishedApp[] | undefined) ?? (action === 'update' ? (await client.json<Policy>('GET', path)).publishedApps : [])
    body.publishedApps = await withIcons(apps, values['app-icon'])
  }
  switch (action) {
    case 'create': {
      const p = await client.json<Policy>('POST', '/api/v1/policies', { json: { name, ...body } })
      cli.print(p, () => describe(p))
      return 0
    }
    case 'update': {
      const p = await client.json<Policy>('PATCH', path, { json: body })
      cli.print(p, () => describe(p))
      return 0
    }
    case 'list': {
      const { policies } = await client.json<PolicyList>('GET', '/api/v1/policies', { query: { image: values.image } })
      cli.print(policies, () => table(policies, cli.columns))
      return 0
    }
    case 'show': {
      const p = await client.json<PolicyWithAssignments>('GET', path)
      cli.print(p, () => describe(p))
      return 0
    }
    default: {
      const r = await client.json<DeletedPolicy>('DELETE', path)
      cli.print(r, `deleted policy ${r.deleted}`)
      return 0
    }
  }
}
