/**
 * Report rows from store records: plain functions, `now` passed in.
 */
import type { Client, DeploymentRow, LogRow, StatusRow } from '../../protocol/index.ts'
import type { ClientDetail, EventRecord, HeldVersionRow, PullingVersionRow, VersionState } from '../db/store.ts'
import { classifyEvent } from './severity.ts'

/**
 * Online means seen within the window; "online since" is only meaningful while online. The
 * one rule for the clients list and the status report.
 */
export function presence (c: Pick<ClientDetail, 'lastSeenAtMs' | 'onlineSinceMs'>, nowMs: number, onlineWindowMs: number): { online: boolean, onlineSinceMs: number | null } {
  const online = c.lastSeenAtMs >= nowMs - onlineWindowMs
  return { online, onlineSinceMs: online ? c.onlineSinceMs : null }
}

/** A registry row as the API shows it, online or not at `nowMs`. */
export function clientView (c: ClientDetail, nowMs: number, onlineWindowMs: number): Client {
  const { online, onlineSinceMs } = presence(c, nowMs, onlineWindowMs)
  return {
    id: c.id,
    user: c.user,
    host: c.hostname,
    site: c.site,
    os: c.os,
    nodeVersion: c.agentVersion,
    online,
    onlineSinceMs,
    lastSeenAtMs: c.lastSeenAtMs,
    firstSeenAtMs: c.createdAtMs,
    images: c.images.map((i) => ({ image: i.image, version: i.version, heldSinceMs: i.heldSinceMs, policy: i.policy, policyUpdatedAtMs: i.policyUpdatedAtMs })),
    pull: c.pull === null ? null : { image: c.pull.image, version: c.pull.version, progress: c.pull.permille / 1000 },
    workspace: c.workspace
  }
}

/** MED-V's status report: one row per client. */
export function statusRow (c: ClientDetail, nowMs: number, onlineWindowMs: number): StatusRow {
  const { online, onlineSinceMs } = presence(c, nowMs, onlineWindowMs)
  return {
    clientId: c.id,
    user: c.user,
    host: c.hostname,
    site: c.site,
    os: c.os,
    online,
    onlineSinceMs,
    lastSeenAtMs: c.lastSeenAtMs,
    firstSeenAtMs: c.createdAtMs,
    clientVersion: c.agentVersion,
    workspace: Object.entries(c.workspace ?? {}).map(([image, w]) => `${image}:${w.state}`).join(' '),
    imageVersions: c.images.map((i) => `${i.image}@${i.version}`).join(' '),
    policyVersions: c.images.filter((i) => i.policy !== '')
      .map((i) => `${i.policy}@${i.policyUpdatedAtMs === null ? '?' : new Date(i.policyUpdatedAtMs).toISOString()}`).join(' '),
    pull: c.pull === null ? '' : `${c.pull.image}@${c.pull.version} ${Math.floor(c.pull.permille / 10)}%`
  }
}

/** Activity and error log rows: client time next to received time, classified by type. */
export function logRow (e: EventRecord): LogRow {
  const { severity, category, description } = classifyEvent(e.type, e.payload)
  return {
    id: e.id,
    atMs: e.atMs,
    receivedAtMs: e.receivedAtMs,
    severity,
    category,
    description,
    type: e.type,
    site: e.site,
    host: e.host,
    user: e.user,
    clientId: e.clientId,
    image: e.image
  }
}

export interface KnownVersion {
  image: string
  version: number
  state: VersionState
  publishedAtMs: number | null
}

export interface DeploymentInput {
  held: readonly HeldVersionRow[]
  pulling: readonly PullingVersionRow[]
  /** the repository's versions of the images concerned (any state) */
  versions: readonly KnownVersion[]
}

/**
 * Deployment status per image version: a row for every version some client holds or pulls,
 * and for every image's current (latest published) version even when nobody has it yet.
 * A version below the current one is lagging since the current one was published.
 */
export function deploymentRows ({ held, pulling, versions }: DeploymentInput): DeploymentRow[] {
  const key = (image: string, version: number): string => `${image}\n${version}`
  const known = new Map(versions.map((v) => [key(v.image, v.version), v]))
  const current = new Map<string, KnownVersion>()
  for (const v of versions) {
    if (v.state !== 'published') continue
    const c = current.get(v.image)
    if (c === undefined || v.version > c.version) current.set(v.image, v)
  }
  const rows = new Map<string, DeploymentRow>()
  const row = (image: string, version: number): DeploymentRow => {
    const k = key(image, version)
    let r = rows.get(k)
    if (r === undefined) {
      const cur = current.get(image)
      const isCurrent = cur?.version === version
      r = {
        image,
        version,
        state: known.get(k)?.state ?? 'unknown',
        current: isCurrent,
        clients: 0,
        pulling: 0,
        lagging: 0,
        firstHeldAtMs: null,
        lastHeldAtMs: null,
        publishedAtMs: known.get(k)?.publishedAtMs ?? null,
        behindSinceMs: cur !== undefined && version < cur.version ? cur.publishedAtMs : null
      }
      rows.set(k, r)
    }
    return r
  }
  for (const cur of current.values()) row(cur.image, cur.version)
  for (const h of held) {
    const r = row(h.image, h.version)
    r.clients += h.clients
    r.firstHeldAtMs = r.firstHeldAtMs === null ? h.firstHeldAtMs : Math.min(r.firstHeldAtMs, h.firstHeldAtMs)
    r.lastHeldAtMs = r.lastHeldAtMs === null ? h.lastHeldAtMs : Math.max(r.lastHeldAtMs, h.lastHeldAtMs)
    if (r.behindSinceMs !== null) r.lagging += h.clients
  }
  for (const p of pulling) row(p.image, p.version).pulling += p.clients
  return [...rows.values()]
}
