/**
 * The swarm API: nodes announce what they hold of an image version and get back peers
 * (same site first), a peer capability bound to their libp2p peer id, their share of the
 * site's origin work, origin access and the transfer limits of their policy.
 *
 * Who may call: any authenticated user, for an image they may access (`requireImageAccess`;
 * admins for any image). A peer id belongs to the first user who announced it: another
 * user announcing or leaving with it gets 403, so nobody can overwrite someone else's
 * addresses or drop them from the swarm.
 *
 * All state is in the database, so several tracker processes on one database serve one
 * swarm. A sweeper (started here, stopped when the tracker stops) deletes lapsed
 * memberships and refreshes the swarm-size gauge; reads filter by time anyway.
 */
import { createRoute, z } from '@hono/zod-openapi'
import type { OpenAPIHono } from '@hono/zod-openapi'
import { bodyLimit } from 'hono/body-limit'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { WHOLE_SHARE, decodeHave, encodeHave, originShare, signCapability } from '../../protocol/index.ts'
import { newRouter } from './router.ts'
import type { TrackerComponents, TrackerEnv } from '../env.ts'
import { requireImageAccess } from '../access.ts'
import { issueOriginAccess } from '../origin/index.ts'
import { TrackerError, badRequest, forbidden, notFound, payloadTooLarge } from '../errors.ts'
import { createSwarmSweeper, rankPeers } from '../swarm/index.ts'
import {
  ANNOUNCES_PER_TTL, MAX_ANNOUNCE_ADDRS, MAX_ANNOUNCE_BODY_BYTES, MAX_MULTIADDR_CHARS, MAX_PEERS_RETURNED, SWARM_SWEEP_INTERVAL_MS
} from '../constants.ts'

/** base58btc peer ids (Ed25519 `12D3KooW…`, RSA `Qm…`, secp256k1 `16Uiu2…`) or a CIDv1 (`b…`). */
const PEER_ID_SHAPE = /^(?:[1-9A-HJ-NP-Za-km-z]{46,60}|b[a-z2-7]{50,70})$/

function isPeerId (s: string): boolean {
  if (!PEER_ID_SHAPE.test(s)) return false
  try {
    peerIdFromString(s)
    return true
  } catch {
    return false
  }
}

function isMultiaddr (s: string): boolean {
  try {
    multiaddr(s)
    return true
  } catch {
    return false
  }
}

const ImageName = z.string().min(1).max(200)
const PeerId = z.string().max(128).refine(isPeerId, 'not a libp2p peer id')
/** Sites are short printable names chosen by admins or derived from the branch network. */
const Site = z.string().min(1).max(100).regex(/^[\x21-\x7e]+$/, 'site must be printable ASCII without spaces')

const AnnounceBody = z.object({
  image: ImageName,
  version: z.number().int().min(1),
  peerId: PeerId,
  site: Site,
  addrs: z.array(z.string().min(1).max(MAX_MULTIADDR_CHARS).refine(isMultiaddr, 'not a multiaddr')).max(MAX_ANNOUNCE_ADDRS),
  /** base64 bitfield over chunk indexes, at most ceil(chunkCount/8) bytes */
  have: z.string().max(MAX_ANNOUNCE_BODY_BYTES),
  haveCount: z.number().int().min(0),
  hostname: z.string().max(255).optional(),
  agentVersion: z.string().max(64).optional()
}).openapi('SwarmAnnounce')

const Peer = z.object({
  peerId: z.string(),
  addrs: z.array(z.string()),
  site: z.string(),
  haveCount: z.number().int(),
  have: z.string()
})

