/**
 * Per-site wire bytes in `/metrics`, fed from the `pull.completed` events nodes report:
 * what crossed each branch's WAN link (origin) and LAN (peers), what was reused from the
 * desk's own disk (local), and why the origin was used. Bytes are wire bytes as the event
 * gives them (`protocol/api/events.ts`); decoded bytes beside them when the node sends them.
 *
 * Label values are bounded: the first `maxSites` sites seen get their own label, later
 * ones count as `other`; origin reasons outside the known set count as `other`.
 */
import { ORIGIN_REASONS } from '../../protocol/index.ts'
import type { Counter, Metrics } from '../metrics.ts'

export const OTHER_LABEL = 'other'
/** A client that never announced has no site yet. */
export const UNKNOWN_SITE = 'unknown'

export interface SiteWireMetrics {
  /** Counts the `pull.completed` events among `events`, reported by a client in `site`. */
  record: (site: string | undefined, events: ReadonlyArray<{ type: string, payload: Record<string, unknown> }>) => void
}

const KNOWN_REASONS = new Set<string>(ORIGIN_REASONS)

function count (v: unknown): number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : 0
}

export function createSiteWireMetrics (metrics: Metrics, init: { maxSites: number }): SiteWireMetrics {
  if (!Number.isInteger(init.maxSites) || init.maxSites < 1) throw new TypeError('maxSites must be a positive integer')
  const wire: Counter = metrics.counter('branchcast_site_wire_bytes_total', 'bytes on the wire per site and source (origin: the branch WAN link; peers: the LAN; local: reused from the desk\'s disk), from pull.completed events')
  const decoded: Counter = metrics.counter('branchcast_site_decoded_bytes_total', 'the same chunks decoded, per site and source, where the node reported them')
  const byReason: Counter = metrics.counter('branchcast_site_origin_wire_bytes_total', 'origin wire bytes per site and origin reason, from pull.completed events')
  const pulls: Counter = metrics.counter('branchcast_site_pulls_total', 'completed pulls per site')
  const sites = new Set<string>()

  const siteLabel = (site: string | undefined): string => {
    const s = site === undefined || site === '' ? UNKNOWN_SITE : site
    if (sites.has(s)) return s
    if (sites.size >= init.maxSites) return OTHER_LABEL
    sites.add(s)
    return s
  }

  return {
    record (site, events) {
      for (const e of events) {
        if (e.type !== 'pull.completed') continue
        const p = e.payload
        const label = siteLabel(site)
        pulls.inc({ site: label })
        wire.inc({ site: label, source: 'origin' }, count(p.bytesFromOrigin))
        wire.inc({ site: label, source: 'peers' }, count(p.bytesFromPeers))
        wire.inc({ site: label, source: 'local' }, count(p.bytesFromLocal))
        if (p.decodedBytesFromOrigin !== undefined) decoded.inc({ site: label, source: 'origin' }, count(p.decodedBytesFromOrigin))
        if (p.decodedBytesFromPeers !== undefined) decoded.inc({ site: label, source: 'peers' }, count(p.decodedBytesFromPeers))
        const reasons = typeof p.originBytesByReason === 'object' && p.originBytesByReason !== null ? p.originBytesByReason as Record<string, unknown> : {}
        for (const [reason, bytes] of Object.entries(reasons)) {
          if (count(bytes) === 0) continue
          byReason.inc({ site: label, reason: KNOWN_REASONS.has(reason) ? reason : OTHER_LABEL }, count(bytes))
        }
      }
    }
  }
}
