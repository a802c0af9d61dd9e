/**
 * The node's view of the tracker API: manifests, keys, announces, events. Thin and typed
 * over the protocol's API client; JSON answers are parsed with the protocol's schemas at
 * this boundary, so the rest of the node trusts their shape.
 */
import type { z } from 'zod'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { AnnounceAnswerSchema, RepositoryKeysSchema, signPeerProof } from '../protocol/index.ts'
import type { AnnounceAnswer, AnnounceRequest, ApiClient, LeaveRequest, RepositoryKeys } from '../protocol/index.ts'

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
    async postEvents (events, options = {}) {
      return await api.json('POST', '/api/v1/events', {
        json: { events },
        signal: options.signal,
        headers: options.clientId === undefined ? {} : { 'x-branchcast-client': options.clientId }
      })
    }
  }
}