const AnnounceAnswer = z.object({
  peers: z.array(Peer),
  /** `aud: 'peer'` capability bound to the announcing peer id; absent when p2p is not allowed */
  capability: z.string().optional(),
  capabilityExpiresAtMs: z.number().int().optional(),
  /** why there are no peers and no capability */
  reason: z.string().optional(),
  /** fetch from the origin the chunks whose index ≡ index (mod of) */
  originShare: z.object({ index: z.number().int(), of: z.number().int() }),
  /** origin access bound to the peer id (a capability for the built-in origin, or a signed-URL query for nginx/IIS) */
  origin: z.object({
    token: z.string(),
    expiresAtMs: z.number().int(),
    originUrl: z.string(),
    kind: z.enum(['builtin', 'nginx']),
    query: z.record(z.string(), z.string()).optional()
  }),
  limits: z.object({
    originRateBytesPerSec: z.number().int().nullable(),
    downloadWindow: z.object({ startMinute: z.number().int(), endMinute: z.number().int() }).nullable()
  }),
  announceIntervalMs: z.number().int()
}).openapi('SwarmAnnounceAnswer')

const LeaveBody = z.object({ image: ImageName, version: z.number().int().min(1), peerId: PeerId })

const ErrorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) })
const errors = {
  400: { description: 'malformed body', content: { 'application/json': { schema: ErrorBody } } },
  401: { description: 'no valid API token', content: { 'application/json': { schema: ErrorBody } } },
  403: { description: 'image not assigned to the caller, or the peer id belongs to another user', content: { 'application/json': { schema: ErrorBody } } }
}

/**
 * 413 before the body is read: the rest of it is still on the wire, so the connection is
 * closed rather than reused (a keep-alive client would otherwise see its next request fail).
 */

const capped = bodyLimit({ maxSize: MAX_ANNOUNCE_BODY_BYTES, onError: () => { throw payloadTooLarge(`announce body is over ${MAX_ANNOUNCE_BODY_BYTES} bytes`) } })

const announceRoute = createRoute({
  method: 'post',
  path: '/announce',
  summary: 'Announce held chunks of an image version; get peers, capability and origin share',
  middleware: [capped] as const,
  request: { body: { content: { 'application/json': { schema: AnnounceBody } }, required: true } },
  responses: {
    200: { description: 'peers, capabilities and origin share', content: { 'application/json': { schema: AnnounceAnswer } } },
    ...errors,
    404: { description: 'no such image version', content: { 'application/json': { schema: ErrorBody } } },
    409: { description: 'the version is not published', content: { 'application/json': { schema: ErrorBody } } },
    413: { description: 'body too large', content: { 'application/json': { schema: ErrorBody } } }
  }
})

const leaveRoute = createRoute({
  method: 'post',
  path: '/leave',
  summary: 'Leave the swarm of an image version',
  middleware: [bodyLimit({ maxSize: 4096, onError: () => { throw payloadTooLarge('leave body is over 4096 bytes') } })] as const,
  request: { body: { content: { 'application/json': { schema: LeaveBody } }, required: true } },
  responses: {
    200: { description: 'whether a membership was removed', content: { 'application/json': { schema: z.object({ removed: z.boolean() }) } } },
    ...errors
  }
})

