/**
 * The reports service (see index.ts): turns a report query into store reads and the pure
 * row functions, one page at a time; CSV export walks the same pages.
 */
import { REPORT_SORTS, parseDurationMs, parseTimeMs } from '../../protocol/index.ts'
import type { DeploymentRow, OffloadReportRow, ReportAnswer, ReportName, ReportQuery, ReportRow } from '../../protocol/index.ts'
import type { ClientSort } from '../db/store.ts'
import { badRequest } from '../errors.ts'
import { REPORT_DEFAULT_PAGE_ROWS, REPORT_EXPORT_PAGE_ROWS } from './constants.ts'
import type { Reports, ReportsComponents, ReportsInit } from './index.ts'
import { offloadReportRow, utcDayStart } from './offload.ts'
import { decodeCursor, encodeCursor, pageOf, sortRows } from './paging.ts'
import { deploymentRows, logRow, statusRow } from './rows.ts'
import type { KnownVersion } from './rows.ts'
import { ERROR_LOG_TYPES } from './severity.ts'

type Page<N extends ReportName> = { rows: Array<ReportRow<N>>, nextCursor: string | null }

export class ReportsService implements Reports {
  private readonly components: ReportsComponents
  private readonly onlineWindowMs: number

  constructor (components: ReportsComponents, init: ReportsInit) {
    this.components = components
    this.onlineWindowMs = init.onlineWindowMs
  }

  async page<N extends ReportName> (name: N, query: ReportQuery): Promise<ReportAnswer<N>> {
    const generatedAtMs = this.components.now()
    const limit = query.limit ?? REPORT_DEFAULT_PAGE_ROWS
    const sorts: readonly string[] = REPORT_SORTS[name]
    if (query.sort !== undefined && !sorts.includes(query.sort)) throw badRequest(`sort: the ${name} report sorts by ${sorts.join(', ')}`)
    if (query.type !== undefined && name !== 'activity' && name !== 'errors') throw badRequest(`type: only the activity and error logs filter by event type`)
    const page = await this.read(name, query, limit, generatedAtMs) as Page<N>
    return { report: name, generatedAtMs, rows: page.rows, nextCursor: page.nextCursor }
  }

  async * export<N extends ReportName> (name: N, query: ReportQuery, signal?: AbortSignal): AsyncGenerator<Array<ReportRow<N>>> {
    let cursor = query.cursor
    do {
      signal?.throwIfAborted()
      const page = await this.page(name, { ...query, cursor, limit: REPORT_EXPORT_PAGE_ROWS })
      if (page.rows.length > 0) yield page.rows
      cursor = page.nextCursor ?? undefined
    } while (cursor !== undefined)
  }

  private read (name: ReportName, q: ReportQuery, limit: number, nowMs: number): Promise<Page<ReportName>> {
    switch (name) {
      case 'status': return this.status(q, limit, nowMs)
      case 'activity': return this.log(q, limit, false)
      case 'errors': return this.log(q, limit, true)
      case 'offload': return this.offload(q, limit)
      case 'deployment': return this.deployment(q, limit)
    }
  }

  /** `from`/`to`/`since` as a time range. */
  private range (q: ReportQuery): { fromMs?: number, toMs?: number } {
    let fromMs = q.from === undefined ? undefined : parseTimeMs(q.from)
    if (q.since !== undefined) {
      const sinceMs = this.components.now() - parseDurationMs(q.since)
      fromMs = fromMs === undefined ? sinceMs : Math.max(fromMs, sinceMs)
    }
    return { fromMs, toMs: q.to === undefined ? undefined : parseTimeMs(q.to) }
  }

  private offset (q: ReportQuery): number {
    const c = decodeCursor(q.cursor, 'offset')
    return c !== undefined && 'offset' in c ? c.offset : 0
  }

  private async status (q: ReportQuery, limit: number, nowMs: number): Promise<Page<'status'>> {
    const offset = this.offset(q)
    const { fromMs, toMs } = this.range(q)
    const { clients, total } = await this.components.store.queryClients({
      site: q.site, user: q.user, host: q.host, image: q.image, fromMs, toMs, sort: (q.sort ?? 'lastSeen') as ClientSort, order: q.order, offset, limit
    })
    return {
      rows: clients.map((c) => statusRow(c, nowMs, this.onlineWindowMs)),
      nextCursor: offset + clients.length < total ? encodeCursor({ offset: offset + clients.length }) : null
    }
  }

