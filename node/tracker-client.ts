/**
 * The node's view of the tracker API: manifests, keys, announces, events. Thin and typed
 * over protocol/api-client.ts; answers are checked at this boundary.
 */
import type { ApiClient } from '../protocol/index.ts'
import type { OriginAccess } from '../protocol/index.ts'
import type { RepositoryKeys } from './trust.ts'

export interface AnnounceRequest {
  image: string
  version: number
  peerId: string
  site: string
  addrs: string[]
  /** base64 bitfield over the manifest's chunk indexes */
  have: string
  haveCount: number
  hostname?: string
  agentVersion?: string
}

export interface AnnouncedPeer {
  peerId: string
  addrs: string[]
  site: string
  haveCount: number
  have: string
}

export interface AnnounceAnswer {
  peers: AnnouncedPeer[]
  capability?: string
  capabilityExpiresAtMs?: number
  reason?: string
  originShare: { index: number, of: number }
  origin: OriginAccess
  limits: {
    originRateBytesPerSec: number | null
    downloadWindow: { startMinute: number, endMinute: number } | null
  }
  announceIntervalMs: number
}

export interface TrackerClient {
  keys: (options?: { signal?: AbortSignal }) => Promise<RepositoryKeys>
  /** signed manifest root bytes of a version (`latest` = newest published) */
  manifest: (image: string, version: number | 'latest', options?: { signal?: AbortSignal }) => Promise<Uint8Array>
  announce: (body: AnnounceRequest, options?: { signal?: AbortSignal }) => Promise<AnnounceAnswer>
  leave: (body: { image: string, version: number, peerId: string }, options?: { signal?: AbortSignal }) => Promise<void>
  postEvents: (events: unknown[], options?: { signal?: AbortSignal, clientId?: string }) => Promise<{ inserted: number, duplicates: number }>
}

function must<T> (ok: boolean, value: T, what: string): T {
  if (!ok) throw new Error(`tracker answered a malformed ${what}`)
  return value
}

export function createTrackerClient (api: ApiClient): TrackerClient {
  return {
    async keys (options = {}) {
      const k = await api.json<RepositoryKeys>('GET', '/api/v1/repository', options)
      return must(typeof k?.repository?.publicKey === 'string' && typeof k?.capability?.publicKey === 'string', k, 'repository key answer')
    },
    async manifest (image, version, options = {}) {
      const res = await api.request('GET', `/api/v1/images/${encodeURIComponent(image)}/versions/${version}/manifest`, options)
      return new Uint8Array(await res.arrayBuffer())
    },
    async announce (body, options = {}) {
      const a = await api.json<AnnounceAnswer>('POST', '/api/v1/swarm/announce', { json: body, signal: options.signal })
      return must(Array.isArray(a?.peers) && typeof a?.origin?.originUrl === 'string' && Number.isInteger(a?.originShare?.of), a, 'announce answer')
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
