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
import { createRoute } from '@hono/zod-openapi'
import type { OpenAPIHono } from '@hono/zod-openapi'
import { bodyLimit } from 'hono/body-limit'
import {
  AnnounceAnswerSchema, AnnounceBodySchema, LeaveAnswerSchema, LeaveBodySchema, MAX_ANNOUNCE_BODY_BYTES, MAX_LEAVE_BODY_BYTES,
  WHOLE_SHARE, decodeHave, encodeHave, originShare, signCapability
} from '../../protocol/index.ts'
import type { AnnounceAnswer } from '../../protocol/index.ts'
import { errorResponse, newRouter } from './router.ts'
import type { TrackerComponents, TrackerEnv } from '../env.ts'
import { requireImageAccess } from '../access.ts'
import { issueOriginAccess } from '../origin/index.ts'
import { TrackerError, badRequest, forbidden, notFound, payloadTooLarge } from '../errors.ts'
import { createSwarmSweeper, rankPeers } from '../swarm/index.ts'
import { ANNOUNCES_PER_TTL, MAX_PEERS_RETURNED, SWARM_SWEEP_INTERVAL_MS } from '../constants.ts'

const errors = {
  400: errorResponse('malformed body'),
  401: errorResponse('no valid API token'),
  403: errorResponse('image not assigned to the caller, or the peer id belongs to another user')
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
  request: { body: { content: { 'application/json': { schema: AnnounceBodySchema } }, required: true } },
  responses: {
    200: { description: 'peers, capabilities and origin share', content: { 'application/json': { schema: AnnounceAnswerSchema } } },
    ...errors,
    404: errorResponse('no such image version'),
    409: errorResponse('the version is not published'),
    413: errorResponse('body too large')
  }
})

const leaveRoute = createRoute({
  method: 'post',
  path: '/leave',
  summary: 'Leave the swarm of an image version',
  middleware: [bodyLimit({ maxSize: MAX_LEAVE_BODY_BYTES, onError: () => { throw payloadTooLarge(`leave body is over ${MAX_LEAVE_BODY_BYTES} bytes`) } })] as const,
  request: { body: { content: { 'application/json': { schema: LeaveBodySchema } }, required: true } },
  responses: {
    200: { description: 'whether a membership was removed', content: { 'application/json': { schema: LeaveAnswerSchema } } },
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
    const answer: AnnounceAnswer = {
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
