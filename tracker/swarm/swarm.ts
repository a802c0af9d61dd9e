/**
 * The swarm registry service (see index.ts): announces and leaves over the database's
 * membership table, the answer's peers, capability and origin share, and the sweeper.
 */
import { WHOLE_SHARE, decodeHave, encodeHave, originShare, signCapability } from '../../protocol/index.ts'
import type { AnnounceAnswer, AnnounceRequest, BitfieldResult, LeaveRequest } from '../../protocol/index.ts'
import type { Principal } from '../env.ts'
import type { VersionRecord } from '../db/store.ts'
import { TrackerError, badRequest, forbidden, notFound } from '../errors.ts'
import type { Counter } from '../metrics.ts'
import { issueOriginAccess } from '../origin/index.ts'
import { ANNOUNCES_PER_TTL, MAX_PEERS_RETURNED, SIZE_REFRESH_MIN_INTERVAL_MS, SWARM_SWEEP_INTERVAL_MS } from './constants.ts'
import type { Swarm, SwarmComponents, SwarmInit } from './index.ts'
import { rankPeers } from './rank.ts'
import { ownAddresses, requirePeerRegistration } from './registration.ts'
import { createSwarmSweeper } from './sweeper.ts'
import type { SwarmSweeper } from './sweeper.ts'

const HAVE_PROBLEM: Record<Extract<BitfieldResult, { ok: false }>['problem'], (chunkCount: number) => string> = {
  'too-long': (chunkCount) => `longer than ceil(${chunkCount}/8) bytes`,
  'bits-past-end': () => 'bits set past the last chunk',
  'not-base64': () => 'not canonical base64'
}

export class SwarmRegistry implements Swarm {
  private readonly components: SwarmComponents
  private readonly ttlMs: number
  private readonly capabilityTtlMs: number
  private readonly sweeper: SwarmSweeper
  private readonly announces: Counter
  private running = false
  private lastRefreshMs = -Infinity

  constructor (components: SwarmComponents, init: SwarmInit) {
    this.components = components
    const { config, metrics } = components
    this.ttlMs = config.announceTtlSeconds * 1000
    this.capabilityTtlMs = config.capabilityTtlSeconds * 1000
    this.sweeper = createSwarmSweeper(components, { intervalMs: init.sweepIntervalMs ?? SWARM_SWEEP_INTERVAL_MS })
    this.announces = metrics.counter('branchcast_swarm_announces_total', 'swarm announces by result')
    metrics.gauge('branchcast_swarm_members', 'live swarm members per image version (refreshed by the sweeper)', () =>
      this.sweeper.sizes().map((s) => ({ labels: { image: s.image, version: String(s.version) }, value: s.members })))
  }

  async start (): Promise<void> {
    this.running = true
    this.sweeper.start()
    void this.sweeper.sweep().catch(() => {})
  }

  async stop (): Promise<void> {
    this.running = false
    this.sweeper.stop()
  }

