// The only open routes: liveness for load balancers and Prometheus scraping.
import { Hono } from 'hono'
import type { TrackerComponents, TrackerEnv } from '../env.ts'

export function healthRoutes ({ metrics, store }: Pick<TrackerComponents, 'metrics' | 'store'>): Hono<TrackerEnv> {
  const app = new Hono<TrackerEnv>()
  app.get('/healthz', async (c) => {
    const db = await store.ping().then(() => true, () => false)
    return c.json({ ok: db, db }, db ? 200 : 503)
  })
  app.get('/metrics', (c) => c.text(metrics.render(), 200, { 'content-type': 'text/plain; version=0.0.4' }))
  return app
}
