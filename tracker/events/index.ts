/**
 * Client events: ingest of the batches nodes report — rate-limited and capped per user
 * (never per a header the caller picks), each event stored once by its id, always under
 * the reporting token's user and stamped with the client's site and host, the client id
 * owned by the first user to report with it (at most `maxClientsPerUser` per user) and
 * kept in the clients registry — the admins' query over what was stored, and the
 * retention pruner (`pruner.ts`).
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
  /** batches a user may post at once, per process (default `EVENT_RATE_BURST`) */
  burst?: number
  /** sustained batches per second per user, per process (default `EVENT_RATE_PER_SEC`) */
  perSec?: number
  /** batches per user per minute, counted in the database across processes (default: no limit) */
  batchesPerUserPerMinute?: number
  /** events per user per UTC day, counted in the database across processes (default: no quota) */
  eventsPerUserPerDay?: number
  /** client ids one user may register (default: no cap) */
  maxClientsPerUser?: number
  /** rate buckets kept in memory (default `EVENT_RATE_MAX_BUCKETS`) */
  maxBuckets?: number
  /** distinct site labels in the per-site wire metrics (default `MAX_SITE_LABELS`) */
  maxSiteLabels?: number
  /** credentials remembered as just refused (default `EVENT_RATE_MAX_BUCKETS`; see recent-refusals.ts) */
  maxRecentRefusals?: number
}

export interface ClientEvents {
  start: () => Promise<void>
  stop: () => Promise<void>
  /**
   * Checks the client header (ERR_BAD_REQUEST), holds one of the user's in-flight batch
   * slots, takes one batch from the user's bucket and per-minute counter, and refuses a
   * client id the header alone rules out (ERR_FORBIDDEN, ERR_STORE_CLIENT_LIMIT) — call it
   * before the body is read, and call the function it returns once the batch is answered.
   * ERR_RATE_LIMITED with `retryAfterSeconds` once a slot, the bucket or the counter is spent;
   * `credential` (`credentialKey` of the authorization header) is then remembered as refused
   * until that time (`refusedRecently`).
   */
  admit: (principal: Principal, clientHeader: string | undefined, credential?: string) => Promise<() => void>
  /**
   * Stores a batch under the principal's user and the client id of `clientHeader`, else the
   * batch's `clientId`, else the token. ERR_BAD_REQUEST for a malformed client id,
   * ERR_FORBIDDEN for one registered to another user, ERR_STORE_CLIENT_LIMIT for a new one
   * past the user's cap, ERR_RATE_LIMITED past the user's daily quota (remembered for
   * `credential` as in `admit`).
   */
  ingest: (principal: Principal, batch: EventBatch, clientHeader: string | undefined, credential?: string) => Promise<EventBatchAnswer>
  /**
   * Seconds until a credential refused for its rate may post again, or undefined: what the
   * HTTP guard answers with 429 before the request reaches the app.
   */
  refusedRecently: (credential: string) => number | undefined
  /** Stored events matching every filter given; `since` is a duration back from now. */
  query: (query: EventQuery) => Promise<EventRecord[]>
}

export function createClientEvents (components: ClientEventsComponents, init: ClientEventsInit = {}): ClientEvents {
  return new ClientEventsService(components, init)
}

export { createEventPruner } from './pruner.ts'
export { credentialKey } from './recent-refusals.ts'
export type { EventPruner, EventPrunerComponents, EventPrunerInit, PruneResult } from './pruner.ts'
export { clientStateFromEvents } from './client-state.ts'
