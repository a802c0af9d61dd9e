/**
 * Client events. `POST /api/v1/events` takes a batch from a node; each event is stored once
 * (idempotent by its UUID) under the authenticated user — the user always comes from the
 * token, never from the body — and the client id from the `x-branchcast-client` header
 * (or the body, or the token when neither is given). A client id registered to another
 * user is refused. Bodies are capped in bytes before parsing (413) and in events (413);
 * each (user, client) has a token bucket (429 with `retry-after`).
 *
 * `GET /api/v1/events` is for admins: filters by type, client, user and time, all bound
 * as parameters by the store.
 *
 * Who may call: POST any authenticated user (for their own events); GET admins only.
 */
import { createRoute, z } from '@hono/zod-openapi'
import type { OpenAPIHono } from '@hono/zod-openapi'
import type { MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { EventBatchSchema, EventTypeSchema, MAX_EVENT_BATCH_BYTES, MAX_EVENTS_PER_BATCH, eventTimeMs } from '../../protocol/index.ts'
import { MAX_DURATION_CHARS, isDuration, parseDurationMs, parseTimeMs } from '../../protocol/index.ts'
import { firstIssue, newRouter } from './router.ts'
import { requireAdmin } from '../auth.ts'
import type { TrackerComponents, TrackerEnv } from '../env.ts'
import { badRequest, forbidden, payloadTooLarge, rateLimited } from '../errors.ts'
import { createRateLimiter } from '../rate-limit.ts'
import { EVENT_RATE_BURST, EVENT_RATE_MAX_BUCKETS, EVENT_RATE_PER_SEC, MAX_CLIENT_ID_CHARS } from '../constants.ts'

export const CLIENT_HEADER = 'x-branchcast-client'
const CLIENT_ID_RE = new RegExp(`^[\\x21-\\x7e]{1,${MAX_CLIENT_ID_CHARS}}$`)

const ErrorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) })
const err = (description: string): { description: string, content: { 'application/json': { schema: typeof ErrorBody } } } =>
  ({ description, content: { 'application/json': { schema: ErrorBody } } })

const postRoute = createRoute({
  method: 'post',
  path: '/',
  summary: 'Report a batch of client events (stored once each by id)',
  request: {
    headers: z.object({ [CLIENT_HEADER]: z.string().optional() }),
    body: { content: { 'application/json': { schema: EventBatchSchema } }, required: true }
  },
  responses: {
    200: { description: 'how many were new and how many were stored before', content: { 'application/json': { schema: z.object({ inserted: z.number().int(), duplicates: z.number().int() }) } } },
    400: err('malformed batch or event'),
    401: err('no valid API token'),
    403: err('the client id belongs to another user'),
    413: err(`batch over ${MAX_EVENT_BATCH_BYTES} bytes or ${MAX_EVENTS_PER_BATCH} events`),
    429: err('rate limited; see retry-after')
  }
})

/** `from`/`to`: epoch ms or ISO 8601; `since`: a duration back from now (`90s`, `15m`, `1h`, `7d`). */
const Time = z.string().max(40).refine((s) => parseTimeMs(s) !== undefined, 'not epoch ms or an ISO 8601 time')
const Since = z.string().max(MAX_DURATION_CHARS).refine(isDuration, 'since must look like 15m, 1h, 7d or 1d12h')

const EventOut = z.object({
  id: z.string(),
  type: z.string(),
  clientId: z.string(),
  user: z.string(),
  atMs: z.number().int(),
  receivedAtMs: z.number().int(),
  payload: z.unknown()
}).openapi('StoredEvent')

const listRoute = createRoute({
  method: 'get',
  path: '/',
  summary: 'Query stored events (admin)',
  request: {
    query: z.object({
      type: EventTypeSchema.optional(),
      client: z.string().max(MAX_CLIENT_ID_CHARS).optional(),
      user: z.string().max(200).optional(),
      from: Time.optional(),
      to: Time.optional(),
      since: Since.optional(),
      limit: z.coerce.number().int().min(1).max(10_000).optional(),
      order: z.enum(['asc', 'desc']).optional()
    })
  },
  responses: {
    200: { description: 'matching events, newest first unless order=asc', content: { 'application/json': { schema: z.object({ events: z.array(EventOut) }) } } },
    400: err('bad filter'),
    401: err('no valid API token'),
    403: err('not an admin')
  }
})

