/**
 * What only the console asks for, admins only, under `/api/v1/console`:
 * - `GET /dashboard`: one snapshot of the dashboard (offload per site and day, clients,
 *   pulls in progress, the current versions' deployment, recent pulls, errors and
 *   security events);
 * - `GET /live`: the same snapshot as server-sent events, sent again whenever it changes;
 * - `GET /preview?user=&groups=`: what a user in those groups gets, per image, and which
 *   assignment decided it.
 * Every admin's stream shares one poller, which runs only while someone watches.
 */
import { streamSSE } from 'hono/streaming'
import type { OpenAPIHono } from '@hono/zod-openapi'
import { z } from 'zod'
import { nameSchema } from '../../protocol/index.ts'
import type { Client, DeploymentRow, LogRow, OffloadReportRow } from '../../protocol/index.ts'
import { CLIENT_ONLINE_WINDOW_MS } from '../db/index.ts'
import type { Principal, TrackerComponents, TrackerEnv } from '../env.ts'
import { TrackerError, badRequest } from '../errors.ts'
import { clientView } from '../reports/index.ts'
import { adminOnly } from './admin-request.ts'
import { newRouter } from './router.ts'

/** How often the shared poller looks for changes while a dashboard is open. */
export const LIVE_POLL_MS = 1000
/** A comment line this often keeps proxies from closing an idle stream. */
export const LIVE_KEEPALIVE_MS = 15_000
/** Dashboards open at once per tracker process: each holds a connection. */
export const MAX_LIVE_STREAMS = 64
/** The offload chart's window. */
export const DASHBOARD_OFFLOAD_DAYS = 30
/** Clients scanned for pulls in progress (most recently seen first). */
export const DASHBOARD_PULL_SCAN = 200
/** Groups one preview may name. */
export const MAX_PREVIEW_GROUPS = 64

export interface DashboardSnapshot {
  generatedAtMs: number
  offload: OffloadReportRow[]
  clients: { total: number, online: number }
  pulls: Array<Pick<Client, 'id' | 'user' | 'host' | 'site'> & { pull: NonNullable<Client['pull']> }>
  deployment: DeploymentRow[]
  recentPulls: LogRow[]
  errors: LogRow[]
}

type DashboardComponents = Pick<TrackerComponents, 'store' | 'reports' | 'now'>

export async function dashboardSnapshot ({ store, reports, now }: DashboardComponents): Promise<DashboardSnapshot> {
  const nowMs = now()
  const sinceMs = nowMs - CLIENT_ONLINE_WINDOW_MS
  const [offload, all, online, recentSeen, deployment, recentPulls, errors] = await Promise.all([
    reports.page('offload', { since: `${DASHBOARD_OFFLOAD_DAYS}d`, sort: 'day', order: 'asc', limit: 1000 }),
    store.queryClients({ limit: 1 }),
    store.queryClients({ seen: { state: 'online', sinceMs }, limit: 1 }),
    store.queryClients({ seen: { state: 'online', sinceMs }, sort: 'lastSeen', order: 'desc', limit: DASHBOARD_PULL_SCAN }),
    reports.page('deployment', { limit: 1000 }),
    reports.page('activity', { type: 'pull.completed', limit: 10 }),
    reports.page('errors', { limit: 15 })
  ])
  const pulls: DashboardSnapshot['pulls'] = []
  for (const c of recentSeen.clients.map((x) => clientView(x, nowMs, CLIENT_ONLINE_WINDOW_MS))) {
    if (c.pull !== null) pulls.push({ id: c.id, user: c.user, host: c.host, site: c.site, pull: c.pull })
  }
  return {
    generatedAtMs: nowMs,
    offload: offload.rows,
    clients: { total: all.total, online: online.total },
    pulls,
    deployment: deployment.rows.filter((r) => r.current || r.pulling > 0),
    recentPulls: recentPulls.rows,
    errors: errors.rows
  }
}

/** One poller for every open dashboard: a new snapshot goes out only when something changed. */
class LiveDashboard {
  private readonly subscribers = new Set<(json: string) => void>()
  private last: string | undefined
  private timer: NodeJS.Timeout | undefined
  private running = false
  private readonly components: DashboardComponents
  private readonly onError: (err: unknown) => void

