/**
 * The transfer scheduler: a pure state machine (no sockets, files or clocks — callers pass
 * `nowMs`) that decides, for every chunk a node still needs, whether to ask a peer or the
 * origin, and says why whenever it picks the origin.
 *
 * Rules, in order:
 * - Peers first, rarest chunk first, at most `maxInflightPerPeer` chunks in flight per peer
 *   (pipelining), never the same peer twice for a chunk it failed.
 * - The origin for: chunks in this node's share of the site's origin work (`assigned`),
 *   everything when the policy forbids peers (`policy`), everything when the swarm has no
 *   other member (`no-peer`), a chunk whose holders all sent bad bytes (`bad-piece`) or
 *   timed out (`peers-slow`), and chunks nobody holds once the whole swarm has made no
 *   progress for `stallMs` (`waited`: the member assigned to them is gone or stuck).
 * - Origin concurrency follows its health (AIMD): an error or slow answer halves the
 *   allowed in-flight count and backs off exponentially; successes raise it again.
 * - End game: when every missing chunk is in flight and few remain, each is also asked
 *   of a second holder; the first verified copy wins.
 */
import { hasBit, inShare, isOriginShare } from '../protocol/index.ts'
import type { OriginShare } from '../protocol/index.ts'
import {
  DEFAULT_END_GAME_CHUNKS, DEFAULT_MAX_INFLIGHT_ORIGIN, DEFAULT_MAX_INFLIGHT_PER_PEER,
  DEFAULT_REQUEST_TIMEOUT_MS, DEFAULT_STALL_MS, ORIGIN_BACKOFF_MAX_MS, ORIGIN_BACKOFF_MIN_MS,
  DEFAULT_ORIGIN_SLOW_MS, PEER_BUSY_BACKOFF_MS, MAX_TIMEOUTS_PER_CHUNK, MAX_BUSY_PER_CHUNK
} from './constants.ts'

export type OriginReason = 'assigned' | 'policy' | 'no-peer' | 'bad-piece' | 'peers-slow' | 'waited'
export const ORIGIN_REASONS: readonly OriginReason[] = ['assigned', 'policy', 'no-peer', 'bad-piece', 'peers-slow', 'waited']

export type Source = { kind: 'peer', peerId: string } | { kind: 'origin', reason: OriginReason }

/** Ask `source` for these chunk indexes now. */
export interface Assignment {
  source: Source
  indexes: number[]
}

/** `busy`: the peer refused for now (upload slots full, token to renew): no mark against it for the chunk. */
export type FailureKind = 'missing' | 'timeout' | 'corrupt' | 'error' | 'busy'

export interface SchedulerInit {
  /** byte length of every chunk of the image, by index */
  lengths: ArrayLike<number>
  /** indexes this node still needs (after its cache and seed index) */
  needed: Iterable<number>
  /** this node's slice of the site's origin work over these (distinct-chunk) indexes: `protocol/swarm/origin-share.ts` */
  originShare?: OriginShare
  p2pAllowed?: boolean
  maxInflightPerPeer?: number
  maxInflightOrigin?: number
  requestTimeoutMs?: number
  stallMs?: number
  endGameChunks?: number
  /** an origin answer slower than this counts against its health */
  originSlowMs?: number
  nowMs: number
}

interface Inflight { source: Source, key: string, deadlineMs: number }

interface PeerState { have: Uint8Array | undefined, inflight: number, busyUntilMs: number }

export interface SchedulerStats {
  bytesFromPeers: number
  bytesFromOrigin: number
  originBytesByReason: Record<OriginReason, number>
  chunksFromPeers: number
  chunksFromOrigin: number
  duplicates: number
  /** failed requests by kind, for the pull report */
  failures: Record<FailureKind, number>
}

const ORIGIN_KEY = 'origin'

function sourceKey (s: Source): string { return s.kind === 'origin' ? ORIGIN_KEY : `p:${s.peerId}` }

function bit (have: Uint8Array | undefined, i: number): boolean {
  return have !== undefined && hasBit(have, i)
}

export class Scheduler {
  private readonly lengths: ArrayLike<number>
  private share: OriginShare | undefined
  private p2pAllowed: boolean
  private readonly maxPerPeer: number
  private readonly maxOrigin: number
  private readonly timeoutMs: number
  private readonly stallMs: number
  private readonly endGame: number
  private readonly originSlowMs: number

