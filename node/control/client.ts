/**
 * The CLI's side of the control API: finds the running node through
 * `<dataDir>/control.json` and reads `POST /pull`'s NDJSON stream line by line.
 */
import { readJsonFile } from '../state-file.ts'
import type { DryRunReport, PullProgress, PullReport } from '../pull/index.ts'
import { controlFilePath } from './protocol.ts'
import type { BundleProgress, ImportReport, MakeBundleReport } from '../bundle/index.ts'
import type { BundleRequest, ControlErrorBody, ControlFile, NodeStatus, PullRequest, StreamLine, ReadyImage, SessionLockRequest, SessionStartRequest, SessionStopRequest, WorkspacesStatus } from './protocol.ts'
import type { AppLaunchResult, SessionStatus, SessionStopResult } from '../session/index.ts'
import type { AppLaunchRequest } from './session-routes.ts'

export class ControlError extends Error {
  readonly code: string
  constructor (code: string, message: string) {
    super(message)
    this.name = 'ControlError'
    this.code = code
  }
}

/** The running node's control endpoint; `ERR_NODE_NOT_RUNNING` when there is none. */
export async function readControlFile (dataDir: string): Promise<ControlFile> {
  const file = await readJsonFile<ControlFile>(controlFilePath(dataDir))
  if (file === undefined || typeof file.url !== 'string' || typeof file.token !== 'string') {
    throw new ControlError('ERR_NODE_NOT_RUNNING', `no running node found (no ${controlFilePath(dataDir)}); start one with "branchcast node"`)
  }
  return file
}

export interface PullStreamOptions {
  version?: PullRequest['version']
  signal?: AbortSignal
  onProgress?: (p: PullProgress) => void
}

export interface ControlClient {
  pull: (image: string, options?: PullStreamOptions) => Promise<PullReport>
  /** what a pull would take from where (`POST /pull/dry-run`) */
  pullDryRun: (image: string, options?: { version?: PullRequest['version'], signal?: AbortSignal }) => Promise<DryRunReport>
  /** writes an offline bundle of a held version (`POST /bundle`) */
  bundle: (request: BundleRequest, options?: { signal?: AbortSignal, onProgress?: (p: BundleProgress) => void }) => Promise<MakeBundleReport>
  /** pulls the version a bundle holds, with the bundle as a source (`POST /import`) */
  importBundle: (path: string, options?: { signal?: AbortSignal, onProgress?: (p: PullProgress) => void }) => Promise<ImportReport>
  images: (options?: { signal?: AbortSignal }) => Promise<ReadyImage[]>
  status: (options?: { signal?: AbortSignal }) => Promise<NodeStatus>
  sessionStart: (image: string, request: SessionStartRequest, options?: { signal?: AbortSignal }) => Promise<SessionStatus>
  sessionStop: (image: string, request?: SessionStopRequest, options?: { signal?: AbortSignal }) => Promise<SessionStopResult>
  sessionRestart: (image: string, request?: SessionStopRequest, options?: { signal?: AbortSignal }) => Promise<SessionStatus>
  sessionLock: (image: string, request?: SessionLockRequest, options?: { signal?: AbortSignal }) => Promise<SessionStatus>
  sessionUnlock: (image: string, options?: { signal?: AbortSignal }) => Promise<SessionStatus>
  sessionStatus: (image: string, options?: { signal?: AbortSignal }) => Promise<SessionStatus>
  sessions: (options?: { signal?: AbortSignal }) => Promise<SessionStatus[]>
  /** each workspace and how it stands (`GET /workspaces`) */
  workspaces: (options?: { signal?: AbortSignal }) => Promise<WorkspacesStatus>
  /** reads the workspaces from the tracker now and acts on them (`POST /workspaces/refresh`) */
  refreshWorkspaces: (options?: { signal?: AbortSignal }) => Promise<WorkspacesStatus>
  appLaunch: (image: string, request: AppLaunchRequest, options?: { signal?: AbortSignal }) => Promise<AppLaunchResult>
}