  async announce (principal: Principal, request: AnnounceRequest): Promise<AnnounceAnswer> {
    const { store, keys, now } = this.components
    const ws = await this.components.policies.requireImageAccess(principal, request.image)
    // A pinned workspace delivers one version: the tracker does not swarm others for it (issue 11, finding 12).
    if (ws !== undefined && ws.policy.pinnedVersion !== null && request.version !== ws.policy.pinnedVersion) {
      throw forbidden(`the workspace policy pins version ${ws.policy.pinnedVersion}`)
    }
    const version = await this.publishedVersion(request.image, request.version)
    const have = decodeHave(request.have, version.chunkCount)
    if (!have.ok) {
      this.announces.inc({ result: 'bad_have' })
      throw badRequest(`have: ${HAVE_PROBLEM[have.problem](version.chunkCount)}`)
    }
    if (have.count !== request.haveCount) throw badRequest(`haveCount: ${request.haveCount} does not match the ${have.count} bits set in have`)

    // The peer id is the client id: registered with a proof of its key, bounded per user and site.
    const t = now()
    await requirePeerRegistration(this.components, principal, request, t, this.ttlMs)
    const addrs = ownAddresses(request.addrs, request.peerId)
    await store.upsertClient({
      id: request.peerId,
      user: principal.user,
      hostname: request.hostname,
      site: request.site,
      agentVersion: request.agentVersion,
      nowMs: t,
      maxClientsPerUser: this.components.config.maxClientsPerUser,
      ...(have.count === version.chunkCount
        ? { held: { image: request.image, version: request.version, policy: ws === undefined ? undefined : { name: ws.policy.name, updatedAtMs: ws.policy.updatedAtMs } } }
        : { pull: { image: request.image, version: request.version, permille: version.chunkCount === 0 ? 1000 : Math.floor(have.count * 1000 / version.chunkCount) } })
    })

    const policy = ws?.policy
    const answer: AnnounceAnswer = {
      peers: [],
      originShare: WHOLE_SHARE,
      origin: issueOriginAccess(this.components, { clientId: request.peerId, image: request.image, rateBytesPerSec: policy?.originRateBytesPerSec }),
      limits: { originRateBytesPerSec: policy?.originRateBytesPerSec ?? null, downloadWindow: policy?.downloadWindow ?? null },
      announceIntervalMs: Math.floor(this.ttlMs / ANNOUNCES_PER_TTL)
    }

    if (!(policy?.p2pAllowed ?? true)) {
      // Not a member: others must not count on it for a share or be sent to it for chunks.
      await store.removeMember(request.image, request.version, request.peerId)
      answer.reason = 'peer-to-peer sharing is not allowed by the workspace policy'
      this.announces.inc({ result: 'p2p_denied' })
      return answer
    }

    await store.upsertMember({
      image: request.image,
      version: request.version,
      peerId: request.peerId,
      clientId: request.peerId,
      site: request.site,
      addrs,
      have: have.bits,
      haveCount: have.count,
      nowMs: t,
      ttlMs: this.ttlMs
    })
    const [site, candidates] = await Promise.all([
      store.siteMembers(request.image, request.version, request.site, t),
      store.membersFor(request.image, request.version, { excludePeerId: request.peerId, site: request.site, nowMs: t, limit: MAX_PEERS_RETURNED })
    ])
    answer.originShare = originShare(site, request.peerId, version.chunkCount)
    answer.peers = rankPeers(candidates, { self: request.peerId, site: request.site, max: MAX_PEERS_RETURNED })
      .map((m) => ({ peerId: m.peerId, addrs: m.addrs, site: m.site, haveCount: m.haveCount, have: encodeHave(m.have) }))
    answer.capability = signCapability({ aud: 'peer', sub: request.peerId, img: request.image, iat: t, exp: t + this.capabilityTtlMs }, keys.capability.privateKey)
    answer.capabilityExpiresAtMs = t + this.capabilityTtlMs
    this.announces.inc({ result: 'ok' })
    this.refreshSizesSoon(t)
    return answer
  }

  async leave (principal: Principal, request: LeaveRequest): Promise<boolean> {
    if (!principal.admin) await this.components.identity.requireClientOwner(request.peerId, principal.user, 'peer id')
    const removed = await this.components.store.removeMember(request.image, request.version, request.peerId)
    if (removed) this.refreshSizesSoon(this.components.now())
    return removed
  }

  /** The published version an announce names; 404 / 409 otherwise. */
  private async publishedVersion (imageName: string, number: number): Promise<VersionRecord> {
    const { store } = this.components
    const image = await store.getImage(imageName)
    if (image === undefined) throw notFound('no such image') // only admins get here for unknown names
    const version = await store.getVersion(image.id, number)
    if (version === undefined) throw notFound(`image ${imageName} has no version ${number}`)
    if (version.state !== 'published') throw new TrackerError('ERR_VERSION_NOT_PUBLISHED', `version ${number} is ${version.state}, not published`)
    return version
  }

  /** After announces and leaves, refresh the gauge soon rather than only at the next sweep. */
  private refreshSizesSoon (t: number): void {
    if (t - this.lastRefreshMs < SIZE_REFRESH_MIN_INTERVAL_MS || !this.running || this.components.shutdown.aborted) return
    this.lastRefreshMs = t
    this.sweeper.sweep().catch(() => {})
  }
}