  /** missing chunks (not yet received) */
  private readonly missing = new Set<number>()
  /** in-flight requests per chunk */
  private readonly inflight = new Map<number, Inflight[]>()
  /** peers that failed a chunk, per chunk, with the kind of the last failure */
  private readonly failedBy = new Map<number, Map<string, FailureKind>>()
  private readonly peers = new Map<string, PeerState>()
  /** slow answers per chunk */
  private readonly timeouts = new Map<number, number>()
  /** 'busy' refusals per chunk, by peer */
  private readonly busyBy = new Map<number, Map<string, number>>()
  /** how many known peers hold each chunk */
  private readonly availability: Uint16Array
  private originInflight = 0
  private originAllowed: number
  private originBackoffMs = 0
  private originBlockedUntilMs = 0
  private lastProgressMs: number
  private order: number[] | undefined
  readonly stats: SchedulerStats = {
    bytesFromPeers: 0,
    bytesFromOrigin: 0,
    originBytesByReason: { assigned: 0, policy: 0, 'no-peer': 0, 'bad-piece': 0, 'peers-slow': 0, waited: 0 },
    chunksFromPeers: 0,
    chunksFromOrigin: 0,
    duplicates: 0,
    failures: { missing: 0, timeout: 0, corrupt: 0, error: 0, busy: 0 }
  }

  constructor (init: SchedulerInit) {
    this.lengths = init.lengths
    this.setOriginShare(init.originShare)
    this.p2pAllowed = init.p2pAllowed ?? true
    this.maxPerPeer = init.maxInflightPerPeer ?? DEFAULT_MAX_INFLIGHT_PER_PEER
    this.maxOrigin = init.maxInflightOrigin ?? DEFAULT_MAX_INFLIGHT_ORIGIN
    this.originAllowed = this.maxOrigin
    this.timeoutMs = init.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
    this.stallMs = init.stallMs ?? DEFAULT_STALL_MS
    this.endGame = init.endGameChunks ?? DEFAULT_END_GAME_CHUNKS
    this.originSlowMs = init.originSlowMs ?? DEFAULT_ORIGIN_SLOW_MS
    this.availability = new Uint16Array(init.lengths.length)
    for (const i of init.needed) {
      if (!Number.isInteger(i) || i < 0 || i >= init.lengths.length) throw new TypeError(`chunk index ${i} out of range`)
      this.missing.add(i)
    }
    this.lastProgressMs = init.nowMs
  }

  get done (): boolean { return this.missing.size === 0 }
  get remaining (): number { return this.missing.size }
  get peerCount (): number { return this.peers.size }

  /** The tracker recomputes shares as the site's members come and go. */
  setOriginShare (share: OriginShare | undefined): void {
    if (share !== undefined && !isOriginShare(share)) throw new TypeError('originShare needs 0 <= index < of')
    this.share = share === undefined ? undefined : { index: share.index, of: share.of }
  }

  /** The policy can change mid-pull (an admin turned peer-to-peer off). */
  setP2pAllowed (allowed: boolean): void {
    this.p2pAllowed = allowed
  }

  /** Replace what a peer holds (a bitfield over chunk indexes, most significant bit first). */
  setPeerHave (peerId: string, have: Uint8Array, nowMs: number): void {
    const p = this.peers.get(peerId) ?? { have: undefined, inflight: 0, busyUntilMs: 0 }
    let gained = false
    for (const i of this.missing) {
      const before = bit(p.have, i)
      const after = bit(have, i)
      if (before !== after) {
        this.availability[i] = this.availability[i]! + (after ? 1 : -1)
        if (after) gained = true
      }
    }
    p.have = have
    this.peers.set(peerId, p)
    this.order = undefined
    if (gained) this.lastProgressMs = nowMs
  }

  /** A peer left or was banned: its requests fail over, its chunks no longer count. */
  removePeer (peerId: string, nowMs: number): void {
    const p = this.peers.get(peerId)
    if (p === undefined) return
    for (const i of this.missing) if (bit(p.have, i)) this.availability[i] = this.availability[i]! - 1
    this.peers.delete(peerId)
    const key = `p:${peerId}`
    for (const [i, list] of this.inflight) {
      const kept = list.filter((f) => f.key !== key)
      if (kept.length === 0) this.inflight.delete(i)
      else this.inflight.set(i, kept)
    }
    this.order = undefined
    void nowMs
  }

  /** Missing chunks, rarest first (ties by index), recomputed only after haves change. */
  private rarestFirst (): number[] {
    this.order ??= [...this.missing].sort((a, b) => (this.availability[a]! - this.availability[b]!) || (a - b))
    return this.order
  }

  private holders (i: number): string[] {
    const out: string[] = []
    for (const [id, p] of this.peers) if (bit(p.have, i)) out.push(id)
    return out
  }

