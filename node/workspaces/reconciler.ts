/**
 * The effects around `decide()`: read the workspaces from the tracker (at start, every
 * interval with jitter, when told), keep the signed cache, gather what is on disk and
 * which sessions run, decide, then act — lock, delete, pull in the background — and
 * report each change once. Passes run one at a time; requests during a pass coalesce.
 */
import type { Logger, Policy, Workspace, WorkspaceDocument } from '../../protocol/index.ts'
import { readJsonFile, writeJsonFile } from '../state-file.ts'
import { join } from 'node:path'
import { createHash, randomUUID } from 'node:crypto'
import { DEFAULT_EXPIRY_WARNING_DAYS, DEFAULT_HOST_CHECK_TIMEOUT_MS, DEFAULT_RECONCILE_INTERVAL_MS, MIN_RECONCILE_INTERVAL_MS, PULL_RETRY_MAX_MS, PULL_RETRY_MIN_MS, RECONCILE_JITTER, WORKSPACES_FETCH_TIMEOUT_MS, WORKSPACE_STATE_FILE } from './constants.ts'
import { decide, lockOf } from './decide.ts'
import type { Action, CacheView, Decision, HeldImage, PullFailure, WorkspaceView } from './decide.ts'
import { WorkspaceError } from './errors.ts'
import { runHostCheck } from './host-check.ts'
import { PolicyCache } from './policy-cache.ts'
import type { GateDecision, WorkspaceReconciler, WorkspaceReconcilerComponents, WorkspaceReconcilerInit, WorkspacesStatus } from './index.ts'

/** What the reconciler reported, so that each event goes out once across restarts. */
interface ReportedImage {
  /** policy id, update time and assignment last reported as applied */
  policy?: string
  firstWantedAtMs?: number
  delivered?: number
  applied?: number
  staged?: number
  violated?: string
}
interface StateFile {
  /** the newest document issue time accepted: a replayed older one is refused even after the cache is lost */
  floorMs: number
  images: Record<string, ReportedImage>
  /** the refused-cache message last reported */
  tamper?: string
  /** random, made once: what event ids of this data directory are derived from */
  eventSalt?: string
  /** events reported so far: the n-th event's id is derived from (salt, n, type, image) */
  eventSeq?: number
}

type FetchMode = 'never' | 'due' | 'always'
const FETCH_RANK: Record<FetchMode, number> = { never: 0, due: 1, always: 2 }

const localOffset = (ms: number): number => -new Date(ms).getTimezoneOffset()

