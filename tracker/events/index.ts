/**
 * Client events: ingest of the batches nodes report — rate-limited per (user, client),
 * each event stored once by its id, always under the reporting token's user, the client id
 * owned by the first user to report with it — and the admins' query over what was stored.
 *
 * Shaped like a libp2p service: `Init` options, `Components` dependencies, a factory that
 * reads options once, `start()` / `stop()`. Throws `TrackerError`s, never HTTP.
 */
import type { EventBatch, EventBatchAnswer, EventQuery } from '../../protocol/index.ts'
import type { EventRecord } from '../db/store.ts'
import type { Principal, TrackerComponents } from '../env.ts'
import { ClientEventsService } from './client-events.ts'

export type ClientEventsComponents = Pick<TrackerComponents, 'store' | 'now' | 'metrics'>

export interface ClientEventsInit {
  /** batches a (user, client) may post at once (default `EVENT_RATE_BURST`) */
  burst?: number
  /** sustained batches per second per (user, client) (default `EVENT_RATE_PER_SEC`) */
  perSec?: number
  /** rate buckets kept in memory (default `EVENT_RATE_MAX_BUCKETS`) */
  maxBuckets?: number
  /** distinct site labels in the per-site wire metrics (default `MAX_SITE_LABELS`) */
  maxSiteLabels?: number
}

export interface ClientEvents {
  start: () => Promise<void>
  stop: () => Promise<void>
  /**
   * Takes one batch from the bucket of (user, `clientHeader` or the token) — call it before
   * the body is read. ERR_RATE_LIMITED with `retryAfterSeconds` once the burst is spent.
   */
  admit: (principal: Principal, clientHeader: string | undefined) => void
  /**
   * Stores a batch under the principal's user and the client id of `clientHeader`, else the
   * batch's `clientId`, else the token. ERR_BAD_REQUEST for a malformed client id,
   * ERR_FORBIDDEN for one registered to another user.
   */
  ingest: (principal: Principal, batch: EventBatch, clientHeader: string | undefined) => Promise<EventBatchAnswer>
  /** Stored events matching every filter given; `since` is a duration back from now. */
  query: (query: EventQuery) => Promise<EventRecord[]>
}

export function createClientEvents (components: ClientEventsComponents, init: ClientEventsInit = {}): ClientEvents {
  return new ClientEventsService(components, init)
}
