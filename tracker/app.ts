/**
 * The tracker's HTTP app, composed of one sub-app per API area. Separate from `serve()`
 * (server.ts) so tests can call `app.request()` as well as go over a real socket.
 */
import { bootProfileRoutes } from './routes/boot-profiles.ts'
import type { OpenAPIHono } from '@hono/zod-openapi'
import type { TrackerComponents, TrackerEnv } from './env.ts'
import { authenticate } from './auth.ts'
import { toHttpError } from './routes/http-error.ts'
import { newRouter } from './routes/router.ts'
import { healthRoutes } from './routes/health.ts'
import { authConfigRoutes, consoleRoutes } from './routes/console.ts'
import { tokensRoutes } from './routes/tokens.ts'
import { policiesRoutes } from './routes/policies.ts'
import { assignmentsRoutes } from './routes/assignments.ts'
import { meRoutes } from './routes/me.ts'
import { imagesRoutes } from './routes/images.ts'
import { swarmRoutes } from './routes/swarm.ts'
import { eventsRoutes } from './routes/events.ts'
import { clientsRoutes } from './routes/clients.ts'
import { reportsRoutes } from './routes/reports.ts'
import { originRoutes, originTokenRoutes } from './routes/origin.ts'
import { consoleApiRoutes } from './routes/console-api.ts'

export const API_PREFIX = '/api/v1'

export function createApp (components: TrackerComponents): OpenAPIHono<TrackerEnv> {
  const { logger, metrics } = components
  const log = logger.forComponent('tracker:http')
  const requests = metrics.counter('branchcast_http_requests_total', 'HTTP requests by route and status')
  const durations = metrics.histogram('branchcast_http_request_seconds', 'HTTP request duration', [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30])

  const app = newRouter()

  app.use(async (c, next) => {
    const started = performance.now()
    await next()
    const route = c.req.routePath
    requests.inc({ method: c.req.method, route, status: String(c.res.status) })
    durations.observe((performance.now() - started) / 1000, { route })
  })

  app.onError((err, c) => {
    const http = toHttpError(err)
    if (http.status >= 500) log.error('request failed', { method: c.req.method, path: c.req.path, err })
    for (const [k, v] of Object.entries(http.headers)) c.header(k, v)
    return c.json({ error: { code: http.code, message: http.message } }, http.status as 400)
  })
  app.notFound((c) => c.json({ error: { code: 'ERR_NOT_FOUND', message: 'no such route' } }, 404))

  app.route('/', healthRoutes(components))
  app.route('/console', consoleRoutes(components))
  app.route('/', authConfigRoutes(components))
  app.route('/origin', originRoutes(components)) // capability tokens, not API tokens: before the /api auth

  app.use(`${API_PREFIX}/*`, authenticate(components))
  for (const area of [tokensRoutes, policiesRoutes, assignmentsRoutes, meRoutes]) app.route(API_PREFIX, area(components))
  app.route(API_PREFIX, imagesRoutes(components))
  app.route(`${API_PREFIX}/swarm`, swarmRoutes(components))
  app.route(`${API_PREFIX}/events`, eventsRoutes(components))
  app.route(API_PREFIX, clientsRoutes(components))
  app.route(API_PREFIX, reportsRoutes(components))
  app.route(API_PREFIX, originTokenRoutes(components))
  app.route(API_PREFIX, bootProfileRoutes(components))
  app.route(API_PREFIX, consoleApiRoutes(components))
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', description: 'Branchcast API token (bct_…)' })

  app.doc31(`${API_PREFIX}/openapi.json`, {
    openapi: '3.1.0',
    info: { title: 'Branchcast tracker API', version: '1' },
    security: [{ bearer: [] }]
  })
  return app
}

export type TrackerApp = ReturnType<typeof createApp>
