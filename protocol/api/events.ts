/**
 * Client events: what a node reports to the tracker (`POST /api/v1/events`) and the tracker
 * stores once each, idempotent by event id, and what admins get back when they query them
 * (`GET /api/v1/events`, `branchcast events`). Shared by the node's durable reporter, the
 * tracker's routes and the CLI, so all validate with the same schemas.
 *
 * An event's `type` is either one of the known types below, whose payload schema is
 * checked, or a namespaced extension (`vendor.thing`, lowercase, dotted) whose payload is
 * any JSON object within the size cap.
 */
import { z } from 'zod'
import { MAX_DURATION_CHARS, isDuration, parseTimeMs } from '../units.ts'
import { MAX_NAME_CHARS } from './common.ts'
import { SiteSchema } from './swarm.ts'
import { WORKSPACE_EVENT_PAYLOADS } from './workspace-events.ts'

/** One batch holds at most this many events: a node flushes its queue in pieces. */
export const MAX_EVENTS_PER_BATCH = 500
/** A batch body is refused (413) above this many bytes, before it is parsed. */
export const MAX_EVENT_BATCH_BYTES = 1024 * 1024
/** One event's payload, serialised as JSON, is at most this many bytes. */
export const MAX_EVENT_PAYLOAD_BYTES = 16 * 1024
/** Event type names are short, dotted and lowercase. */
export const MAX_EVENT_TYPE_CHARS = 64
/** Client ids (header or body) are at most this long: libp2p peer ids are ~52. */
export const MAX_CLIENT_ID_CHARS = 128
/** Events one query answers at most (the default is 1000). */
export const MAX_EVENTS_PER_QUERY = 10_000

/** The header naming the reporting client (node); it wins over the batch's `clientId`. */
export const CLIENT_ID_HEADER = 'x-branchcast-client'

const IMAGE = z.string().min(1).max(200)
const COUNT = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)
/** Why the node fetched bytes from the origin rather than a peer, by reason. */
const ORIGIN_REASONS = z.record(z.string().max(32), COUNT)

/** Payload schemas of the known event types. Extra fields are kept (newer nodes may add some). */
export const EVENT_PAYLOADS = {
  /**
   * An image version was pulled, verified and made ready. `bytesFromPeers` and
   * `bytesFromOrigin` are bytes on the wire (what crossed the LAN and the WAN, chunks as
   * sent: compressed where stored so); `decodedBytesFrom…` are the same chunks decoded;
   * `bytesFromLocal` is image data reused from the node's own disk (nothing moved);
   * `originBytesByReason` splits the origin's wire bytes by why the origin was used;
   * `deltaBytesFromOrigin` is the part of the origin's wire bytes that were delta chunks,
   * `decodedBytesFromDeltas` the chunk bytes they rebuilt.
   */
  'pull.completed': z.looseObject({
    image: IMAGE,
    version: COUNT,
    bytesFromPeers: COUNT,
    bytesFromOrigin: COUNT,
    bytesFromLocal: COUNT,
    decodedBytesFromPeers: COUNT.optional(),
    decodedBytesFromOrigin: COUNT.optional(),
    originBytesByReason: ORIGIN_REASONS.optional(),
    deltaBytesFromOrigin: COUNT.optional(),
    decodedBytesFromDeltas: COUNT.optional(),
    durationMs: COUNT
  }),
  'pull.failed': z.looseObject({
    image: IMAGE,
    version: COUNT.optional(),
    code: z.string().max(64),
    message: z.string().max(1024).optional(),
    bytesFromPeers: COUNT.optional(),
    bytesFromOrigin: COUNT.optional()
  }),
  /** security: a peer sent corrupt data or a bad capability and was banned */
  'peer.banned': z.looseObject({
    peerId: z.string().min(1).max(128),
    reason: z.string().max(64),
    image: IMAGE.optional(),
    untilMs: COUNT.optional()
  }),
  'session.started': z.looseObject({ image: IMAGE, version: COUNT.optional() }),
  'session.stopped': z.looseObject({ image: IMAGE, version: COUNT.optional(), durationMs: COUNT.optional(), exitCode: z.number().int().optional() }),
  'session.locked': z.looseObject({ image: IMAGE, reason: z.string().max(64) }),
  /** a locked VM resumed; `durationMs`: how long it was locked */
  'session.unlocked': z.looseObject({ image: IMAGE, version: COUNT.optional(), durationMs: COUNT.optional() }),
  /** a VM's guest paused by the node, not the user: `reason` chunks-stalled (its lazy base's reads wait for chunks that do not arrive), disk-io-error */
  'session.paused': z.looseObject({ image: IMAGE, version: COUNT.optional(), reason: z.string().max(64) }),
  /** a paused guest goes on; `durationMs`: how long it was paused */
  'session.resumed': z.looseObject({ image: IMAGE, version: COUNT.optional(), reason: z.string().max(64), durationMs: COUNT.optional() }),
  /** a VM ended without being asked to: `reason` qemu-exited, guest-panicked, died-while-detached; `durationMs`: how long it ran */
  'session.crashed': z.looseObject({ image: IMAGE, version: COUNT.optional(), reason: z.string().max(64), durationMs: COUNT.optional(), exitCode: z.number().int().optional(), signal: z.string().max(16).optional() }),
  /** a published application was started in its workspace's VM; `durationMs`: from the request, a VM start included */
  'app.launched': z.looseObject({ image: IMAGE, version: COUNT.optional(), app: z.string().min(1).max(100), pid: COUNT.optional(), durationMs: COUNT.optional() }),
  /**
   * A lazy boot's first reads were recorded (instant start): `chunks` distinct chunks
   * (`bytes` of image data) in first-read order until `end` (agent, quiet, window, full),
   * `durationMs` from the first read.
   */
  'profile.recorded': z.looseObject({ image: IMAGE, version: COUNT, chunks: COUNT, bytes: COUNT.optional(), end: z.string().max(16), durationMs: COUNT.optional() }),
  /** the recording went to the tracker as a candidate; `published`: it completed the quorum and the merged profile is out */
  'profile.submitted': z.looseObject({ image: IMAGE, version: COUNT, chunks: COUNT, candidates: COUNT.optional(), published: z.boolean().optional() }),
  /** the node refused something its policy forbids (expired workspace, download window, …) */
  'policy.blocked': z.looseObject({ image: IMAGE, rule: z.string().max(64), message: z.string().max(1024).optional() }),
  ...WORKSPACE_EVENT_PAYLOADS
} as const