  private originReason (i: number, nowMs: number): OriginReason | undefined {
    if (!this.p2pAllowed) return 'policy'
    if (this.share !== undefined && inShare(this.share, i)) return 'assigned'
    if (this.peers.size === 0 && (this.share === undefined || this.share.of <= 1)) return 'no-peer'
    const failed = this.failedBy.get(i)
    if (this.availability[i]! > 0) {
      // Holders exist: the origin only when every one of them has failed this chunk.
      if (failed === undefined) return undefined
      const holders = this.holders(i)
      if (holders.every((h) => failed.has(h))) {
        return holders.some((h) => failed.get(h) === 'corrupt') ? 'bad-piece' : 'peers-slow'
      }
      return undefined
    }
    if (failed !== undefined && failed.size > 0) return [...failed.values()].includes('corrupt') ? 'bad-piece' : 'peers-slow'
    if (this.peers.size === 0 && this.share === undefined) return 'no-peer'
    if (nowMs - this.lastProgressMs >= this.stallMs) return 'waited'
    return undefined
  }

  private addInflight (i: number, source: Source, nowMs: number): void {
    const list = this.inflight.get(i) ?? []
    list.push({ source, key: sourceKey(source), deadlineMs: nowMs + this.timeoutMs })
    this.inflight.set(i, list)
    if (source.kind === 'origin') this.originInflight++
    else this.peers.get(source.peerId)!.inflight++
  }

  /** What to request now. Call after every event (receipt, failure, have update, timer). */
  next (nowMs: number): Assignment[] {
    const byPeer = new Map<string, number[]>()
    const byReason = new Map<OriginReason, number[]>()
    const order = this.rarestFirst()
    const peerFree = (id: string): boolean => { const p = this.peers.get(id)!; return p.inflight < this.maxPerPeer && p.busyUntilMs <= nowMs }
    const originOpen = nowMs >= this.originBlockedUntilMs
    for (const i of order) {
      if (!this.missing.has(i) || this.inflight.has(i)) continue
      const failed = this.failedBy.get(i)
      if (this.p2pAllowed && this.availability[i]! > 0) {
        let best: string | undefined
        let bestLoad = Infinity
        for (const [id, p] of this.peers) {
          if (!bit(p.have, i) || failed?.has(id) === true || !peerFree(id)) continue
          if (p.inflight < bestLoad) { best = id; bestLoad = p.inflight }
        }
        if (best !== undefined) {
          this.addInflight(i, { kind: 'peer', peerId: best }, nowMs)
          const list = byPeer.get(best) ?? []
          list.push(i)
          byPeer.set(best, list)
          continue
        }
      }
      if (!originOpen || this.originInflight >= this.originAllowed) continue
      const reason = this.originReason(i, nowMs)
      if (reason === undefined) continue
      this.addInflight(i, { kind: 'origin', reason }, nowMs)
      const list = byReason.get(reason) ?? []
      list.push(i)
      byReason.set(reason, list)
    }

    // End game: everything missing is in flight and little remains — ask a second holder.
    if (this.p2pAllowed && this.missing.size > 0 && this.missing.size <= this.endGame && [...this.missing].every((i) => this.inflight.has(i))) {
      for (const i of this.missing) {
        const list = this.inflight.get(i)
        if (list === undefined || list.length > 1) continue
        const failed = this.failedBy.get(i)
        const busy = new Set(list.map((f) => f.key))
        for (const [id, p] of this.peers) {
          if (busy.has(`p:${id}`) || !bit(p.have, i) || failed?.has(id) === true || !peerFree(id)) continue
          this.addInflight(i, { kind: 'peer', peerId: id }, nowMs)
          const l = byPeer.get(id) ?? []
          l.push(i)
          byPeer.set(id, l)
          break
        }
      }
    }

    const out: Assignment[] = []
    for (const [peerId, indexes] of byPeer) out.push({ source: { kind: 'peer', peerId }, indexes })
    for (const [reason, indexes] of byReason) out.push({ source: { kind: 'origin', reason }, indexes })
    return out
  }

  private settle (i: number, key: string): Inflight | undefined {
    const list = this.inflight.get(i)
    if (list === undefined) return undefined
    const at = list.findIndex((f) => f.key === key)
    if (at < 0) return undefined
    const [f] = list.splice(at, 1)
    if (list.length === 0) this.inflight.delete(i)
    if (f!.source.kind === 'origin') this.originInflight--
    else { const p = this.peers.get(f!.source.peerId); if (p !== undefined) p.inflight-- }
    return f
  }

  /** The request for chunk `i` actually went out (it may have waited in a queue): its deadline starts now. */
  sent (i: number, source: Source, nowMs: number): void {
    const f = this.inflight.get(i)?.find((x) => x.key === sourceKey(source))
    if (f !== undefined) f.deadlineMs = nowMs + this.timeoutMs
  }

