/**
 * The node's local control API: loopback HTTP (127.0.0.1, OS-chosen port) for the CLI,
 * authenticated by a random bearer token. The URL and token are written to
 * `<dataDir>/control.json` with mode 0600, so only the node's user can drive it.
 *
 * Routes: `POST /pull {image, version?}` streams NDJSON (`progress` lines, then one
 * `report` or `error` line), and so do `POST /bundle {image, version?, since?, out,
 * force?}` (write an offline bundle) and `POST /import {path}` (pull from one);
 * `POST /pull/dry-run {image, version?}` answers `{report}`: what that pull would take
 * from where; `GET /images` lists ready images; `GET /status` the peer id,
 * addresses, site, cache usage and serving stats; `/sessions/…` starts, stops, restarts,
 * locks and unlocks VM sessions and reports their status.
 */
import type { Logger } from '../../protocol/index.ts'
import type { DryRunOptions, DryRunReport, PullOptions, PullReport } from '../pull/index.ts'
import type { Bundler } from '../bundle/index.ts'
import type { WorkspaceReconciler } from '../workspaces/index.ts'
import type { PublishedApps } from '../desktop/index.ts'
import type { LazyBaseSource, SessionPolicySource, SessionRuntime } from '../session/index.ts'
import type { NodeStatus, ReadyImage } from './protocol.ts'
import { ControlServerImpl } from './server.ts'

export { readControlFile, createControlClient, ControlError } from './client.ts'
export type { ControlClient, PullStreamOptions } from './client.ts'
export { CONTROL_FILE, controlFilePath } from './protocol.ts'
export type { AppLaunchRequest, SessionRoutesOptions } from './session-routes.ts'
export type { BundleRequest, ControlErrorBody, ControlFile, ImportRequest, NodeStatus, PullRequest, PullStreamLine, ReadyImage, StreamLine, SessionLockRequest, SessionStartRequest, SessionStopRequest } from './protocol.ts'

export interface ControlServerInit {
  /** where control.json is written */
  dataDir: string
  /** loopback only; default 127.0.0.1 */
  host?: string
  /** default 0 (OS-chosen) */
  port?: number
}

export interface ControlComponents {
  pull: (options: PullOptions) => Promise<PullReport>
  /** `pull --dry-run`: the route exists only when given */
  dryRun?: (options: DryRunOptions) => Promise<DryRunReport>
  images: () => Promise<ReadyImage[]>
  status: () => Promise<NodeStatus>
  /** offline bundles: `POST /bundle` and `POST /import` exist only when given */
  bundles?: Bundler
  /** VM sessions: the `/sessions` routes exist only when given */
  sessions?: SessionRuntime
  /** workspaces: `GET /workspaces` and `POST /workspaces/refresh` */
  workspaces?: Pick<WorkspaceReconciler, 'status' | 'refresh'>
  /** the policy gate sessions ask before start, unlock and app launches (default: unmanaged, all allowed) */
  sessionPolicy?: SessionPolicySource
  /** the desktop entries of published applications, synced when a managed workspace starts */
  publishedApps?: PublishedApps
  /** starts of a version not held yet read it while it arrives (instant start); without, they are refused */
  lazyBase?: LazyBaseSource
  logger: Logger
}

export interface ControlServer {
  /** base URL once started */
  readonly url: string
  /** Listens and writes control.json (0600). */
  start: () => Promise<void>
  /** Aborts running pulls, closes the server and removes control.json. */
  stop: () => Promise<void>
}

export function createControlServer (init: ControlServerInit, components: ControlComponents): ControlServer {
  const host = init.host ?? '127.0.0.1'
  if (host !== '127.0.0.1' && host !== '::1' && host !== 'localhost') throw new TypeError('the control API listens on loopback only')
  return new ControlServerImpl({ ...init, host }, components)
}
