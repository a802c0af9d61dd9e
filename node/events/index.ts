/**
 * The durable event reporter: events are appended to a queue on disk (one fsynced file per
 * event under `<dataDir>/events/`), posted to the tracker in batches with the node's peer
 * id as client id, retried with backoff while it is unreachable, and deleted only once the
 * tracker acknowledged them. Each event has a UUID from its creation, so a batch re-sent
 * after a lost acknowledgement is stored once.
 */
import type { ClientEvent, ClientInfo } from '../../protocol/index.ts'
import type { Logger } from '../../protocol/index.ts'
import type { TrackerClient } from '../tracker-client.ts'
import { DurableEventReporter } from './reporter.ts'

export interface EventReporter {
  /** Validates (TypeError when malformed) and durably queues the event; resolves once it is on disk. */
  /**
   * Queues an event durably. `id`: a caller that may report the same happening again after a
   * crash gives it the same UUID each time, and the tracker stores it once (idempotent by id).
   */
  report: (type: string, payload: Record<string, unknown>, options?: { id?: string }) => Promise<ClientEvent>
  start: () => Promise<void>
  /** Stops posting (an in-flight post is aborted; its events stay queued). */
  stop: () => Promise<void>
  /** Resolves when every event reported before the call, and any queued, reached the tracker (needs a started reporter). */
  flush: (options?: { signal?: AbortSignal }) => Promise<void>
  /** events on disk not yet acknowledged */
  pending: () => Promise<number>
  /** events acknowledged by the tracker since start */
  readonly postedCount: number
}

export interface EventReporterInit {
  /** queue directory, normally `<dataDir>/events` */
  dir: string
  /** sent as `x-branchcast-client`: the node's peer id */
  clientId: string
  /** sent with every batch: the tracker's clients registry and the site and host on each event */
  client?: ClientInfo
  /** first retry delay (default `EVENT_RETRY_MIN_MS`) */
  retryMinMs?: number
  /** longest retry delay (default `EVENT_RETRY_MAX_MS`) */
  retryMaxMs?: number
  /** events per batch (default and ceiling `MAX_EVENTS_PER_BATCH`) */
  batchMaxEvents?: number
}

export interface EventReporterComponents {
  tracker: Pick<TrackerClient, 'postEvents'>
  logger: Logger
  now: () => number
}

export { clientInfo } from './client-info.ts'

export function createEventReporter (init: EventReporterInit, components: EventReporterComponents): EventReporter {
  if (init.clientId === '') throw new TypeError('clientId is required')
  return new DurableEventReporter(init, components)
}