  constructor (components: DashboardComponents, onError: (err: unknown) => void) {
    this.components = components
    this.onError = onError
  }

  get size (): number { return this.subscribers.size }

  subscribe (send: (json: string) => void): () => void {
    this.subscribers.add(send)
    if (this.last !== undefined) send(this.last)
    if (this.timer === undefined) {
      this.timer = setInterval(() => { void this.poll() }, LIVE_POLL_MS)
      void this.poll()
    }
    return () => {
      this.subscribers.delete(send)
      if (this.subscribers.size === 0) { clearInterval(this.timer); this.timer = undefined; this.last = undefined }
    }
  }

  private async poll (): Promise<void> {
    if (this.running) return // a slow database: skip a beat rather than pile up queries
    this.running = true
    try {
      const json = JSON.stringify(await dashboardSnapshot(this.components), (k, v) => k === 'generatedAtMs' ? undefined : v)
      if (json !== this.last) {
        this.last = json
        for (const send of this.subscribers) send(json)
      }
    } catch (err) {
      this.onError(err)
    } finally {
      this.running = false
    }
  }
}

const PreviewQuerySchema = z.object({
  user: nameSchema('user'),
  /** comma-separated */
  groups: z.string().max(MAX_PREVIEW_GROUPS * 201).optional()
})

export function consoleApiRoutes (components: Pick<TrackerComponents, 'store' | 'reports' | 'now' | 'policies' | 'logger' | 'shutdown'>): OpenAPIHono<TrackerEnv> {
  const log = components.logger.forComponent('tracker:console')
  const live = new LiveDashboard(components, (err) => log.warn('dashboard snapshot failed', { err }))
  const app = newRouter()
  app.use('/console/*', adminOnly)

  app.get('/console/dashboard', async (c) => c.json(await dashboardSnapshot(components)))

  app.get('/console/live', async (c) => {
    if (live.size >= MAX_LIVE_STREAMS) throw new TrackerError('ERR_RATE_LIMITED', 'too many live dashboards open', { retryAfterSeconds: 30 })
    c.header('cache-control', 'no-store')
    return streamSSE(c, async (stream) => {
      const queue: string[] = []
      let wake: (() => void) | undefined
      const unsubscribe = live.subscribe((json) => { queue.push(json); wake?.() })
      const keepalive = setInterval(() => { queue.push(''); wake?.() }, LIVE_KEEPALIVE_MS)
      const closed = new Promise<void>((resolve) => {
        stream.onAbort(resolve)
        components.shutdown.addEventListener('abort', () => resolve(), { once: true })
      })
      try {
        let open = true
        void closed.then(() => { open = false; wake?.() })
        while (open) {
          while (queue.length > 0 && open) {
            const json = queue.shift()!
            if (json === '') await stream.write(': keepalive\n\n')
            else await stream.writeSSE({ event: 'dashboard', data: json })
          }
          if (open) await new Promise<void>((resolve) => { wake = resolve })
          wake = undefined
        }
      } finally {
        clearInterval(keepalive)
        unsubscribe()
      }
    })
  })

  app.get('/console/preview', async (c) => {
    const parsed = PreviewQuerySchema.safeParse(c.req.query())
    if (!parsed.success) throw badRequest(parsed.error.issues[0]?.message ?? 'invalid query')
    const groups = (parsed.data.groups ?? '').split(',').map((g) => g.trim()).filter((g) => g !== '')
    if (groups.length > MAX_PREVIEW_GROUPS) throw badRequest(`at most ${MAX_PREVIEW_GROUPS} groups`)
    for (const g of groups) if (!nameSchema('group').safeParse(g).success) throw badRequest(`not a group name: ${g}`)
    const subject: Principal = { user: parsed.data.user, groups, admin: false, role: 'user', kind: 'user', via: 'api-token' }
    const workspaces = await components.policies.workspacesFor(subject)
    return c.json({
      user: subject.user,
      groups,
      workspaces: workspaces.map((w) => ({
        image: w.image,
        policy: w.policy.name,
        priority: w.policy.priority,
        via: w.via,
        expired: w.expired,
        reason: `policy "${w.policy.name}" (priority ${w.policy.priority}) assigned to ${w.via.kind} "${w.via.subject}": the highest priority wins, then a direct user assignment, then the older policy`
      }))
    })
  })

  return app
}