/**
 * 413 before the body is read: the rest of it is still on the wire, so the connection is
 * closed rather than reused (a keep-alive client would otherwise see its next request fail).
 */

export function eventsRoutes (components: TrackerComponents): OpenAPIHono<TrackerEnv> {
  const { store, metrics, now } = components
  const app = newRouter()
  const received = metrics.counter('branchcast_events_received_total', 'client events received, by outcome')
  const limiter = createRateLimiter({ burst: EVENT_RATE_BURST, perSec: EVENT_RATE_PER_SEC, maxKeys: EVENT_RATE_MAX_BUCKETS })

  // Before the body is read: the bucket is per (user, client header or token).
  const rateLimit: MiddlewareHandler<TrackerEnv> = async (c, next) => {
    const p = c.get('principal')
    const key = `${p.user}\n${c.req.header(CLIENT_HEADER) ?? `token:${p.tokenId}`}`
    const d = limiter.take(key, now())
    if (!d.ok) {
      received.inc({ result: 'rate_limited' })
      throw rateLimited(d.retryAfterSeconds)
    }
    await next()
  }
  const capped = bodyLimit({ maxSize: MAX_EVENT_BATCH_BYTES, onError: () => { throw payloadTooLarge(`event batch is over ${MAX_EVENT_BATCH_BYTES} bytes`) } })

  app.openapi({ ...postRoute, middleware: [rateLimit, capped] as const }, async (c) => {
    const p = c.get('principal')
    const batch = c.req.valid('json')
    const clientId = c.req.header(CLIENT_HEADER) ?? batch.clientId ?? `token:${p.tokenId}`
    if (!CLIENT_ID_RE.test(clientId)) throw badRequest(`client id must be 1–${MAX_CLIENT_ID_CHARS} printable ASCII characters`)
    const client = await store.getClient(clientId)
    if (client !== undefined && client.user !== p.user) throw forbidden('this client id is registered to another user')
    // The first user to report under a client id owns it (as with swarm peer ids); later
    // reports refresh its last-seen time and keep what announces recorded about it.
    await store.upsertClient({ id: clientId, user: p.user, hostname: client?.hostname, site: client?.site, agentVersion: client?.agentVersion, nowMs: now() })
    const result = await store.insertEvents(batch.events.map((e) => ({
      id: e.id.toLowerCase(),
      clientId,
      user: p.user,
      type: e.type,
      atMs: eventTimeMs(e.at),
      payload: e.payload
    })), now())
    received.inc({ result: 'inserted' }, result.inserted)
    received.inc({ result: 'duplicate' }, result.duplicates)
    return c.json(result, 200)
  }, (result): undefined => {
    if (result.success) return undefined
    const issue = result.error.issues[0]
    const where = issue?.path.join('.') ?? ''
    // Too many events is a size problem, like too many bytes.
    if (issue?.code === 'too_big' && where === 'events') throw payloadTooLarge(`a batch holds at most ${MAX_EVENTS_PER_BATCH} events`)
    throw badRequest(firstIssue(result.error.issues))
  })

  app.openapi(listRoute, async (c) => {
    requireAdmin(c)
    const q = c.req.valid('query')
    let fromMs = q.from === undefined ? undefined : parseTimeMs(q.from)
    if (q.since !== undefined) {
      const sinceMs = now() - parseDurationMs(q.since)
      fromMs = fromMs === undefined ? sinceMs : Math.max(fromMs, sinceMs)
    }
    const events = await store.queryEvents({
      type: q.type,
      clientId: q.client,
      user: q.user,
      fromMs,
      toMs: q.to === undefined ? undefined : parseTimeMs(q.to),
      limit: q.limit,
      order: q.order
    })
    return c.json({ events: events.map((e) => ({ id: e.id, type: e.type, clientId: e.clientId, user: e.user, atMs: e.atMs, receivedAtMs: e.receivedAtMs, payload: e.payload })) }, 200)
  })

  return app
}
