/**
 * Bytes on the wire during a pull, as they arrived (compressed where they came so),
 * counted where they are received: the peer client's frames, the origin's HTTP bodies.
 * Every arrival counts, duplicates of the end game and refused bytes included — it is
 * what the LAN and the WAN carried.
 */
import { ORIGIN_REASONS } from '../scheduler.ts'
import type { OriginReason } from '../scheduler.ts'

export interface WireCounts {
  peers: number
  origin: number
  originByReason: Record<OriginReason, number>
}

export function emptyWireCounts (): WireCounts {
  return { peers: 0, origin: 0, originByReason: Object.fromEntries(ORIGIN_REASONS.map((r) => [r, 0])) as Record<OriginReason, number> }
}
