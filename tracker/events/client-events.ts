/**
 * The client-events service (see index.ts): limits keyed on the authenticated user (a
 * bucket in memory, a per-minute batch counter and a per-day event quota in the
 * database, so every tracker process on it counts the same), client ownership and the
 * per-user client cap, the clients registry, idempotent inserts with the site and host
 * stamped on each event, and the admins' query.
 */
import { MAX_CLIENT_ID_CHARS, eventTimeMs, parseDurationMs, parseTimeMs } from '../../protocol/index.ts'
import type { EventBatch, EventBatchAnswer, EventQuery } from '../../protocol/index.ts'
import { StoreError } from '../db/index.ts'
import type { EventRecord } from '../db/store.ts'
import type { Principal } from '../env.ts'
import { TrackerError, badRequest, forbidden } from '../errors.ts'
import type { Counter } from '../metrics.ts'
import { offloadDelta } from '../reports/index.ts'
import { clientStateFromEvents } from './client-state.ts'
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import { DAY_MS, EVENT_BODIES_IN_FLIGHT_PER_USER, INGEST_SLICE_EVENTS, EVENT_RATE_BURST, EVENT_RATE_MAX_BUCKETS, EVENT_RATE_PER_SEC, MAX_SITE_LABELS, MINUTE_MS } from './constants.ts'
import type { ClientEvents, ClientEventsComponents, ClientEventsInit } from './index.ts'
import { createRateLimiter } from './rate-limit.ts'
import { createRecentRefusals } from './recent-refusals.ts'
import type { RecentRefusals } from './recent-refusals.ts'
import type { RateLimiter } from './rate-limit.ts'
import { createSiteWireMetrics } from './site-wire-metrics.ts'
import type { SiteWireMetrics } from './site-wire-metrics.ts'

const CLIENT_ID_RE = new RegExp(`^[\\x21-\\x7e]{1,${MAX_CLIENT_ID_CHARS}}$`)
const BAD_CLIENT_ID = `client id must be 1–${MAX_CLIENT_ID_CHARS} printable ASCII characters`

/** A client that names no client id reports as its token. */
const tokenClient = (p: Principal): string => `token:${p.tokenId}`

export class ClientEventsService implements ClientEvents {
  private readonly components: ClientEventsComponents
  private readonly limiter: RateLimiter
  private readonly received: Counter
  private readonly siteWire: SiteWireMetrics
  private readonly batchesPerMinute: number
  private readonly eventsPerDay: number
  private readonly maxClientsPerUser: number
  /** event bodies in flight per user (bounded: an entry exists only while one is) */
  private readonly inFlight = new Map<string, number>()
  private readonly recent: RecentRefusals

  constructor (components: ClientEventsComponents, init: ClientEventsInit) {
    this.components = components
    this.limiter = createRateLimiter({ burst: init.burst ?? EVENT_RATE_BURST, perSec: init.perSec ?? EVENT_RATE_PER_SEC, maxKeys: init.maxBuckets ?? EVENT_RATE_MAX_BUCKETS })
    this.batchesPerMinute = init.batchesPerUserPerMinute ?? Infinity
    this.eventsPerDay = init.eventsPerUserPerDay ?? Infinity
    this.maxClientsPerUser = init.maxClientsPerUser ?? Infinity
    this.recent = createRecentRefusals(init.maxRecentRefusals ?? EVENT_RATE_MAX_BUCKETS)
    this.received = components.metrics.counter('branchcast_events_received_total', 'client events received, by outcome')
    this.siteWire = createSiteWireMetrics(components.metrics, { maxSites: init.maxSiteLabels ?? MAX_SITE_LABELS })
  }

  async start (): Promise<void> {}

  async stop (): Promise<void> {}

  refusedRecently (credential: string): number | undefined {
    return this.recent.retryAfterSeconds(credential, this.components.now())
  }

  async admit (principal: Principal, clientHeader: string | undefined, credential?: string): Promise<() => void> {
    try {
      return await this.admitOrThrow(principal, clientHeader)
    } catch (err) {
      this.remember(credential, err)
      throw err
    }
  }

