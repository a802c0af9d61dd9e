/**
 * The reconciler's decision: a pure function from what the node knows (the verified
 * workspace document, what is on disk, which sessions run, which pulls are under way) to
 * what it should do now and how each workspace stands, with a reason for each. No files,
 * sockets or clocks: the time comes in. The effects live in `reconciler.ts`.
 */
import type { PolicyViolation, Workspace } from '../../protocol/index.ts'
import { formatWindow, windowState } from './download-window.ts'

/** What the node's policy cache holds: a verified document, nothing yet, or a document it refused. */
export type CacheView =
  | { state: 'verified', workspaces: Workspace[], lastContactMs: number }
  | { state: 'none' }
  | { state: 'refused', message: string }

/** One image the node holds files or a session of. */
export interface HeldImage {
  image: string
  /** ready versions on disk */
  ready: number[]
  /** versions being pulled (partial files) */
  partial: number[]
  /** versions a running or locked session runs */
  inUse: number[]
  /** the image's session, when one runs */
  session?: { state: 'running' | 'locked', version?: number }
}

export interface PullFailure { version: number, failures: number, retryAtMs: number, message: string }

export interface ReconcileInput {
  nowMs: number
  /** the local time zone's offset at `nowMs` (download windows are local time) */
  utcOffsetMinutes: number
  cache: CacheView
  /** the last read of the workspaces in this run: answered, failed, or not tried yet */
  contact: 'ok' | 'failed' | 'pending'
  /** versions of each workspace kept: the one in force and keepVersions − 1 older ones */
  keepVersions: number
  expiryWarningMs: number
  held: HeldImage[]
  /** automatic pulls under way, by image: the version and how far (0…1) */
  pulling: Record<string, { version: number, fraction: number }>
  failed: Record<string, PullFailure>
  /** automatic delivery on (default): pull, keep N versions, delete revoked workspaces; off: enforcement only */
  deliver?: boolean
}

export type LockRule = PolicyViolation | 'revoked'

export type Action =
  | { kind: 'pull', image: string, version: number, originRateBytesPerSec?: number }
  /** delete every ready version of `image` but `keep` */
  | { kind: 'retain', image: string, keep: number[] }
  /** delete these versions of a workspace no longer assigned */
  | { kind: 'remove', image: string, versions: number[], reason: 'revoked' }
  | { kind: 'lock', image: string, rule: LockRule, message: string }

export type WorkspaceState = 'current' | 'staged' | 'pulling' | 'waiting' | 'failed' | 'locked' | 'revoked' | 'none'

/** One workspace as `branchcast desk` shows it. */
export interface WorkspaceView {
  image: string
  /** the newest ready version on disk (what a start runs) */
  held: number | null
  /** the version the policy names */
  wanted: number | null
  state: WorkspaceState
  /** what the node does next, and why */
  reason: string
  /** the policy in force and why it applies */
  policy?: { name: string, via: { kind: 'user' | 'group', subject: string }, expiresAtMs: number | null, offlineGraceSeconds: number, p2pAllowed: boolean, downloadWindow: string | null }
  locked?: { rule: LockRule, message: string }
  /** e.g. "expires in 3 days" */
  warning?: string
}

export interface Decision {
  workspaces: WorkspaceView[]
  actions: Action[]
  /** when to decide again at the latest (a window opens, a retry is due, a policy expires), epoch ms */
  wakeAtMs?: number
}

/** "3 days", "5 hours", "12 minutes", "40 seconds": for people, rounded down. */
export function roughly (ms: number): string {
  const units: Array<[number, string]> = [[86_400_000, 'day'], [3_600_000, 'hour'], [60_000, 'minute'], [1_000, 'second']]
  for (const [size, name] of units) {
    const n = Math.floor(ms / size)
    if (n >= 1) return `${n} ${name}${n === 1 ? '' : 's'}`
  }
  return `${Math.max(0, Math.round(ms))} ms`
}

function clock (ms: number, utcOffsetMinutes: number): string {
  return new Date(ms + utcOffsetMinutes * 60_000).toISOString().slice(11, 16)
}

/**
 * Whether a workspace is locked and why: the policy cache refused, expired, or no
 * successful tracker contact within the offline grace. Undefined: not locked. The gate
 * and the reconciler both ask this, so a start is refused exactly when a running session
 * is locked.
 */