export function createControlClient (file: ControlFile): ControlClient {
  const headers = { authorization: `Bearer ${file.token}` }

  async function call (method: string, path: string, init: { body?: unknown, signal?: AbortSignal } = {}): Promise<Response> {
    let res: Response
    try {
      res = await fetch(file.url + path, {
        method,
        headers: init.body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal: init.signal
      })
    } catch (err) {
      if (init.signal?.aborted === true) throw err
      throw new ControlError('ERR_NODE_NOT_RUNNING', `the node at ${file.url} does not answer (${(err as Error).message}); is "branchcast node" running?`)
    }
    if (!res.ok) {
      const body = await res.json().catch(() => ({})) as Partial<ControlErrorBody>
      throw new ControlError(body.error?.code ?? `HTTP_${res.status}`, body.error?.message ?? res.statusText)
    }
    return res
  }

  async function session<T> (image: string, action: string, body: object, options: { signal?: AbortSignal }): Promise<T> {
    return await (await call('POST', `/sessions/${encodeURIComponent(image)}/${action}`, { body, signal: options.signal })).json() as T
  }

  /** A long request's NDJSON: progress lines to `onProgress`, then the report (or the error thrown). */
  async function stream<P, R> (path: string, body: object, options: { signal?: AbortSignal, onProgress?: (p: P) => void }): Promise<R> {
    const res = await call('POST', path, { body, signal: options.signal })
    if (res.body === null) throw new ControlError('ERR_PROTOCOL', `empty ${path} stream`)
    const decoder = new TextDecoder()
    let buffered = ''
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(chunk, { stream: true })
      let nl: number
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const text = buffered.slice(0, nl)
        buffered = buffered.slice(nl + 1)
        if (text === '') continue
        const line = JSON.parse(text) as StreamLine<P, R>
        if (line.type === 'progress') options.onProgress?.(line.progress)
        else if (line.type === 'report') return line.report
        else if (line.type === 'error') throw new ControlError(line.code, line.message)
      }
    }
    throw new ControlError('ERR_PROTOCOL', `the node closed the ${path} stream without a report`)
  }

  return {
    async pull (image, options = {}) {
      const request: PullRequest = { image, version: options.version }
      return await stream<PullProgress, PullReport>('/pull', request, options)
    },
    async pullDryRun (image, options = {}) {
      const request: PullRequest = { image, version: options.version }
      return (await (await call('POST', '/pull/dry-run', { body: request, signal: options.signal })).json() as { report: DryRunReport }).report
    },
    bundle: async (request, options = {}) => await stream<BundleProgress, MakeBundleReport>('/bundle', request, options),
    importBundle: async (path, options = {}) => await stream<PullProgress, ImportReport>('/import', { path }, options),
    async images (options = {}) {
      return (await (await call('GET', '/images', options)).json() as { images: ReadyImage[] }).images
    },
    async status (options = {}) {
      return await (await call('GET', '/status', options)).json() as NodeStatus
    },
    sessionStart: async (image, request, options = {}) => await session<SessionStatus>(image, 'start', request, options),
    sessionStop: async (image, request = {}, options = {}) => await session<SessionStopResult>(image, 'stop', request, options),
    sessionRestart: async (image, request = {}, options = {}) => await session<SessionStatus>(image, 'restart', request, options),
    sessionLock: async (image, request = {}, options = {}) => await session<SessionStatus>(image, 'lock', request, options),
    sessionUnlock: async (image, options = {}) => await session<SessionStatus>(image, 'unlock', {}, options),
    appLaunch: async (image, request, options = {}) => await session<AppLaunchResult>(image, 'apps', request, options),
    async sessionStatus (image, options = {}) {
      return await (await call('GET', `/sessions/${encodeURIComponent(image)}`, options)).json() as SessionStatus
    },
    async sessions (options = {}) {
      return (await (await call('GET', '/sessions', options)).json() as { sessions: SessionStatus[] }).sessions
    },
    async workspaces (options = {}) {
      return await (await call('GET', '/workspaces', options)).json() as WorkspacesStatus
    },
    async refreshWorkspaces (options = {}) {
      return await (await call('POST', '/workspaces/refresh', { ...options, body: {} })).json() as WorkspacesStatus
    }
  }
}
