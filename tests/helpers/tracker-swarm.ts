/**
 * Swarm test fixtures: a published image version made straight in a tracker's store (no
 * upload needed to test announces), fresh libp2p peer ids, announce bodies, and a small
 * JSON-over-HTTP caller.
 */
import { randomBytes, createHash } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { signPeerProof } from '../../protocol/swarm/peer-proof.ts'
import { bitfieldBytes, encodeHave, setBit } from '../../protocol/swarm/bitfield.ts'
import type { TrackerStore } from '../../tracker/db/store.ts'

export interface FakeVersion { imageId: number, versionId: number, number: number }

/** An image (created if absent) with one published version of `chunkCount` chunks. */
export async function publishFakeVersion (store: TrackerStore, opts: { image: string, chunkCount: number, nowMs: number }): Promise<FakeVersion> {
  const image = await store.getImage(opts.image) ?? await store.createImage({ name: opts.image, nowMs: opts.nowMs })
  const draft = await store.createDraft({ imageId: image.id, createdBy: 'test', nowMs: opts.nowMs })
  const root = new Uint8Array(randomBytes(64))
  await store.finalizeDraft(draft.id, {
    manifestRoot: root,
    manifestId: createHash('sha256').update(root).digest('hex'),
    totalBytes: opts.chunkCount * 65536,
    chunkCount: opts.chunkCount,
    newBytes: 0
  })
  const v = await store.publish(draft.id, opts.nowMs)
  return { imageId: image.id, versionId: v.id, number: v.number }
}

/** Assigns `image` to `user` through a fresh policy (p2p allowed unless said otherwise). */
export async function assignImage (store: TrackerStore, opts: { image: string, user: string, nowMs: number, p2pAllowed?: boolean, originRateBytesPerSec?: number | null }): Promise<void> {
  const policy = await store.createPolicy({
    name: `${opts.image}-${opts.user}-${randomBytes(4).toString('hex')}`,
    imageName: opts.image,
    nowMs: opts.nowMs,
    p2pAllowed: opts.p2pAllowed ?? true,
    originRateBytesPerSec: opts.originRateBytesPerSec ?? null
  })
  await store.assign({ policyId: policy.id, subjectKind: 'user', subject: opts.user, nowMs: opts.nowMs })
}

/** Keys of the peer ids `newPeerId` made, so announces can prove them (`withProof`). */
const peerKeys = new Map<string, PrivateKey>()

export async function newPeerId (): Promise<string> {
  const key = await generateKeyPair('Ed25519')
  const id = peerIdFromPrivateKey(key).toString()
  peerKeys.set(id, key)
  return id
}

/**
 * An announce body with the proof its peer id's key signs at `atMs` (the tracker's clock),
 * when `newPeerId` made the id and the body carries no proof yet; otherwise `json` as is.
 */
export async function withProof (json: unknown, atMs: number): Promise<unknown> {
  const body = json as { peerId?: unknown, proof?: unknown } | undefined
  const key = typeof body?.peerId === 'string' ? peerKeys.get(body.peerId) : undefined
  if (key === undefined || body === undefined || body.proof !== undefined) return json
  return { ...body, proof: await signPeerProof(key, body.peerId as string, atMs) }
}

/** A bitfield of `chunkCount` bits with the given indexes set, base64. */
export function haveOf (chunkCount: number, indexes: readonly number[]): { have: string, haveCount: number } {
  const bits = new Uint8Array(bitfieldBytes(chunkCount))
  for (const i of indexes) setBit(bits, i)
  return { have: encodeHave(bits), haveCount: new Set(indexes).size }
}

export interface CallResult<T = any> { status: number, body: T, headers: Headers }

/** One JSON request; `token` undefined sends none. */
export async function call<T = any> (url: string, method: string, path: string, opts: { token?: string, json?: unknown, body?: string, headers?: Record<string, string> } = {}): Promise<CallResult<T>> {
  const headers: Record<string, string> = { ...opts.headers }
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`
  let body = opts.body
  if (opts.json !== undefined) body = JSON.stringify(opts.json)
  if (body !== undefined) headers['content-type'] ??= 'application/json'
  const res = await fetch(url + path, { method, headers, body })
  const text = await res.text()
  let parsed: unknown = text
  try { parsed = JSON.parse(text) } catch {}
  return { status: res.status, body: parsed as T, headers: res.headers }
}