export function lockOf (ws: Workspace | undefined, input: Pick<ReconcileInput, 'nowMs' | 'cache' | 'contact'>): { rule: PolicyViolation, message: string } | undefined {
  const { cache, nowMs } = input
  if (cache.state === 'refused') return { rule: 'tamper', message: `policy cache refused (${cache.message}): workspaces unknown until the tracker answers` }
  if (ws === undefined || cache.state !== 'verified') return undefined
  const expiresAtMs = ws.policy.expiresAtMs
  if (ws.expired || (expiresAtMs !== null && nowMs >= expiresAtMs)) {
    return { rule: 'expired', message: `expired ${expiresAtMs === null ? '' : `on ${new Date(expiresAtMs).toISOString().slice(0, 16).replace('T', ' ')} UTC `}(policy ${ws.policy.name})` }
  }
  const offlineMs = nowMs - cache.lastContactMs
  const graceMs = ws.policy.offlineGraceSeconds * 1000
  if (input.contact !== 'ok' && offlineMs > graceMs) {
    return { rule: 'offline', message: `offline for ${roughly(offlineMs)} > grace ${roughly(graceMs)}` }
  }
  return undefined
}

function policyOf (ws: Workspace): NonNullable<WorkspaceView['policy']> {
  const p = ws.policy
  return { name: p.name, via: ws.via, expiresAtMs: p.expiresAtMs, offlineGraceSeconds: p.offlineGraceSeconds, p2pAllowed: p.p2pAllowed, downloadWindow: p.downloadWindow === null ? null : formatWindow(p.downloadWindow) }
}

function newest (versions: number[]): number | null {
  return versions.length === 0 ? null : Math.max(...versions)
}

/**
 * The ready versions of a workspace to keep: the one in force, the newest keepVersions − 1
 * below it (the local source of the next pull and a way back), and whatever a session runs.
 */
export function versionsToKeep (ready: number[], wanted: number | null, inUse: number[], keepVersions: number): number[] {
  const desc = [...ready].sort((a, b) => b - a)
  const wantedHeld = wanted !== null && desc.includes(wanted)
  const older = desc.filter((v) => v !== wanted && (wanted === null || v < wanted)).slice(0, wantedHeld ? keepVersions - 1 : keepVersions)
  return [...new Set([...(wantedHeld ? [wanted] : []), ...older, ...inUse])].sort((a, b) => b - a)
}

export function decide (input: ReconcileInput): Decision {
  const { nowMs, cache } = input
  const actions: Action[] = []
  const views: WorkspaceView[] = []
  let wakeAtMs: number | undefined
  const wake = (t: number): void => { if (t > nowMs && (wakeAtMs === undefined || t < wakeAtMs)) wakeAtMs = t }
  const heldOf = new Map(input.held.map((h) => [h.image, h]))
  const assigned = cache.state === 'verified' ? cache.workspaces : []

  // A refused cache: every workspace unknown, so locked; nothing pulled and nothing deleted.
  if (cache.state === 'refused') {
    const lock = lockOf(undefined, input)!
    for (const h of input.held) {
      views.push({ image: h.image, held: newest(h.ready), wanted: null, state: 'locked', reason: lock.message, locked: lock })
      if (h.session?.state === 'running') actions.push({ kind: 'lock', image: h.image, ...lock })
    }
    return { workspaces: views, actions }
  }

  for (const ws of assigned) {
    const h = heldOf.get(ws.image) ?? { image: ws.image, ready: [], partial: [], inUse: [] }
    const wanted = ws.version
    const view: WorkspaceView = { image: ws.image, held: newest(h.ready), wanted, state: 'none', reason: '', policy: policyOf(ws) }
    views.push(view)
    const expiresAtMs = ws.policy.expiresAtMs
    if (expiresAtMs !== null && expiresAtMs > nowMs) {
      wake(expiresAtMs)
      if (expiresAtMs - nowMs <= input.expiryWarningMs) view.warning = `expires in ${roughly(expiresAtMs - nowMs)}`
    }
    if (cache.state === 'verified' && input.contact !== 'ok') wake(cache.lastContactMs + ws.policy.offlineGraceSeconds * 1000 + 1)

    const keep = versionsToKeep(h.ready, wanted, h.inUse, input.keepVersions)
    if (h.ready.some((v) => !keep.includes(v))) actions.push({ kind: 'retain', image: ws.image, keep })

    const lock = lockOf(ws, input)
    if (lock !== undefined) {
      view.state = 'locked'
      view.locked = lock
      view.reason = `locked: ${lock.message}`
      if (h.session?.state === 'running') actions.push({ kind: 'lock', image: ws.image, ...lock })
      continue
    }
    const pull = delivery(ws, h, input, view, wake)
    if (pull !== undefined) actions.push(pull)
    if (view.warning !== undefined) view.reason += `; ${view.warning}`
  }

  // Held images no verified document names: revoked. Their files go; a version a session
  // runs stays (the session is locked) until that session ends.
  if (cache.state === 'verified') {
    const names = new Set(assigned.map((w) => w.image))
    for (const h of input.held) {
      if (names.has(h.image)) continue
      const versions = [...new Set([...h.ready, ...h.partial])].filter((v) => !h.inUse.includes(v)).sort((a, b) => b - a)
      const inUse = h.inUse.length > 0
      views.push({
        image: h.image, held: newest(h.ready), wanted: null, state: 'revoked',
        reason: inUse ? `no longer assigned: deleted once the session on v${h.inUse.join(', v')} ends` : 'no longer assigned: deleting',
        locked: inUse ? { rule: 'revoked', message: 'no longer assigned' } : undefined
      })
      if (versions.length > 0) actions.push({ kind: 'remove', image: h.image, versions, reason: 'revoked' })
      if (h.session?.state === 'running') actions.push({ kind: 'lock', image: h.image, rule: 'revoked', message: 'no longer assigned' })
    }
  }
  // delivery off (an operator's choice): the node only enforces; pulls are typed by hand
  const kept = input.deliver === false ? actions.filter((a) => a.kind === 'lock') : actions
  return { workspaces: views.sort((a, b) => a.image.localeCompare(b.image)), actions: kept, wakeAtMs }
}