export type KnownEventType = keyof typeof EVENT_PAYLOADS
export const KNOWN_EVENT_TYPES = Object.keys(EVENT_PAYLOADS) as KnownEventType[]

export type PullCompletedPayload = z.infer<typeof EVENT_PAYLOADS['pull.completed']>
export type PullFailedPayload = z.infer<typeof EVENT_PAYLOADS['pull.failed']>
export type PeerBannedPayload = z.infer<typeof EVENT_PAYLOADS['peer.banned']>

/** Known type, or an extension: at least two dotted lowercase segments. */
const EVENT_TYPE_RE = /^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)+$/
export const EventTypeSchema = z.string().max(MAX_EVENT_TYPE_CHARS).regex(EVENT_TYPE_RE, 'event type must be namespaced: "area.name", lowercase')

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** `at`: epoch milliseconds or an ISO 8601 string. */
const AtSchema = z.union([
  z.number().int().min(0).max(8.64e15),
  z.string().max(40).refine((s) => !Number.isNaN(Date.parse(s)), 'not an ISO 8601 time')
])

export const EventSchema = z.object({
  id: z.string().regex(UUID_RE, 'event id must be a UUID'),
  type: EventTypeSchema,
  at: AtSchema,
  payload: z.record(z.string(), z.unknown())
}).superRefine((e, ctx) => {
  let size: number
  try {
    size = Buffer.byteLength(JSON.stringify(e.payload))
  } catch {
    ctx.addIssue({ code: 'custom', path: ['payload'], message: 'payload is not JSON' })
    return
  }
  if (size > MAX_EVENT_PAYLOAD_BYTES) {
    ctx.addIssue({ code: 'custom', path: ['payload'], message: `payload is over ${MAX_EVENT_PAYLOAD_BYTES} bytes` })
    return
  }
  // own keys only: "constructor" or "toString" found Object.prototype's function, and
  // calling its safeParse threw out of the schema (found by tests/fuzz, api-bodies)
  if (!Object.hasOwn(EVENT_PAYLOADS, e.type)) return
  const schema = (EVENT_PAYLOADS as Record<string, z.ZodType>)[e.type]!
  const r = schema.safeParse(e.payload)
  if (!r.success) {
    const issue = r.error.issues[0]
    ctx.addIssue({ code: 'custom', path: ['payload', ...(issue?.path ?? []) as Array<string | number>], message: issue?.message ?? 'invalid payload' })
  }
})