  /**
   * A verified chunk arrived. Returns false for a duplicate (end game or late answer),
   * which the caller drops. `latencyMs` feeds the origin's health.
   */
  received (i: number, source: Source, nowMs: number, latencyMs = 0): boolean {
    const f = this.settle(i, sourceKey(source))
    if (source.kind === 'origin') this.originSucceeded(latencyMs, nowMs)
    if (!this.missing.has(i)) { this.stats.duplicates++; return false }
    this.missing.delete(i)
    this.failedBy.delete(i)
    this.timeouts.delete(i)
    this.busyBy.delete(i)
    this.lastProgressMs = nowMs
    const bytes = this.lengths[i]!
    if (source.kind === 'origin') {
      const reason = f?.source.kind === 'origin' ? f.source.reason : source.reason
      this.stats.bytesFromOrigin += bytes
      this.stats.chunksFromOrigin++
      this.stats.originBytesByReason[reason] += bytes
    } else {
      this.stats.bytesFromPeers += bytes
      this.stats.chunksFromPeers++
    }
    // Duplicate requests still out for this chunk are left to complete or time out.
    return true
  }

  /** A request for chunk `i` failed; the chunk becomes schedulable elsewhere. */
  failed (i: number, source: Source, kind: FailureKind, nowMs: number): void {
    this.settle(i, sourceKey(source))
    this.stats.failures[kind]++
    if (kind === 'busy' && source.kind === 'peer') {
      const p = this.peers.get(source.peerId)
      if (p !== undefined) p.busyUntilMs = nowMs + PEER_BUSY_BACKOFF_MS
      // A holder that is busy every time it is asked (overloaded, or a liar claiming every
      // chunk) would keep the chunk from anyone else for ever: after MAX_BUSY_PER_CHUNK
      // refusals it counts as failed for that chunk, like a slow one.
      const byPeer = this.busyBy.get(i) ?? new Map<string, number>()
      const n = (byPeer.get(source.peerId) ?? 0) + 1
      byPeer.set(source.peerId, n)
      this.busyBy.set(i, byPeer)
      if (n < MAX_BUSY_PER_CHUNK) return
    }
    if (source.kind === 'origin') {
      if (kind !== 'missing') this.originFailed(nowMs)
      return
    }
    if (kind === 'timeout') {
      // A slow answer is no proof the peer lacks the chunk: try the others first, and only
      // after MAX_TIMEOUTS_PER_CHUNK slow answers count the holders as too slow.
      const n = (this.timeouts.get(i) ?? 0) + 1
      this.timeouts.set(i, n)
      if (n < MAX_TIMEOUTS_PER_CHUNK) {
        const p = this.peers.get(source.peerId)
        if (p !== undefined) p.busyUntilMs = nowMs + PEER_BUSY_BACKOFF_MS
        return
      }
    }
    const m = this.failedBy.get(i) ?? new Map<string, FailureKind>()
    m.set(source.peerId, kind)
    this.failedBy.set(i, m)
  }

  /** In-flight requests past their deadline; the caller cancels them and calls `failed(…, 'timeout')`. */
  expired (nowMs: number): Array<{ index: number, source: Source }> {
    const out: Array<{ index: number, source: Source }> = []
    for (const [i, list] of this.inflight) for (const f of list) if (f.deadlineMs <= nowMs) out.push({ index: i, source: f.source })
    return out
  }

  /** When `next()` may have something new without any event: a deadline, a stall or the origin's back-off ending. */
  nextWakeMs (nowMs: number): number | undefined {
    let wake: number | undefined
    const consider = (t: number): void => { if (t > nowMs && (wake === undefined || t < wake)) wake = t }
    for (const list of this.inflight.values()) for (const f of list) consider(f.deadlineMs)
    if (this.missing.size > 0) consider(this.lastProgressMs + this.stallMs)
    if (this.originBlockedUntilMs > nowMs) consider(this.originBlockedUntilMs)
    for (const p of this.peers.values()) if (p.busyUntilMs > nowMs) consider(p.busyUntilMs)
    return wake
  }

  private originSucceeded (latencyMs: number, nowMs: number): void {
    if (latencyMs > this.originSlowMs) { this.originFailed(nowMs); return }
    this.originBackoffMs = 0
    this.originAllowed = Math.min(this.maxOrigin, this.originAllowed + 1)
  }

  private originFailed (nowMs: number): void {
    this.originAllowed = Math.max(1, Math.floor(this.originAllowed / 2))
    this.originBackoffMs = Math.min(ORIGIN_BACKOFF_MAX_MS, Math.max(ORIGIN_BACKOFF_MIN_MS, this.originBackoffMs * 2))
    this.originBlockedUntilMs = nowMs + this.originBackoffMs
  }

  /** The origin's current allowance, for reports and tests. */
  get originHealth (): { allowed: number, blockedUntilMs: number } {
    return { allowed: this.originAllowed, blockedUntilMs: this.originBlockedUntilMs }
  }
}