/** Where an unlocked workspace stands on its way to the version its policy names, and the pull to start if any. */
function delivery (ws: Workspace, h: HeldImage, input: ReconcileInput, view: WorkspaceView, wake: (t: number) => void): Action | undefined {
  const wanted = ws.version
  if (wanted === null) {
    view.reason = 'no version published yet'
    return undefined
  }
  if (h.ready.includes(wanted)) {
    const older = h.session?.version
    if (older !== undefined && older !== wanted) {
      view.state = 'staged'
      view.reason = `v${wanted} is ready; the session runs v${older}: the update applies at its next start`
    } else {
      view.state = 'current'
      view.reason = 'up to date'
    }
    return undefined
  }
  const pulling = input.pulling[ws.image]
  if (pulling?.version === wanted) {
    view.state = 'pulling'
    view.reason = `pulling v${wanted}: ${Math.floor(pulling.fraction * 100)} %`
    return undefined
  }
  if (input.contact !== 'ok') {
    view.state = 'waiting'
    view.reason = `v${wanted} wanted; the tracker did not answer: pulls resume when it does`
    return undefined
  }
  const failed = input.failed[ws.image]
  if (failed?.version === wanted && input.nowMs < failed.retryAtMs) {
    view.state = 'failed'
    view.reason = `pull of v${wanted} failed (${failed.message}); retrying at ${clock(failed.retryAtMs, input.utcOffsetMinutes)}`
    wake(failed.retryAtMs)
    return undefined
  }
  const window = ws.policy.downloadWindow
  if (window !== null) {
    const w = windowState(window, input.nowMs, input.utcOffsetMinutes)
    if (!w.open) {
      view.state = 'waiting'
      view.reason = `waiting for download window ${formatWindow(window)} until ${clock(w.changesAtMs, input.utcOffsetMinutes)} (v${wanted} wanted)`
      wake(w.changesAtMs)
      return undefined
    }
  }
  if (input.deliver === false) {
    view.state = 'waiting'
    view.reason = `v${wanted} wanted; automatic delivery is off: "branchcast pull ${ws.image}"`
    return undefined
  }
  view.state = 'pulling'
  view.reason = `pulling v${wanted}: 0 %`
  return { kind: 'pull', image: ws.image, version: wanted, ...(ws.policy.originRateBytesPerSec === null ? {} : { originRateBytesPerSec: ws.policy.originRateBytesPerSec }) }
}