export type ClientEvent = z.infer<typeof EventSchema>

/** Host names are DNS names or NetBIOS names: 255 characters at most. */
export const MAX_HOST_CHARS = 255
/** An OS description such as "Windows 11 23H2" or "Linux 6.1.0-18-amd64 x64". */
export const MAX_OS_CHARS = 100
/** A node's software version ("0.1.0", "0.2.0-rc.1+abc"). */
export const MAX_NODE_VERSION_CHARS = 64

// eslint-disable-next-line no-control-regex
const PRINTABLE = /^[^\x00-\x1f\x7f]*$/

/**
 * Who the reporting node is: the tracker keeps it in the clients registry and stamps the
 * site and host on every event of the batch (reports filter by them).
 */
export const ClientInfoSchema = z.object({
  host: z.string().min(1).max(MAX_HOST_CHARS).regex(/^[\x21-\x7e]+$/, 'host must be printable ASCII without spaces').optional(),
  site: SiteSchema.optional(),
  os: z.string().max(MAX_OS_CHARS).regex(PRINTABLE, 'os must not contain control characters').optional(),
  nodeVersion: z.string().max(MAX_NODE_VERSION_CHARS).regex(/^[\x21-\x7e]*$/, 'nodeVersion must be printable ASCII without spaces').optional()
}).strict()
export type ClientInfo = z.infer<typeof ClientInfoSchema>

export const EventBatchSchema = z.object({
  /** the reporting client (node) id; the `x-branchcast-client` header wins when both are given */
  clientId: z.string().min(1).max(MAX_CLIENT_ID_CHARS).optional(),
  /** the node's host, site, OS and version (optional: older nodes send none) */
  client: ClientInfoSchema.optional(),
  events: z.array(EventSchema).min(1).max(MAX_EVENTS_PER_BATCH)
})

export type EventBatch = z.infer<typeof EventBatchSchema>

/** `at` as epoch milliseconds. */
export function eventTimeMs (at: ClientEvent['at']): number {
  return typeof at === 'number' ? at : Date.parse(at)
}

/** `POST /api/v1/events`: how many events were new and how many were stored before. */
export const EventBatchAnswerSchema = z.object({ inserted: z.number().int(), duplicates: z.number().int() })
export type EventBatchAnswer = z.infer<typeof EventBatchAnswerSchema>

/** `from`/`to`: epoch ms or ISO 8601; `since`: a duration back from now (`90s`, `15m`, `1h`, `7d`, `1d12h`). */
const QueryTimeSchema = z.string().max(40).refine((s) => parseTimeMs(s) !== undefined, 'not epoch ms or an ISO 8601 time')
const SinceSchema = z.string().max(MAX_DURATION_CHARS).refine(isDuration, 'since must look like 15m, 1h, 7d or 1d12h')

/** `GET /api/v1/events` (admins): filters, all bound as parameters by the tracker's store. */
export const EventQuerySchema = z.object({
  type: EventTypeSchema.optional(),
  client: z.string().max(MAX_CLIENT_ID_CHARS).optional(),
  user: z.string().max(MAX_NAME_CHARS).optional(),
  from: QueryTimeSchema.optional(),
  to: QueryTimeSchema.optional(),
  since: SinceSchema.optional(),
  limit: z.coerce.number().int().min(1).max(MAX_EVENTS_PER_QUERY).optional(),
  order: z.enum(['asc', 'desc']).optional()
})
export type EventQuery = z.infer<typeof EventQuerySchema>

/** An event as the tracker stored it: under the token's user, with the time it arrived. */
export const StoredEventSchema = z.object({
  id: z.string(),
  type: z.string(),
  clientId: z.string(),
  user: z.string(),
  atMs: z.number().int(),
  receivedAtMs: z.number().int(),
  /** the client's site and host when the event arrived ('' when unknown) */
  site: z.string(),
  host: z.string(),
  payload: z.unknown()
}).meta({ id: 'StoredEvent' })
export type StoredEvent = z.infer<typeof StoredEventSchema>

export const EventListSchema = z.object({ events: z.array(StoredEventSchema) })
export type EventList = z.infer<typeof EventListSchema>