  private async admitOrThrow (principal: Principal, clientHeader: string | undefined): Promise<() => void> {
    // Checked before anything is kept about the request: a 15 KB header costs nothing.
    if (clientHeader !== undefined && !CLIENT_ID_RE.test(clientHeader)) throw badRequest(BAD_CLIENT_ID)
    const user = principal.user
    const held = this.inFlight.get(user) ?? 0
    if (held >= EVENT_BODIES_IN_FLIGHT_PER_USER) throw this.refused(1, `at most ${EVENT_BODIES_IN_FLIGHT_PER_USER} event batches at a time per user`)
    this.inFlight.set(user, held + 1)
    let released = false
    const release = (): void => {
      if (released) return
      released = true
      const n = (this.inFlight.get(user) ?? 1) - 1
      if (n <= 0) this.inFlight.delete(user)
      else this.inFlight.set(user, n)
    }
    try {
      const nowMs = this.components.now()
      const d = this.limiter.take(user, nowMs)
      if (!d.ok) throw this.refused(d.retryAfterSeconds, 'too many event batches')
      if (this.batchesPerMinute !== Infinity) {
        const minute = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS
        const used = await this.components.store.addUsage(`event-batches:${user}`, minute, 1)
        if (used > this.batchesPerMinute) throw this.refused((minute + MINUTE_MS - nowMs) / 1000, `at most ${this.batchesPerMinute} event batches a minute per user`)
      }
      // What the header alone decides, decided before the body is read: another user's
      // client id, or a new one past the user's cap.
      if (clientHeader !== undefined) {
        const client = await this.components.store.getClient(clientHeader)
        if (client !== undefined && client.user !== user) throw forbidden('this client id is registered to another user')
        if (client === undefined && this.maxClientsPerUser !== Infinity && await this.components.store.countClients(user) >= this.maxClientsPerUser) {
          throw new StoreError('ERR_STORE_CLIENT_LIMIT', `user ${JSON.stringify(user)} already has ${this.maxClientsPerUser} clients`)
        }
      }
      return release
    } catch (err) {
      release()
      throw err
    }
  }

  async ingest (principal: Principal, batch: EventBatch, clientHeader: string | undefined, credential?: string): Promise<EventBatchAnswer> {
    try {
      return await this.ingestOrThrow(principal, batch, clientHeader)
    } catch (err) {
      this.remember(credential, err)
      throw err
    }
  }

  private async ingestOrThrow (principal: Principal, batch: EventBatch, clientHeader: string | undefined): Promise<EventBatchAnswer> {
    const { store, now } = this.components
    const nowMs = now()
    const user = principal.user
    const clientId = clientHeader ?? batch.clientId ?? tokenClient(principal)
    if (!CLIENT_ID_RE.test(clientId)) throw badRequest(BAD_CLIENT_ID)
    const info = batch.client
    const day = Math.floor(nowMs / DAY_MS) * DAY_MS
    let site = ''
    // One transaction: the daily quota (counted before storing: a refused batch still
    // counts, so a flood stays refused all day), the client row read and written, and the
    // first slice of events.
    const report = await store.recordReport({
      // The first user to report under a client id owns it (as with swarm peer ids); a new
      // id past the user's client cap is refused (ERR_STORE_CLIENT_LIMIT) before any event is stored.
      client: {
        id: clientId,
        user,
        hostname: info?.host,
        site: info?.site,
        os: info?.os,
        agentVersion: info?.nodeVersion,
        nowMs,
        maxClientsPerUser: this.maxClientsPerUser === Infinity ? undefined : this.maxClientsPerUser
      },
      quota: this.eventsPerDay === Infinity ? undefined : { key: `events:${user}`, windowStartMs: day, amount: batch.events.length, limit: this.eventsPerDay },
      contents: (client) => {
        if (client !== undefined && client.user !== user) throw forbidden('this client id is registered to another user')
        site = info?.site ?? client?.site ?? ''
        const host = info?.host ?? client?.hostname ?? ''
        const events = batch.events.map((e) => {
          const atMs = eventTimeMs(e.at)
          const image = typeof e.payload.image === 'string' ? e.payload.image : ''
          return { id: e.id.toLowerCase(), clientId, user, type: e.type, atMs, payload: e.payload, site, host, image, offload: offloadDelta({ type: e.type, atMs, payload: e.payload }, site) }
        })
        return { state: clientStateFromEvents(batch.events, client), events }
      },
      storeNow: INGEST_SLICE_EVENTS,
      receivedAtMs: nowMs
    })
    if (!report.stored) throw this.refused((day + DAY_MS - nowMs) / 1000, `daily quota of ${this.eventsPerDay} events per user reached`)
    const result = { inserted: report.inserted, duplicates: report.duplicates }
    for (let i = 0; i < report.pending.length; i += INGEST_SLICE_EVENTS) {
      await yieldToLoop()
      const r = await store.insertEvents(report.pending.slice(i, i + INGEST_SLICE_EVENTS), nowMs)
      result.inserted += r.inserted
      result.duplicates += r.duplicates
    }
    this.received.inc({ result: 'inserted' }, result.inserted)
    this.received.inc({ result: 'duplicate' }, result.duplicates)
    // A batch re-sent after a lost acknowledgement is all duplicates: counted once. (The
    // store does not say which events of a mixed batch were new, so those are skipped.)
    if (result.duplicates === 0) this.siteWire.record(site === '' ? undefined : site, batch.events)
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

  /** A credential refused for its rate is refused again, cheaply, until its retry-after. */
  private remember (credential: string | undefined, err: unknown): void {
    if (credential === undefined || !(err instanceof TrackerError) || err.code !== 'ERR_RATE_LIMITED' || err.retryAfterSeconds === undefined) return
    this.recent.note(credential, this.components.now() + err.retryAfterSeconds * 1000)
  }

  private refused (retryAfterSeconds: number, message: string): TrackerError {
    this.received.inc({ result: 'rate_limited' })
    return new TrackerError('ERR_RATE_LIMITED', message, { retryAfterSeconds })
  }
}
