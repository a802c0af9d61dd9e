/**
 * The open routes: liveness for load balancers (`/healthz`) and Prometheus scraping
 * (`/metrics`). Detailed metrics name images, versions and sites, which an anonymous caller
 * on the LAN must not learn (issue 11, finding 8): with `metricsToken` configured, a
 * scraper sending `Authorization: Bearer <metricsToken>` gets every series; anyone else
 * gets only the series that name none of them.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { Hono } from 'hono'
import { bearer } from '../auth.ts'
import type { TrackerComponents, TrackerEnv } from '../env.ts'

/** Labels whose values name what the tracker serves, and where. */
const NAMING_LABELS = ['image', 'version', 'site', 'client', 'user', 'peer'] as const
const NAMING_SERIES = new RegExp(`[{,](?:${NAMING_LABELS.join('|')})="`)

/** The exposition text without the samples that carry a naming label (HELP/TYPE lines stay). */
export function anonymousMetrics (text: string): string {
  return text.split('\n').filter((line) => line.startsWith('#') || !NAMING_SERIES.test(line)).join('\n')
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest()

export function healthRoutes ({ metrics, store, config }: Pick<TrackerComponents, 'metrics' | 'store' | 'config'>): Hono<TrackerEnv> {
  const app = new Hono<TrackerEnv>()
  const scrapeDigest = config.metricsToken === undefined ? undefined : digest(config.metricsToken)
  const isScraper = (header: string | undefined): boolean => {
    const token = bearer(header)
    return scrapeDigest !== undefined && token !== undefined && timingSafeEqual(digest(token), scrapeDigest)
  }
  app.get('/healthz', async (c) => {
    const db = await store.ping().then(() => true, () => false)
    return c.json({ ok: db, db }, db ? 200 : 503)
  })
  app.get('/metrics', (c) => {
    const text = metrics.render()
    return c.text(isScraper(c.req.header('authorization')) ? text : anonymousMetrics(text), 200, { 'content-type': 'text/plain; version=0.0.4', 'cache-control': 'no-store' })
  })
  return app
}
