/**
 * The node's view of the tracker API: manifests, keys, announces, events. Thin and typed
 * over the protocol's API client; JSON answers are parsed with the protocol's schemas at
 * this boundary, so the rest of the node trusts their shape.
 */
import type { z } from 'zod'
import { AnnounceAnswerSchema, RepositoryKeysSchema, createApiClient } from '../protocol/index.ts'
import type { AnnounceAnswer, AnnounceRequest, ApiClient, LeaveRequest, RepositoryKeys } from '../protocol/index.ts'
import { authorizingFetch, createLoginTokenSource, readLoginFile } from './auth/index.ts'
import { NodeConfigError } from './config.ts'

export interface TrackerClient {
  keys: (options?: { signal?: AbortSignal }) => Promise<RepositoryKeys>
  /** signed manifest root bytes of a version (`latest` = newest published) */
  manifest: (image: string, version: number | 'latest', options?: { signal?: AbortSignal }) => Promise<Uint8Array>
  announce: (body: AnnounceRequest, options?: { signal?: AbortSignal }) => Promise<AnnounceAnswer>
  leave: (body: LeaveRequest, options?: { signal?: AbortSignal }) => Promise<void>
  postEvents: (events: unknown[], options?: { signal?: AbortSignal, clientId?: string }) => Promise<{ inserted: number, duplicates: number }>
}

/** `value` as `schema` says, or an error naming the answer and its first problem. */
function parseAnswer<T extends z.ZodType> (schema: T, value: unknown, what: string): z.infer<T> {
  const parsed = schema.safeParse(value)
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]
  throw new Error(`tracker answered a malformed ${what}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trimEnd(), { cause: parsed.error })
}

export function createTrackerClient (api: ApiClient): TrackerClient {
  return {
    async keys (options = {}) {
      return parseAnswer(RepositoryKeysSchema, await api.json('GET', '/api/v1/repository', options), 'repository key answer')
    },
    async manifest (image, version, options = {}) {
      const res = await api.request('GET', `/api/v1/images/${encodeURIComponent(image)}/versions/${version}/manifest`, options)
      return new Uint8Array(await res.arrayBuffer())
    },
    async announce (body, options = {}) {
      return parseAnswer(AnnounceAnswerSchema, await api.json('POST', '/api/v1/swarm/announce', { json: body, signal: options.signal }), 'announce answer')
    },
    async leave (body, options = {}) {
      await api.request('POST', '/api/v1/swarm/leave', { json: body, signal: options.signal })
    },
    async postEvents (events, options = {}) {
      return await api.json('POST', '/api/v1/events', {
        json: { events },
        signal: options.signal,
        headers: options.clientId === undefined ? {} : { 'x-branchcast-client': options.clientId }
      })
    }
  }
}

/**
 * The tracker API as this node authenticates: its API token (from `enroll`, a flag or the
 * environment) when it has one, else the OpenID Connect login `branchcast login` stored
 * (access token refreshed as it expires).
 */
export async function trackerApi (config: { tracker: string, token?: string, dataDir: string }, options: { now?: () => number } = {}): Promise<ApiClient> {
  if (config.token !== undefined) return createApiClient({ baseUrl: config.tracker, token: config.token })
  if (await readLoginFile(config.dataDir) === undefined) throw new NodeConfigError('no API token and no login: run "branchcast login", pass --token, set BRANCHCAST_TOKEN, or run "branchcast enroll"')
  return createApiClient({ baseUrl: config.tracker, fetch: authorizingFetch(createLoginTokenSource({ dataDir: config.dataDir, now: options.now })) })
}
