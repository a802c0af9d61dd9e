/**
 * The client-events service (see index.ts): per (user, client) token buckets in memory,
 * client ownership, idempotent inserts, and the admins' query.
 */
import { MAX_CLIENT_ID_CHARS, eventTimeMs, parseDurationMs, parseTimeMs } from '../../protocol/index.ts'
import type { EventBatch, EventBatchAnswer, EventQuery } from '../../protocol/index.ts'
import type { EventRecord } from '../db/store.ts'
import type { Principal } from '../env.ts'
import { badRequest, forbidden, rateLimited } from '../errors.ts'
import type { Counter } from '../metrics.ts'
import { EVENT_RATE_BURST, EVENT_RATE_MAX_BUCKETS, EVENT_RATE_PER_SEC, MAX_SITE_LABELS } from './constants.ts'
import type { ClientEvents, ClientEventsComponents, ClientEventsInit } from './index.ts'
import { createRateLimiter } from './rate-limit.ts'
import type { RateLimiter } from './rate-limit.ts'
import { createSiteWireMetrics } from './site-wire-metrics.ts'
import type { SiteWireMetrics } from './site-wire-metrics.ts'

const CLIENT_ID_RE = new RegExp(`^[\\x21-\\x7e]{1,${MAX_CLIENT_ID_CHARS}}$`)

/** A client that names no client id reports as its token. */
const tokenClient = (p: Principal): string => `token:${p.tokenId}`

export class ClientEventsService implements ClientEvents {
  private readonly components: ClientEventsComponents
  private readonly limiter: RateLimiter
  private readonly received: Counter
  private readonly siteWire: SiteWireMetrics

  constructor (components: ClientEventsComponents, init: ClientEventsInit) {
    this.components = components
    this.limiter = createRateLimiter({ burst: init.burst ?? EVENT_RATE_BURST, perSec: init.perSec ?? EVENT_RATE_PER_SEC, maxKeys: init.maxBuckets ?? EVENT_RATE_MAX_BUCKETS })
    this.received = components.metrics.counter('branchcast_events_received_total', 'client events received, by outcome')
    this.siteWire = createSiteWireMetrics(components.metrics, { maxSites: init.maxSiteLabels ?? MAX_SITE_LABELS })
  }

  async start (): Promise<void> {}

  async stop (): Promise<void> {}

  admit (principal: Principal, clientHeader: string | undefined): void {
    const d = this.limiter.take(`${principal.user}\n${clientHeader ?? tokenClient(principal)}`, this.components.now())
    if (d.ok) return
    this.received.inc({ result: 'rate_limited' })
    throw rateLimited(d.retryAfterSeconds)
  }

  async ingest (principal: Principal, batch: EventBatch, clientHeader: string | undefined): Promise<EventBatchAnswer> {
    const { store, now } = this.components
    const clientId = clientHeader ?? batch.clientId ?? tokenClient(principal)
    if (!CLIENT_ID_RE.test(clientId)) throw badRequest(`client id must be 1–${MAX_CLIENT_ID_CHARS} printable ASCII characters`)
    const client = await store.getClient(clientId)
    if (client !== undefined && client.user !== principal.user) throw forbidden('this client id is registered to another user')
    // The first user to report under a client id owns it (as with swarm peer ids); later
    // reports refresh its last-seen time and keep what announces recorded about it.
    await store.upsertClient({ id: clientId, user: principal.user, hostname: client?.hostname, site: client?.site, agentVersion: client?.agentVersion, nowMs: now() })
    const result = await store.insertEvents(batch.events.map((e) => ({
      id: e.id.toLowerCase(),
      clientId,
      user: principal.user,
      type: e.type,
      atMs: eventTimeMs(e.at),
      payload: e.payload
    })), now())
    this.received.inc({ result: 'inserted' }, result.inserted)
    this.received.inc({ result: 'duplicate' }, result.duplicates)
    // A batch re-sent after a lost acknowledgement is all duplicates: counted once. (The
    // store does not say which events of a mixed batch were new, so those are skipped.)
    if (result.duplicates === 0) this.siteWire.record(client?.site, batch.events)
    return result
  }

  async query (q: EventQuery): Promise<EventRecord[]> {
    let fromMs = q.from === undefined ? undefined : parseTimeMs(q.from)
    if (q.since !== undefined) {
      const sinceMs = this.components.now() - parseDurationMs(q.since)
      fromMs = fromMs === undefined ? sinceMs : Math.max(fromMs, sinceMs)
    }
    return await this.components.store.queryEvents({
      type: q.type,
      clientId: q.client,
      user: q.user,
      fromMs,
      toMs: q.to === undefined ? undefined : parseTimeMs(q.to),
      limit: q.limit,
      order: q.order
    })
  }
}