export function swarmRoutes (components: TrackerComponents): OpenAPIHono<TrackerEnv> {
  const { store, keys, metrics, now, config } = components
  const app = newRouter()
  const announces = metrics.counter('branchcast_swarm_announces_total', 'swarm announces by result')
  const sweeper = createSwarmSweeper(components, { intervalMs: SWARM_SWEEP_INTERVAL_MS })
  metrics.gauge('branchcast_swarm_members', 'live swarm members per image version (refreshed by the sweeper)', () =>
    sweeper.sizes().map((s) => ({ labels: { image: s.image, version: String(s.version) }, value: s.members })))
  sweeper.start()
  void sweeper.sweep().catch(() => {})
  components.shutdown.addEventListener('abort', () => sweeper.stop(), { once: true })
  // After announces, refresh the gauge soon rather than only at the next sweep.
  let lastRefreshMs = -Infinity
  function refreshSizesSoon (t: number): void {
    if (t - lastRefreshMs < 1000 || components.shutdown.aborted) return
    lastRefreshMs = t
    sweeper.sweep().catch(() => {})
  }

  const ttlMs = config.announceTtlSeconds * 1000
  const capabilityTtlMs = config.capabilityTtlSeconds * 1000

  /** The peer id is the client id; it stays with the user who first announced it. */
  async function requirePeerOwner (peerId: string, user: string): Promise<void> {
    const existing = await store.getClient(peerId)
    if (existing !== undefined && existing.user !== user) throw forbidden('this peer id is registered to another user')
  }

  app.openapi(announceRoute, async (c) => {
    const principal = c.get('principal')
    const body = c.req.valid('json')
    const ws = await requireImageAccess(components, principal, body.image)
    const image = await store.getImage(body.image)
    if (image === undefined) throw notFound('no such image') // only admins get here for unknown names
    const version = await store.getVersion(image.id, body.version)
    if (version === undefined) throw notFound(`image ${body.image} has no version ${body.version}`)
    if (version.state !== 'published') throw new TrackerError('ERR_VERSION_NOT_PUBLISHED', `version ${body.version} is ${version.state}, not published`)

    const have = decodeHave(body.have, version.chunkCount)
    if (!have.ok) {
      announces.inc({ result: 'bad_have' })
      throw badRequest(`have: ${have.problem === 'too-long' ? `longer than ceil(${version.chunkCount}/8) bytes` : have.problem === 'bits-past-end' ? 'bits set past the last chunk' : 'not canonical base64'}`)
    }
    if (have.count !== body.haveCount) throw badRequest(`haveCount: ${body.haveCount} does not match the ${have.count} bits set in have`)

    await requirePeerOwner(body.peerId, principal.user)
    const t = now()
    await store.upsertClient({ id: body.peerId, user: principal.user, hostname: body.hostname, site: body.site, agentVersion: body.agentVersion, nowMs: t })

    const policy = ws?.policy
    const p2pAllowed = policy?.p2pAllowed ?? true
    const answer: z.infer<typeof AnnounceAnswer> = {
      peers: [],
      originShare: WHOLE_SHARE,
      origin: issueOriginAccess(components, { clientId: body.peerId, image: body.image }),
      limits: { originRateBytesPerSec: policy?.originRateBytesPerSec ?? null, downloadWindow: policy?.downloadWindow ?? null },
      announceIntervalMs: Math.floor(ttlMs / ANNOUNCES_PER_TTL)
    }

    if (!p2pAllowed) {
      // Not a member: others must not count on it for a share or be sent to it for chunks.
      await store.removeMember(body.image, body.version, body.peerId)
      answer.reason = 'peer-to-peer sharing is not allowed by the workspace policy'
      announces.inc({ result: 'p2p_denied' })
      return c.json(answer, 200)
    }

    await store.upsertMember({
      image: body.image,
      version: body.version,
      peerId: body.peerId,
      clientId: body.peerId,
      site: body.site,
      addrs: body.addrs,
      have: have.bits,
      haveCount: have.count,
      nowMs: t,
      ttlMs
    })
    const [site, candidates] = await Promise.all([
      store.siteMembers(body.image, body.version, body.site, t),
      store.membersFor(body.image, body.version, { excludePeerId: body.peerId, site: body.site, nowMs: t, limit: MAX_PEERS_RETURNED })
    ])
    answer.originShare = originShare(site, body.peerId)
    answer.peers = rankPeers(candidates, { self: body.peerId, site: body.site, max: MAX_PEERS_RETURNED })
      .map((m) => ({ peerId: m.peerId, addrs: m.addrs, site: m.site, haveCount: m.haveCount, have: encodeHave(m.have) }))
    answer.capability = signCapability({ aud: 'peer', sub: body.peerId, img: body.image, iat: t, exp: t + capabilityTtlMs }, keys.capability.privateKey)
    answer.capabilityExpiresAtMs = t + capabilityTtlMs
    announces.inc({ result: 'ok' })
    refreshSizesSoon(t)
    return c.json(answer, 200)
  })

  app.openapi(leaveRoute, async (c) => {
    const principal = c.get('principal')
    const body = c.req.valid('json')
    if (!principal.admin) await requirePeerOwner(body.peerId, principal.user)
    const removed = await store.removeMember(body.image, body.version, body.peerId)
    if (removed) refreshSizesSoon(now())
    return c.json({ removed }, 200)
  })

  return app
}