  private async log (q: ReportQuery, limit: number, errorsOnly: boolean): Promise<Page<'activity'>> {
    const c = decodeCursor(q.cursor, 'keyset')
    const after = c !== undefined && 'atMs' in c ? c : undefined
    // A user's events are their clients' (ingest refuses another user's client id): naming
    // the clients lets the (client, at) index find a user's events instead of a walk down
    // the whole time index when they are sparse (1 M events: p95 133–359 ms → under 7 ms).
    const ids = q.user === undefined ? undefined : (await this.components.store.listClients({ user: q.user })).map((c) => c.id)
    // (a user has a few desks; a list past a statement's parameter budget is left to the user filter)
    const clientIdIn = ids !== undefined && ids.length <= 1000 ? ids : undefined
    const found = await this.components.store.queryEvents({
      ...this.range(q),
      ...(errorsOnly ? ERROR_LOG_TYPES : {}),
      type: q.type,
      site: q.site,
      host: q.host,
      user: q.user,
      clientIdIn,
      image: q.image,
      order: q.order ?? 'desc',
      after,
      // one more than the page: whether there is a next one
      limit: limit + 1
    })
    const rows = found.slice(0, limit)
    const last = rows.at(-1)
    return { rows: rows.map(logRow), nextCursor: found.length > limit && last !== undefined ? encodeCursor({ atMs: last.atMs, id: last.id }) : null }
  }

  private async offload (q: ReportQuery, limit: number): Promise<Page<'offload'>> {
    if (q.user !== undefined || q.host !== undefined) throw badRequest('the offload report is per site and day: user and host filters do not apply')
    const { fromMs, toMs } = this.range(q)
    const found = await this.components.store.offloadByDay({ fromMs: fromMs === undefined ? undefined : utcDayStart(fromMs), toMs, site: q.site, image: q.image })
    const rows = found.map(offloadReportRow)
    const sort = q.sort ?? 'day'
    const key: Record<string, (r: OffloadReportRow) => string | number> = { day: (r) => r.day, site: (r) => r.site, originBytes: (r) => r.originBytes, offload: (r) => r.offload }
    const order = q.order ?? (sort === 'site' ? 'asc' : 'desc')
    return pageOf(sortRows(rows, key[sort]!, order, (r) => `${r.day}\n${r.site}`), this.offset(q), limit)
  }

  private async deployment (q: ReportQuery, limit: number): Promise<Page<'deployment'>> {
    if (q.from !== undefined || q.to !== undefined || q.since !== undefined) throw badRequest('the deployment report is the state now: from, to and since do not apply')
    const { store } = this.components
    const counts = await store.deploymentCounts({ image: q.image, site: q.site, user: q.user, host: q.host })
    const names = new Set([...counts.held.map((h) => h.image), ...counts.pulling.map((p) => p.image)])
    const images = q.image !== undefined ? [q.image] : (await store.listImages()).map((i) => i.name)
    for (const i of images) names.add(i)
    const versions: KnownVersion[] = []
    for (const name of names) {
      const image = await store.getImage(name)
      if (image === undefined) continue
      for (const v of await store.listVersions(image.id)) versions.push({ image: name, version: v.number, state: v.state, publishedAtMs: v.publishedAtMs })
    }
    const rows = deploymentRows({ held: counts.held, pulling: counts.pulling, versions })
    const sort = q.sort ?? 'image'
    const key: Record<string, (r: DeploymentRow) => string | number> = { image: (r) => r.image, clients: (r) => r.clients, lagging: (r) => r.lagging }
    // newest version first within an image
    const tie = (r: DeploymentRow): string => `${r.image}\n${String(1e12 - r.version).padStart(13, '0')}`
    return pageOf(sortRows(rows, key[sort]!, q.order ?? (sort === 'image' ? 'asc' : 'desc'), tie), this.offset(q), limit)
  }
}
