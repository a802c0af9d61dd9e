/**
 * Workspaces: the node keeps each workspace its user is assigned at the version its
 * policy names, with no command typed, and enforces the policy on a signed cache.
 *
 * - `decide.ts`: the pure decision (state in → actions and a reason per workspace out);
 * - `policy-cache.ts`: the signed workspace document on disk, verified on every read,
 *   never rolled back;
 * - `reconciler.ts`: the effects around the decision — reads the tracker at start, every
 *   interval (jittered) and when told; pulls in the download window under the policy's
 *   origin cap; keeps N versions; deletes revoked workspaces; locks sessions; reports
 *   events once;
 * - the gate (`WorkspaceGate`) the session routes ask before a start or an unlock.
 */
import type { KeyObject } from 'node:crypto'
import type { Logger, Policy } from '../../protocol/index.ts'
import type { PublishedApps } from '../desktop/index.ts'
import type { EventReporter } from '../events/index.ts'
import type { ImageStore } from '../image-store/index.ts'
import type { PullOptions, PullReport } from '../pull/index.ts'
import type { SessionRuntime } from '../session/index.ts'
import { Reconciler } from './reconciler.ts'
import type { WorkspaceView } from './decide.ts'

export { decide, lockOf, roughly, versionsToKeep } from './decide.ts'
export type { Action, CacheView, Decision, HeldImage, LockRule, PullFailure, ReconcileInput, WorkspaceState, WorkspaceView } from './decide.ts'
export { formatWindow, windowState } from './download-window.ts'
export type { DownloadWindow, WindowState } from './download-window.ts'
export { PolicyCache, policyCachePath, verifyWorkspaceDocument } from './policy-cache.ts'
export type { CachedDocument } from './policy-cache.ts'
export { runHostCheck } from './host-check.ts'
export type { HostCheckResult } from './host-check.ts'
export { WorkspaceError } from './errors.ts'
export type { WorkspaceErrorCode } from './errors.ts'
export { DEFAULT_EXPIRY_WARNING_DAYS, DEFAULT_HOST_CHECK_TIMEOUT_MS, DEFAULT_RECONCILE_INTERVAL_MS, MIN_RECONCILE_INTERVAL_MS } from './constants.ts'

/** The gate's answer for one image: may it start (or unlock), and why. */
export interface GateDecision {
  allowed: boolean
  reason: string
  /** the policy in force, when a workspace names the image */
  policy?: Policy
  /** the version that policy names (absent: none published, or no policy) */
  version?: number
}

/** What the session side asks before a start or an unlock (the session routes' `SessionPolicySource`). */
export interface WorkspaceGate {
  check: (image: string, options?: { signal?: AbortSignal, autoStart?: boolean }) => Promise<GateDecision>
}

/** `GET /workspaces`: every workspace and how it stands, the policy cache and the last tracker contact. */
export interface WorkspacesStatus {
  workspaces: WorkspaceView[]
  cache: { state: 'verified' | 'none' | 'refused', issuedAtMs?: number, message?: string }
  contact: { state: 'ok' | 'failed' | 'pending', lastOkMs?: number, lastError?: string }
  /** when the node next reads its workspaces */
  nextCheckAtMs?: number
}

export interface WorkspaceReconciler extends WorkspaceGate {
  /** Loads the policy cache and runs a first pass (a pull it starts runs in the background). */
  start: () => Promise<void>
  /** Stops the timers and aborts automatic pulls (their progress is kept on disk). */
  stop: () => Promise<void>
  /** Reads the workspaces from the tracker now and acts on them; resolves to the new status. */
  refresh: (options?: { signal?: AbortSignal }) => Promise<WorkspacesStatus>
  status: () => WorkspacesStatus
}

export interface WorkspaceReconcilerInit {
  dataDir: string
  /** how often to read the workspaces (default DEFAULT_RECONCILE_INTERVAL_MS, ± RECONCILE_JITTER) */
  intervalMs?: number
  /** versions of each workspace kept: the one in force and keepVersions − 1 older */
  keepVersions: number
  /** warn this long before expiry (default DEFAULT_EXPIRY_WARNING_DAYS) */
  expiryWarningMs?: number
  /** argv of the host verification command (no shell); none by default */
  hostCheck?: readonly string[]
  hostCheckTimeoutMs?: number
  /** automatic delivery (default true); off, the node only enforces the policy */
  deliver?: boolean
}

export interface WorkspaceReconcilerComponents {
  /** `GET /api/v1/me/workspaces`, answered as JSON */
  fetchWorkspaces: (options: { signal: AbortSignal }) => Promise<unknown>
  /** told the assigned images after every pass (the daemon readies VM starts once there are any) */
  onWorkspaces?: (images: string[]) => void
  /** the repository key pinned at enrollment: the document must be signed by it */
  repositoryKey: KeyObject
  images: Pick<ImageStore, 'versions' | 'deleteVersions' | 'heldImages'>
  sessions: Pick<SessionRuntime, 'list' | 'lock'>
  pull: (options: PullOptions) => Promise<PullReport>
  events: Pick<EventReporter, 'report'>
  /** the desktop's entries of published applications: made to match each policy applied, removed with the workspace */
  publishedApps?: Pick<PublishedApps, 'syncPublishedApps'>
  logger: Logger
  now: () => number
  /** the local UTC offset at a time, in minutes (default: this process's time zone) */
  utcOffsetMinutes?: (ms: number) => number
}

export function createWorkspaceReconciler (init: WorkspaceReconcilerInit, components: WorkspaceReconcilerComponents): WorkspaceReconciler {
  if (init.dataDir === '') throw new TypeError('dataDir is required')
  if (!Number.isSafeInteger(init.keepVersions) || init.keepVersions < 1) throw new TypeError('keepVersions must be a positive integer')
  if (init.hostCheck !== undefined && (init.hostCheck.length === 0 || init.hostCheck[0] === '')) throw new TypeError('hostCheck needs a program')
  return new Reconciler(init, components)
}
