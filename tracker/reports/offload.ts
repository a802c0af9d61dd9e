/**
 * WAN offload arithmetic: what one `pull.completed` adds to its day's rollup, and the
 * report rows made of the rollups. Byte counts are as the node reports them
 * (`protocol/api/events.ts`): `bytesFromOrigin` / `bytesFromPeers` are wire bytes,
 * `decodedBytesFrom…` the same chunks decoded, `bytesFromLocal` data reused on the node's
 * own disk, `originBytesByReason` the origin's wire bytes split by why.
 */
import type { OffloadReportRow } from '../../protocol/index.ts'
import type { OffloadDelta, OffloadRow } from '../db/store.ts'

export const DAY_MS = 86_400_000

/** The start of the UTC day holding `ms`. */
export function utcDayStart (ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS
}

const count = (v: unknown): number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : 0

/** The rollup delta of an event, or undefined unless it is a `pull.completed`. */
export function offloadDelta (event: { type: string, atMs: number, payload: unknown }, site: string): OffloadDelta | undefined {
  if (event.type !== 'pull.completed') return undefined
  const p = event.payload as Record<string, unknown>
  const reasons: Record<string, number> = {}
  const byReason = p.originBytesByReason
  if (byReason !== null && typeof byReason === 'object') {
    for (const [reason, bytes] of Object.entries(byReason as Record<string, unknown>)) if (count(bytes) > 0) reasons[reason] = count(bytes)
  }
  const origin = count(p.bytesFromOrigin)
  const peers = count(p.bytesFromPeers)
  return {
    dayMs: utcDayStart(event.atMs),
    site,
    image: typeof p.image === 'string' ? p.image : '',
    originBytes: origin,
    peerBytes: peers,
    localBytes: count(p.bytesFromLocal),
    // older nodes report wire bytes only: decoded = wire then
    decodedOriginBytes: p.decodedBytesFromOrigin === undefined ? origin : count(p.decodedBytesFromOrigin),
    decodedPeerBytes: p.decodedBytesFromPeers === undefined ? peers : count(p.decodedBytesFromPeers),
    originBytesByReason: reasons
  }
}

/** (peer + local) / (origin + peer + local): the share of image data that did not cross the WAN. */
export function offloadRatio (r: Pick<OffloadRow, 'originBytes' | 'peerBytes' | 'localBytes'>): number {
  const total = r.originBytes + r.peerBytes + r.localBytes
  return total === 0 ? 0 : (r.peerBytes + r.localBytes) / total
}

export function offloadReportRow (r: OffloadRow): OffloadReportRow {
  return {
    day: new Date(r.dayMs).toISOString().slice(0, 10),
    site: r.site,
    pulls: r.pulls,
    originBytes: r.originBytes,
    peerBytes: r.peerBytes,
    localBytes: r.localBytes,
    decodedOriginBytes: r.decodedOriginBytes,
    decodedPeerBytes: r.decodedPeerBytes,
    offload: offloadRatio(r),
    originBytesByReason: r.originBytesByReason
  }
}
