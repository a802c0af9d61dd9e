/**
 * Client events. `POST /api/v1/events` takes a batch from a node; the events service stores
 * each event once (idempotent by its UUID) under the authenticated user — never one named
 * in the body — and the client id from the `x-branchcast-client` header (or the body, or
 * the token). Bodies are capped in bytes before parsing (413) and in events (413); each
 * user has a token bucket and a per-minute batch counter, spent before the body is read,
 * and a daily event quota (429 + `retry-after`).
 *
 * `GET /api/v1/events` is for admins: filters by type, client, user and time.
 * Shapes: `protocol/api/events.ts`.
 */
import { createRoute, z } from '@hono/zod-openapi'
import type { OpenAPIHono } from '@hono/zod-openapi'
import type { MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import {
  CLIENT_ID_HEADER, EventBatchAnswerSchema, EventBatchSchema, EventListSchema, EventQuerySchema, MAX_EVENTS_PER_BATCH, MAX_EVENT_BATCH_BYTES
} from '../../protocol/index.ts'
import type { StoredEvent } from '../../protocol/index.ts'
import { requireAdmin } from '../auth.ts'
import { credentialKey } from '../events/index.ts'
import type { EventRecord } from '../db/store.ts'
import type { TrackerComponents, TrackerEnv } from '../env.ts'
import { badRequest, payloadTooLarge } from '../errors.ts'
import { errorResponse, firstIssue, newRouter } from './router.ts'

const postRoute = createRoute({
  method: 'post',
  path: '/',
  summary: 'Report a batch of client events (stored once each by id)',
  request: {
    headers: z.object({ [CLIENT_ID_HEADER]: z.string().optional() }),
    body: { content: { 'application/json': { schema: EventBatchSchema } }, required: true }
  },
  responses: {
    200: { description: 'how many were new and how many were stored before', content: { 'application/json': { schema: EventBatchAnswerSchema } } },
    400: errorResponse('malformed batch or event'),
    401: errorResponse('no valid API token'),
    403: errorResponse('the client id belongs to another user'),
    409: errorResponse('a new client id past the user\'s client cap (ERR_STORE_CLIENT_LIMIT)'),
    413: errorResponse(`batch over ${MAX_EVENT_BATCH_BYTES} bytes or ${MAX_EVENTS_PER_BATCH} events`),
    429: errorResponse('rate limited; see retry-after')
  }
})

const listRoute = createRoute({
  method: 'get',
  path: '/',
  summary: 'Query stored events (admin)',
  request: { query: EventQuerySchema },
  responses: {
    200: { description: 'matching events, newest first unless order=asc', content: { 'application/json': { schema: EventListSchema } } },
    400: errorResponse('bad filter'),
    401: errorResponse('no valid API token'),
    403: errorResponse('not an admin')
  }
})

const credentialOf = (authorization: string | undefined): string | undefined =>
  authorization === undefined ? undefined : credentialKey(authorization)

const storedEventView = (e: EventRecord): StoredEvent =>
  ({ id: e.id, type: e.type, clientId: e.clientId, user: e.user, atMs: e.atMs, receivedAtMs: e.receivedAtMs, site: e.site, host: e.host, payload: e.payload })

export function eventsRoutes (components: Pick<TrackerComponents, 'events'>): OpenAPIHono<TrackerEnv> {
  const { events } = components
  const app = newRouter()

  // Before the body is read: the header is checked, then the user's bucket and counter.
  const rateLimit: MiddlewareHandler<TrackerEnv> = async (c, next) => {
    const release = await events.admit(c.get('principal'), c.req.header(CLIENT_ID_HEADER), credentialOf(c.req.header('authorization')))
    try {
      await next()
    } finally {
      release()
    }
  }
  // 413 before the body is read: the rest of it is still on the wire, so the connection is
  // closed rather than reused (a keep-alive client would otherwise see its next request fail).
  const capped = bodyLimit({ maxSize: MAX_EVENT_BATCH_BYTES, onError: () => { throw payloadTooLarge(`event batch is over ${MAX_EVENT_BATCH_BYTES} bytes`) } })

  app.openapi({ ...postRoute, middleware: [rateLimit, capped] as const }, async (c) => {
    return c.json(await events.ingest(c.get('principal'), c.req.valid('json'), c.req.header(CLIENT_ID_HEADER), credentialOf(c.req.header('authorization'))), 200)
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
    return c.json({ events: (await events.query(c.req.valid('query'))).map(storedEventView) }, 200)
  })

  return app
}
