/**
 * What the node's control API and its CLI client agree on: where the endpoint is written
 * (`<dataDir>/control.json`), the routes' bodies and the NDJSON lines of `POST /pull`.
 * Shapes only, so the client stays light; the server validates requests against them.
 */
import { join } from 'node:path'
import type { PullProgress, PullReport } from '../pull/index.ts'
import type { SessionChannels, SessionMode } from '../session/index.ts'
import type { WorkspacesStatus } from '../workspaces/index.ts'

export type { WorkspacesStatus }

export const CONTROL_FILE = 'control.json'

/** `<dataDir>/control.json` (mode 0600): how the CLI finds and authenticates to the running node. */
export interface ControlFile { url: string, token: string, pid?: number }

export function controlFilePath (dataDir: string): string { return join(dataDir, CONTROL_FILE) }

/** `POST /pull` body. */
export interface PullRequest {
  image: string
  /** default: the latest published version */
  version?: number | 'latest'
}

/** One NDJSON line of a long request (`POST /pull`, `/bundle`, `/import`): progress lines, then one report or error. */
export type StreamLine<P, R> =
  | { type: 'progress', progress: P }
  | { type: 'report', report: R }
  | { type: 'error', code: string, message: string }

export type PullStreamLine = StreamLine<PullProgress, PullReport>

/** `POST /bundle` body: write a bundle of a held version to `out` (absolute). */
export interface BundleRequest {
  image: string
  version?: number
  since?: number
  out: string
  force?: boolean
}

/** `POST /import` body: import the bundle at `path` (absolute). */
export interface ImportRequest { path: string }

/** `GET /images`: `{ images: ReadyImage[] }`. */
export interface ReadyImage {
  image: string
  version: number
  path: string
  sizeBytes: number
}

/** `GET /status`. */
export interface NodeStatus {
  peerId: string
  addrs: string[]
  site: string
  tracker: string | undefined
  cache: { usedBytes: number, maxBytes: number | null, chunks: number }
  serving: { activeStreams: number, chunksServed: number, bytesServed: number, refused: Record<string, number> }
  events: { pending: number }
  pulls: { active: number }
  /** each workspace: version held and wanted, state, next action and why, policy in force */
  workspaces?: WorkspacesStatus
  uptimeMs: number
}

/** Every non-2xx answer. */
export interface ControlErrorBody { error: { code: string, message: string } }

/** `POST /sessions/:image/start`: the base is the newest ready version of the image unless `disk` names a file. */
export interface SessionStartRequest {
  /** a raw disk image to boot instead of the node's ready image (testing) */
  disk?: string
  mode?: SessionMode
  memoryMb?: number
  cpus?: number
  channels?: Partial<SessionChannels>
  network?: 'none' | 'nat'
  /** direct kernel boot (test guests) */
  kernel?: string
  initrd?: string
  append?: string
  /** answer only once the guest agent answers */
  wait?: boolean
  /** bound on `wait` */
  timeoutMs?: number
}

/** `POST /sessions/:image/stop` and `/restart`: how long the guest has to power down. */
export interface SessionStopRequest { timeoutMs?: number }

/** `POST /sessions/:image/lock`. */
export interface SessionLockRequest { reason?: string }
