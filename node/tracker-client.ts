/**
 * The node's view of the tracker API: manifests, keys, announces, events. Thin and typed
 * over the protocol's API client; JSON answers are parsed with the protocol's schemas at
 * this boundary, so the rest of the node trusts their shape.
 */
import type { z } from 'zod'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { AnnounceAnswerSchema, MeSchema, OriginAccessSchema, RepositoryKeysSchema, createApiClient, signPeerProof } from '../protocol/index.ts'
import type { AnnounceAnswer, AnnounceRequest, ApiClient, ClientInfo, LeaveRequest, Me, OriginAccess, RepositoryKeys } from '../protocol/index.ts'
import { authorizingFetch, createLoginTokenSource, readLoginFile } from './auth/index.ts'
import { NodeConfigError } from './config.ts'

export interface TrackerClient {
  keys: (options?: { signal?: AbortSignal }) => Promise<RepositoryKeys>
  /** signed manifest root bytes of a version (`latest` = newest published) */
  manifest: (image: string, version: number | 'latest', options?: { signal?: AbortSignal }) => Promise<Uint8Array>
  announce: (body: AnnounceRequest, options?: { signal?: AbortSignal }) => Promise<AnnounceAnswer>
  leave: (body: LeaveRequest, options?: { signal?: AbortSignal }) => Promise<void>
  postEvents: (events: unknown[], options?: { signal?: AbortSignal, clientId?: string, client?: ClientInfo }) => Promise<{ inserted: number, duplicates: number }>
  /** who the client's token stands for */
  me: (options?: { signal?: AbortSignal }) => Promise<Me>
  /** origin access for `image` bound to `clientId` without joining its swarm (a dry run) */
  originAccess?: (image: string, clientId: string, options?: { signal?: AbortSignal }) => Promise<OriginAccess>
}

/** `value` as `schema` says, or an error naming the answer and its first problem. */
function parseAnswer<T extends z.ZodType> (schema: T, value: unknown, what: string): z.infer<T> {
  const parsed = schema.safeParse(value)
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]
  throw new Error(`tracker answered a malformed ${what}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trimEnd(), { cause: parsed.error })
}

export interface TrackerClientInit {
  /**
   * The node's libp2p key: announces of its peer id then carry a proof signed with it, which
   * the tracker needs before it registers the id with the user (`protocol/swarm/peer-proof.ts`).
   */
  peerKey?: PrivateKey
  /** the clock the proof's time is read from */
  now?: () => number
}

export function createTrackerClient (api: ApiClient, init: TrackerClientInit = {}): TrackerClient {
  const { peerKey, now = Date.now } = init
  const ownPeerId = peerKey === undefined ? undefined : peerIdFromPrivateKey(peerKey).toString()
  return {
    async keys (options = {}) {
      return parseAnswer(RepositoryKeysSchema, await api.json('GET', '/api/v1/repository', options), 'repository key answer')
    },
    async manifest (image, version, options = {}) {
      const res = await api.request('GET', `/api/v1/images/${encodeURIComponent(image)}/versions/${version}/manifest`, options)
      return new Uint8Array(await res.arrayBuffer())
    },
    async announce (body, options = {}) {
      if (peerKey !== undefined && body.proof === undefined && body.peerId === ownPeerId) {
        body = { ...body, proof: await signPeerProof(peerKey, body.peerId, now()) }
      }
      return parseAnswer(AnnounceAnswerSchema, await api.json('POST', '/api/v1/swarm/announce', { json: body, signal: options.signal }), 'announce answer')
    },
    async leave (body, options = {}) {
      await api.request('POST', '/api/v1/swarm/leave', { json: body, signal: options.signal })
    },
    async me (options = {}) {
      return parseAnswer(MeSchema, await api.json('GET', '/api/v1/me', options), 'identity answer')
    },
    async originAccess (image, clientId, options = {}) {
      return parseAnswer(OriginAccessSchema, await api.json('POST', `/api/v1/images/${encodeURIComponent(image)}/origin-token`, { json: { clientId }, signal: options.signal }), 'origin access answer')
    },
    async postEvents (events, options = {}) {
      return await api.json('POST', '/api/v1/events', {
        json: options.client === undefined ? { events } : { client: options.client, events },
        signal: options.signal,
        headers: options.clientId === undefined ? {} : { 'x-branchcast-client': options.clientId }
      })
    }
  }
}

/** A tracker client that remembers the swarms it announced into, so the node can leave them all. */
export interface SwarmMemberships {
  readonly tracker: TrackerClient
  /** (image, version, peer) announced into and not left since */
  readonly joined: () => LeaveRequest[]
  /**
   * Leaves every swarm announced into, in parallel, bounded by `signal`; afterwards
   * announces are refused, so a pull still winding down cannot join again.
   */
  leaveAll: (options?: { signal?: AbortSignal }) => Promise<{ left: number, failed: number }>
}

/**
 * Wraps `tracker` so that every successful announce is recorded and every leave forgets
 * it: a node that stops leaves the versions it was pulling and the ones it just pulled,
 * not only those its seeder announced, so a newcomer is not sent to a gone peer until the
 * membership lapses.
 */
export function recordMemberships (tracker: TrackerClient): SwarmMemberships {
  const joined = new Map<string, LeaveRequest>()
  const keyOf = (r: LeaveRequest): string => `${r.peerId}\n${r.image}\n${r.version}`
  let closed = false
  const wrapped: TrackerClient = {
    ...tracker,
    async announce (body, options) {
      if (closed) throw new Error('the node is stopping: no more announces')
      const answer = await tracker.announce(body, options)
      // An announce that lost the race with leaveAll is undone by it, not left behind.
      const r = { image: body.image, version: body.version, peerId: body.peerId }
      if (closed) await tracker.leave(r, { signal: AbortSignal.timeout(2_000) }).catch(() => {})
      else joined.set(keyOf(r), r)
      return answer
    },
    async leave (body, options) {
      await tracker.leave(body, options)
      joined.delete(keyOf(body))
    }
  }
  return {
    tracker: wrapped,
    joined: () => [...joined.values()],
    async leaveAll (options = {}) {
      closed = true
      const all = [...joined.values()]
      joined.clear()
      const results = await Promise.allSettled(all.map(async (r) => { await tracker.leave(r, { signal: options.signal }) }))
      const failed = results.filter((x) => x.status === 'rejected').length
      return { left: all.length - failed, failed }
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
