/**
 * A tracker for the demo and the self-test: started in this process on the embedded
 * defaults (SQLite, built-in origin) in a given directory, with API tokens minted in its
 * store; and the admin steps every deployment starts with, done over the HTTP API:
 * publish an image, create a policy, assign it.
 */
import { createApiClient, createLogger } from '../protocol/index.ts'
import type { ApiClient, UploadResult } from '../protocol/index.ts'
import { loadTrackerConfig } from '../tracker/index.ts'
import { startTracker } from '../tracker/index.ts'
import { mintApiToken } from '../tracker/index.ts'
import { sampleImageStream } from './sample-image.ts'

export interface LocalTracker {
  url: string
  adminToken: string
  tokenFor: (user: string, opts?: { admin?: boolean, label?: string }) => Promise<string>
  stop: () => Promise<void>
}

export async function startLocalTracker (dataDir: string, opts: { port?: number, logLevel?: 'info' | 'warn' | 'error' | 'silent' } = {}): Promise<LocalTracker> {
  const config = loadTrackerConfig({ flags: { dataDir, port: opts.port ?? 0, logLevel: opts.logLevel ?? 'warn' }, env: {} })
  const tracker = await startTracker(config, { logger: createLogger({ level: opts.logLevel ?? 'warn' }, 'tracker') })
  const store = tracker.components.store
  async function tokenFor (user: string, t: { admin?: boolean, label?: string } = {}): Promise<string> {
    return (await mintApiToken(store, { user, groups: [], isAdmin: t.admin ?? false, kind: 'user', label: t.label ?? 'demo', expiresAtMs: null, nowMs: Date.now() })).token
  }
  const adminToken = await tokenFor('admin', { admin: true, label: 'demo admin' })
  return { url: tracker.url, adminToken, tokenFor, stop: async () => await tracker.stop({ graceMs: 1000 }) }
}

export interface PublishedSample {
  image: string
  version: number
  sha256: string
  totalBytes: number
  chunkCount: number
  durationMs: number
}

/** Creates the image if needed and uploads a sample version, published. */
export async function publishSample (admin: ApiClient, opts: { image: string, sizeBytes: number, seed?: number }): Promise<PublishedSample> {
  await admin.request('POST', '/api/v1/images', { json: { name: opts.image, description: 'generated sample image' } })
    .catch((err: { status?: number }) => { if (err.status !== 409) throw err })
  const up = await admin.json<UploadResult>('POST', `/api/v1/images/${opts.image}/versions`, {
    query: { publish: true },
    body: sampleImageStream(opts.sizeBytes, opts.seed),
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(opts.sizeBytes) }
  })
  return { image: opts.image, version: up.version, sha256: up.imageSha256, totalBytes: up.totalBytes, chunkCount: up.chunkCount, durationMs: up.durationMs }
}

/** A policy for `image` (peers allowed) assigned to `user`. */
export async function assignImage (admin: ApiClient, opts: { image: string, user: string, policy?: string }): Promise<void> {
  const policy = opts.policy ?? `${opts.image}-${opts.user}`
  await admin.request('POST', '/api/v1/policies', { json: { name: policy, image: opts.image, p2pAllowed: true } })
    .catch((err: { status?: number }) => { if (err.status !== 409) throw err })
  await admin.request('POST', '/api/v1/assignments', { json: { policy, user: opts.user } })
    .catch((err: { status?: number }) => { if (err.status !== 409) throw err })
}

export function adminClient (url: string, token: string): ApiClient {
  return createApiClient({ baseUrl: url, token })
}
