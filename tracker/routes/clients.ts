/**
 * The clients registry, admins only: `GET /api/v1/clients` (filters, sort, offset pages)
 * and `GET /api/v1/clients/{id}`. Shapes: `protocol/api/clients.ts`; the rows come from
 * announces and event batches (`swarm/`, `events/`).
 */
import { createRoute } from '@hono/zod-openapi'
import type { OpenAPIHono } from '@hono/zod-openapi'
import { ClientIdParamSchema, ClientListSchema, ClientQuerySchema, ClientSchema } from '../../protocol/index.ts'
import { CLIENT_ONLINE_WINDOW_MS } from '../db/index.ts'
import type { ClientSort } from '../db/index.ts'
import type { TrackerComponents, TrackerEnv } from '../env.ts'
import { notFound } from '../errors.ts'
import { clientView } from '../reports/index.ts'
import { ADMIN_ERRORS, adminOnly } from './admin-request.ts'
import { errorResponse, newRouter } from './router.ts'

export function clientsRoutes (components: Pick<TrackerComponents, 'store' | 'now'>): OpenAPIHono<TrackerEnv> {
  const { store, now } = components
  const app = newRouter()

  app.openapi(createRoute({
    method: 'get',
    middleware: [adminOnly] as const,
    path: '/clients',
    summary: 'List the clients (nodes) the tracker has heard from (admin)',
    request: { query: ClientQuerySchema },
    responses: { 200: { description: 'one page of clients, most recently seen first unless sorted otherwise', content: { 'application/json': { schema: ClientListSchema } } }, ...ADMIN_ERRORS }
  }), async (c) => {
    const q = c.req.valid('query')
    const nowMs = now()
    const offset = q.offset ?? 0
    const { clients, total } = await store.queryClients({
      site: q.site,
      user: q.user,
      host: q.host,
      image: q.image,
      search: q.q,
      seen: q.status === undefined ? undefined : { state: q.status, sinceMs: nowMs - CLIENT_ONLINE_WINDOW_MS },
      sort: q.sort as ClientSort | undefined,
      order: q.order,
      offset,
      limit: q.limit
    })
    const next = offset + clients.length
    return c.json({ clients: clients.map((x) => clientView(x, nowMs, CLIENT_ONLINE_WINDOW_MS)), total, nextOffset: next < total && clients.length > 0 ? next : null }, 200)
  })

  app.openapi(createRoute({
    method: 'get',
    middleware: [adminOnly] as const,
    path: '/clients/{id}',
    summary: 'One client with the images it holds, its pull and workspaces (admin)',
    request: { params: ClientIdParamSchema },
    responses: { 200: { description: 'the client', content: { 'application/json': { schema: ClientSchema } } }, 404: errorResponse('no such client'), ...ADMIN_ERRORS }
  }), async (c) => {
    const found = await store.getClientDetail(c.req.valid('param').id)
    if (found === undefined) throw notFound('no such client')
    return c.json(clientView(found, now(), CLIENT_ONLINE_WINDOW_MS), 200)
  })

  return app
}