/** A UUID (version 8, RFC 9562) made from a SHA-256 of `text`. */
function derivedUuid (text: string): string {
  const b = createHash('sha256').update(text).digest().subarray(0, 16)
  b[6] = (b[6]! & 0x0f) | 0x80
  b[8] = (b[8]! & 0x3f) | 0x80
  const h = b.toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

function policyKey (ws: Workspace): string {
  return `${ws.policy.id}:${ws.policy.updatedAt}:${ws.via.kind}:${ws.via.subject}`
}

export class Reconciler implements WorkspaceReconciler {
  readonly #init: WorkspaceReconcilerInit
  readonly #c: WorkspaceReconcilerComponents
  readonly #log: Logger
  readonly #cache: PolicyCache
  readonly #statePath: string
  readonly #intervalMs: number
  readonly #expiryWarningMs: number
  readonly #offset: (ms: number) => number
  readonly #stop = new AbortController()
  #state: StateFile = { floorMs: 0, images: {} }
  #contact: WorkspacesStatus['contact'] = { state: 'pending' }
  #last: Decision = { workspaces: [], actions: [] }
  #nextPollAtMs = 0
  #timer: NodeJS.Timeout | undefined
  #chain: Promise<void> = Promise.resolve()
  #pending: { fetch: FetchMode, promise: Promise<void> } | undefined
  readonly #pulling: Record<string, { version: number, fraction: number }> = {}
  readonly #pulls = new Set<Promise<void>>()
  readonly #failed: Record<string, PullFailure> = {}
  #stopped = false

  constructor (init: WorkspaceReconcilerInit, components: WorkspaceReconcilerComponents) {
    this.#init = init
    this.#c = components
    this.#log = components.logger.forComponent('node:workspaces')
    this.#cache = new PolicyCache(init.dataDir, components.repositoryKey)
    this.#statePath = join(init.dataDir, WORKSPACE_STATE_FILE)
    this.#intervalMs = Math.max(MIN_RECONCILE_INTERVAL_MS, init.intervalMs ?? DEFAULT_RECONCILE_INTERVAL_MS)
    this.#expiryWarningMs = init.expiryWarningMs ?? DEFAULT_EXPIRY_WARNING_DAYS * 86_400_000
    this.#offset = components.utcOffsetMinutes ?? localOffset
  }

  async start (): Promise<void> {
    const saved = await readJsonFile<StateFile>(this.#statePath).catch((err) => { this.#log.warn('cannot read the workspace state; starting afresh', { err }); return undefined })
    if (saved !== undefined && typeof saved.floorMs === 'number' && typeof saved.images === 'object' && saved.images !== null) this.#state = saved
    const cached = await this.#cache.load()
    if (cached.state === 'refused') this.#log.error('policy cache refused: workspaces locked until the tracker answers', { reason: cached.message })
    // enforce the cached policy at once (locks, status); the tracker's answer follows in
    // the background, so a tracker that does not answer does not hold the daemon's start
    await this.#enqueue('never')
    void this.#enqueue('always')
  }

  async stop (): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    this.#stop.abort(new Error('node stopping'))
    await this.#chain
    await Promise.allSettled([...this.#pulls])
  }

  async refresh (options: { signal?: AbortSignal } = {}): Promise<WorkspacesStatus> {
    options.signal?.throwIfAborted()
    await this.#enqueue('always')
    return this.status()
  }

  status (): WorkspacesStatus {
    const cache = this.#cache.current
    return {
      workspaces: this.#last.workspaces,
      cache: cache.state === 'verified'
        ? { state: 'verified', issuedAtMs: cache.document.issuedAtMs }
        : cache.state === 'refused' ? { state: 'refused', message: cache.message } : { state: 'none' },
      contact: { ...this.#contact },
      nextCheckAtMs: this.#nextPollAtMs === 0 ? undefined : this.#nextPollAtMs
    }
  }

  // ---- the gate ---------------------------------------------------------------------

  async check (image: string, options: { signal?: AbortSignal, autoStart?: boolean } = {}): Promise<GateDecision> {
    const cache = this.#cacheView()
    const nowMs = this.#c.now()
    if (cache.state === 'refused') return { allowed: false, reason: lockOf(undefined, { nowMs, cache, contact: this.#contact.state })!.message }
    const ws = cache.state === 'verified' ? cache.workspaces.find((w) => w.image === image) : undefined
    if (ws === undefined) {
      // an image on disk that the verified document no longer names was revoked
      if (cache.state === 'verified' && (await this.#c.images.versions(image)).length > 0) return { allowed: false, reason: `${image} is no longer assigned to this user` }
      return { allowed: true, reason: 'no workspace policy names this image' }
    }
    const found = { policy: ws.policy, ...(ws.version === null ? {} : { version: ws.version }) }
    const lock = lockOf(ws, { nowMs, cache, contact: this.#contact.state })
    if (lock !== undefined) return { allowed: false, reason: `locked: ${lock.message}`, ...found }
    if (options.autoStart === true && ws.policy.startup.mode !== 'auto') return { allowed: false, reason: 'its policy does not start it automatically', ...found }
    if (this.#init.hostCheck !== undefined) {
      const r = await runHostCheck(this.#init.hostCheck, image, { timeoutMs: this.#init.hostCheckTimeoutMs ?? DEFAULT_HOST_CHECK_TIMEOUT_MS, signal: options.signal })
      if (!r.ok) {
        await this.#report('policy.violated', { image, rule: 'host-check', message: r.message })
        return { allowed: false, reason: r.message, ...found }
      }
    }
    return { allowed: true, reason: `policy ${ws.policy.name} (${ws.via.kind} ${ws.via.subject})`, ...found }
  }

  // ---- passes -----------------------------------------------------------------------

  /** Queues a pass; `fetch`: read the tracker never, when the interval is due, or always. Queued passes merge. */
  #enqueue (fetch: FetchMode): Promise<void> {
    if (this.#pending !== undefined) {
      if (FETCH_RANK[fetch] > FETCH_RANK[this.#pending.fetch]) this.#pending.fetch = fetch
      return this.#pending.promise
    }
    const p: { fetch: FetchMode, promise: Promise<void> } = { fetch, promise: Promise.resolve() }
    p.promise = this.#chain.then(async () => {
      this.#pending = undefined
      if (this.#stopped) return
      await this.#pass(p.fetch)
    }).catch((err) => { this.#log.error('workspace pass failed', { err }) })
    this.#pending = p
    this.#chain = p.promise
    return p.promise
  }

  #cacheView (): CacheView {
    const c = this.#cache.current
    if (c.state === 'verified') return { state: 'verified', workspaces: c.document.workspaces, lastContactMs: c.document.serverTimeMs }
    return c.state === 'refused' ? { state: 'refused', message: c.message } : { state: 'none' }
  }

  async #fetch (): Promise<void> {
    const signal = AbortSignal.any([this.#stop.signal, AbortSignal.timeout(WORKSPACES_FETCH_TIMEOUT_MS)])
    let doc: WorkspaceDocument
    try {
      const answer = await this.#c.fetchWorkspaces({ signal })
      doc = await this.#cache.accept((answer as { signed?: unknown } | null)?.signed, { floorMs: this.#state.floorMs })
    } catch (err) {
      if (this.#stopped) return
      const code = (err as { code?: unknown }).code
      this.#contact = { ...this.#contact, state: 'failed', lastError: `${typeof code === 'string' ? `${code}: ` : ''}${(err as Error).message}` }
      this.#log.warn('cannot read the workspaces from the tracker; enforcing the cached policy', { error: this.#contact.lastError })
      if (err instanceof WorkspaceError && err.code === 'ERR_POLICY_CACHE_TAMPERED') await this.#report('policy.violated', { rule: 'tamper', message: `the tracker's answer: ${err.message}` })
      return
    }
    this.#contact = { state: 'ok', lastOkMs: this.#c.now() }
    if (doc.issuedAtMs > this.#state.floorMs) this.#state.floorMs = doc.issuedAtMs
  }

  async #facts (): Promise<HeldImage[]> {
    const sessions = await this.#c.sessions.list({ signal: this.#stop.signal }).catch((err) => { this.#log.warn('cannot list sessions', { err }); return [] })
    const names = new Set([...await this.#c.images.heldImages(), ...sessions.filter((s) => s.state !== 'stopped').map((s) => s.image)])
    const out: HeldImage[] = []
    for (const image of names) {
      const versions = await this.#c.images.versions(image)
      const s = sessions.find((x) => x.image === image && x.state !== 'stopped')
      out.push({
        image,
        ready: versions.filter((v) => v.ready).map((v) => v.version),
        partial: versions.filter((v) => !v.ready).map((v) => v.version),
        inUse: s?.version === undefined ? [] : [s.version],
        session: s === undefined ? undefined : { state: s.state as 'running' | 'locked', version: s.version }
      })
    }
    return out
  }

  async #pass (fetch: FetchMode): Promise<void> {
    if (fetch === 'always' || (fetch === 'due' && this.#c.now() >= this.#nextPollAtMs)) {
      await this.#fetch()
      const jitter = 1 + (Math.random() * 2 - 1) * RECONCILE_JITTER
      this.#nextPollAtMs = this.#c.now() + Math.round(this.#intervalMs * jitter)
    }
    const nowMs = this.#c.now()
    const decision = decide({
      nowMs,
      utcOffsetMinutes: this.#offset(nowMs),
      cache: this.#cacheView(),
      contact: this.#contact.state,
      keepVersions: this.#init.keepVersions,
      expiryWarningMs: this.#expiryWarningMs,
      held: await this.#facts(),
      pulling: { ...this.#pulling },
      failed: { ...this.#failed },
      deliver: this.#init.deliver
    })
    this.#last = decision
    this.#c.onWorkspaces?.(this.status().workspaces.map((w) => w.image))
    await this.#reportChanges(decision)
    for (const a of decision.actions) await this.#act(a)
    this.#schedule(decision.wakeAtMs)
  }

  #schedule (wakeAtMs: number | undefined): void {
    if (this.#stopped) return
    clearTimeout(this.#timer)
    const at = Math.min(this.#nextPollAtMs, wakeAtMs ?? Infinity)
    // a timer's delay is capped at 2^31 − 1 ms; a far wake-up just re-decides early
    const delay = Math.min(2 ** 31 - 1, Math.max(0, at - this.#c.now()))
    this.#timer = setTimeout(() => { void this.#enqueue('due') }, delay)
    this.#timer.unref()
  }

  /** The desktop's entries for `image` made to match `apps`; a failure is logged, never fatal to delivery. */
  async #syncApps (image: string, apps: Policy['publishedApps']): Promise<void> {
    try {
      await this.#c.publishedApps?.syncPublishedApps(image, apps)
    } catch (err) {
      this.#log.warn('could not update the published applications', { image, error: err instanceof Error ? err.message : String(err) })
    }
  }

  async #act (a: Action): Promise<void> {
    try {
      switch (a.kind) {
        case 'lock':
          this.#log.warn('locking a session', { image: a.image, rule: a.rule, message: a.message })
          await this.#c.sessions.lock(a.image, { reason: a.rule, signal: this.#stop.signal })
          return
        case 'retain': {
          const held = (await this.#c.images.versions(a.image)).filter((v) => v.ready && !a.keep.includes(v.version)).map((v) => v.version)
          const deleted = await this.#c.images.deleteVersions(a.image, held)
          if (deleted.length > 0) this.#log.info('deleted versions beyond the ones kept', { image: a.image, versions: deleted })
          return
        }
        case 'remove': {
          const deleted = await this.#c.images.deleteVersions(a.image, a.versions)
          if (deleted.length === 0) return
          this.#log.info('deleted a workspace no longer assigned', { image: a.image, versions: deleted })
          await this.#report('workspace.removed', { image: a.image, versions: deleted, reason: a.reason })
          await this.#syncApps(a.image, [])
          if ((await this.#c.images.versions(a.image)).length === 0) {
            delete this.#state.images[a.image]
            await this.#save()
          }
          // what is on disk changed: decide again, so the status shows it
          void this.#enqueue('never')
          return
        }
        case 'pull':
          this.#startPull(a)
      }
    } catch (err) {
      this.#log.warn('workspace action failed', { action: a.kind, image: a.image, err })
    }
  }

  #startPull (a: Extract<Action, { kind: 'pull' }>): void {
    if (this.#pulling[a.image] !== undefined || this.#stopped) return
    const progress = { version: a.version, fraction: 0 }
    this.#pulling[a.image] = progress
    this.#log.info('pulling a workspace version', { image: a.image, version: a.version })
    const run = (async () => {
      try {
        await this.#c.pull({
          image: a.image,
          version: a.version,
          originRateBytesPerSec: a.originRateBytesPerSec,
          signal: this.#stop.signal,
          onProgress: (p) => { if (p.totalBytes > 0) progress.fraction = Math.min(1, p.doneBytes / p.totalBytes) }
        })
        delete this.#failed[a.image]
      } catch (err) {
        if (this.#stopped) return
        const failures = (this.#failed[a.image]?.version === a.version ? this.#failed[a.image]!.failures : 0) + 1
        const code = (err as { code?: unknown }).code
        this.#failed[a.image] = {
          version: a.version,
          failures,
          retryAtMs: this.#c.now() + Math.min(PULL_RETRY_MAX_MS, PULL_RETRY_MIN_MS * 2 ** (failures - 1)),
          message: `${typeof code === 'string' ? code : 'ERR_PULL_FAILED'}: ${(err as Error).message}`.slice(0, 300)
        }
        this.#log.warn('automatic pull failed', { image: a.image, version: a.version, failures, err })
      } finally {
        delete this.#pulling[a.image]
      }
      await this.#enqueue('never')
    })()
    this.#pulls.add(run)
    void run.finally(() => this.#pulls.delete(run))
  }

  // ---- events, once each --------------------------------------------------------------

  /**
   * A crash after the reporter made an event durable and before the state file recorded it
   * makes the next start report it again. It then gets the same id, derived from how many
   * events this data directory had reported (saved with the state) and what it is, so the
   * tracker stores it once; a later, real repeat comes with a higher count and a new id.
   */
  async #report (type: string, payload: Record<string, unknown>): Promise<void> {
    this.#state.eventSalt ??= randomUUID()
    const n = this.#state.eventSeq = (this.#state.eventSeq ?? 0) + 1
    const image = typeof payload.image === 'string' ? payload.image : ''
    try {
      await this.#c.events.report(type, payload, { id: derivedUuid(`${this.#state.eventSalt}\n${n}\n${type}\n${image}`) })
    } catch (err) {
      this.#log.error('cannot queue an event', { type, err })
    }
  }

  async #save (): Promise<void> {
    await writeJsonFile(this.#statePath, this.#state).catch((err) => { this.#log.error('cannot save the workspace state', { err }) })
  }

  /**
   * Each change of a workspace reported once: the event is made durable by the reporter
   * first, then the state file records it (a crash in between repeats it at most once).
   */
  async #reportChanges (d: Decision): Promise<void> {
    const cache = this.#cache.current
    let changed = false
    if (cache.state === 'refused') {
      if (this.#state.tamper !== cache.message) {
        await this.#report('policy.violated', { rule: 'tamper', message: cache.message.slice(0, 1024) })
        this.#state.tamper = cache.message
        await this.#save()
      }
      return
    }
    if (this.#state.tamper !== undefined) { this.#state.tamper = undefined; changed = true }
    const byImage = new Map((cache.state === 'verified' ? cache.document.workspaces : []).map((w) => [w.image, w]))
    const nowMs = this.#c.now()
    for (const view of d.workspaces) {
      const ws = byImage.get(view.image)
      if (ws === undefined) continue
      const s = this.#state.images[view.image] ??= { firstWantedAtMs: nowMs }
      const save = async (): Promise<void> => { changed = false; await this.#save() }
      if (s.policy !== policyKey(ws)) {
        await this.#report('policy.applied', { image: view.image, policy: ws.policy.name, via: ws.via, version: ws.version })
        await this.#syncApps(view.image, ws.policy.publishedApps)
        s.policy = policyKey(ws)
        await save()
      }
      const rule = view.locked?.rule
      if (rule !== undefined && rule !== 'revoked' && s.violated !== rule) {
        await this.#report('policy.violated', { image: view.image, rule, message: view.locked!.message })
        s.violated = rule
        await save()
      } else if (rule === undefined && s.violated !== undefined) {
        s.violated = undefined
        changed = true
      }
      if (view.held === null) continue
      if (s.delivered === undefined) {
        await this.#report('workspace.delivered', { image: view.image, version: view.held, durationMs: Math.max(0, nowMs - (s.firstWantedAtMs ?? nowMs)) })
        s.delivered = view.held
        s.applied = view.held
        await save()
      } else if (view.state === 'staged' && view.wanted !== null && s.staged !== view.wanted && s.applied !== view.wanted) {
        await this.#report('update.staged', { image: view.image, version: view.wanted, from: s.applied ?? s.delivered })
        s.staged = view.wanted
        await save()
      } else if (view.state === 'current' && view.wanted !== null && view.held === view.wanted && s.applied !== view.wanted) {
        await this.#report('update.applied', { image: view.image, version: view.wanted, from: s.applied ?? s.delivered })
        s.applied = view.wanted
        s.staged = undefined
        await save()
      }
    }
    if (changed) await this.#save()
  }
}

