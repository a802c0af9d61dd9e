/**
 * The transfer scheduler: a pure state machine (no sockets, files or clocks — callers pass
 * `nowMs`) that decides, for every chunk a node still needs, whether to ask a peer or the
 * origin, and says why whenever it picks the origin.
 *
 * Rules, in order:
 * - Chunks a reader waits for (`prioritize`: a guest booting from the image as it arrives)
 *   before all others, by the rules below, except that one no peer holds goes to the origin
 *   at once (`on-demand`) instead of waiting on the share or the stall.
 *   Their origin requests may exceed the origin's limit by ORIGIN_URGENT_EXTRA.
 * - Then chunks named first (`preferFirst`: a boot profile), in their order, by the rules below.
 * - Peers first, rarest chunk first, at most `maxInflightPerPeer` chunks in flight per peer
 *   (pipelining), never the same peer twice for a chunk it failed. A chunk some untried
 *   peer holds waits for a free slot on a holder: full pipelines are no reason to use the
 *   branch's WAN link.
 * - The origin, for a chunk a peer holds, only when every holder failed it — sent bad bytes
 *   (`bad-piece`) or timed out / stayed busy (`peers-slow`) — or when the peers are
 *   measurably slower than the origin (`peers-slow` by rate: projected completion from the
 *   peers' observed rate more than `PEERS_SLOW_ENTER_RATIO` × the origin's, left again
 *   below `PEERS_SLOW_EXIT_RATIO` ×; the numbers are in `stats.peersSlow`).
 * - The origin, for a chunk no peer holds: everything when the policy forbids peers
 *   (`policy`); when this node is the only one of its site still pulling (share `of` 1, or
 *   no share) (`no-peer`: a lone node, or a joiner whose site's holders lack the chunk);
 *   when the chunk is in this node's share of the pulling nodes' origin work (`assigned`);
 *   otherwise once the whole swarm has made no progress for `stallMs` (`waited`: the
 *   member assigned to it is gone or stuck).
 * - Ties in rarity: the site's first puller (share index 0) goes up from the start, every
 *   other one down from the end of its slice of the image, so a node still fetching alone
 *   (it hears of a newcomer's share at its next announce) and the newcomer do not fetch
 *   the same chunks from the origin meanwhile: they work from opposite ends.
 * - Origin concurrency follows its health (AIMD): an error or slow answer halves the
 *   allowed in-flight count and backs off exponentially; successes raise it again.
 * - End game: when every missing chunk is in flight and few remain, each is also asked
 *   of a second holder; the first verified copy wins.
 */
import { ORIGIN_REASONS as REASONS, WHOLE_SHARE, hasBit, inShare, isOriginShare } from '../protocol/index.ts'
import type { OriginReason, OriginShare } from '../protocol/index.ts'
import {
  DEFAULT_END_GAME_CHUNKS, DEFAULT_MAX_INFLIGHT_ORIGIN, DEFAULT_MAX_INFLIGHT_PER_PEER,
  DEFAULT_REQUEST_TIMEOUT_MS, DEFAULT_STALL_MS, ORIGIN_BACKOFF_MAX_MS, ORIGIN_BACKOFF_MIN_MS,
  DEFAULT_ORIGIN_SLOW_MS, PEER_BUSY_BACKOFF_MS, MAX_TIMEOUTS_PER_CHUNK, MAX_BUSY_PER_CHUNK,
  PEERS_SLOW_ENTER_RATIO, PEERS_SLOW_EXIT_RATIO, PEERS_SLOW_MIN_GAIN_MS, RATE_HALF_LIFE_MS, RATE_MIN_OBSERVED_MS,
  ORIGIN_URGENT_EXTRA
} from './constants.ts'
import { RateMeter } from './rate-meter.ts'

export type { OriginReason }
/** The origin reasons (their one home is `protocol/swarm/origin-share.ts`). */
export const ORIGIN_REASONS: readonly OriginReason[] = REASONS

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
  /**
   * the origin rate to expect before any origin byte was seen (policy cap, configured WAN
   * share); without it, peers can be judged slow only against an observed origin rate
   */
  originRateBytesPerSec?: number
  nowMs: number
}

/** Why the origin took chunks peers hold: the measurement behind `peers-slow` by rate. */
export interface PeersSlowEvidence {
  /** when the scheduler last judged the peers slow */
  sinceMs: number
  /** times it entered that state during this pull */
  entered: number
  peerRateBytesPerSec: number
  originRateBytesPerSec: number
  /** bytes still missing at that moment, over each rate */
  projectedPeersMs: number
  projectedOriginMs: number
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
  /** the last time peers were judged slower than the origin (null: never), for the pull report and its event */
  peersSlow: PeersSlowEvidence | null
}

const ORIGIN_KEY = 'origin'

function sourceKey (s: Source): string { return s.kind === 'origin' ? ORIGIN_KEY : `p:${s.peerId}` }

function bit (have: Uint8Array | undefined, i: number): boolean {
  return have !== undefined && hasBit(have, i)
}

/**
 * A set of chunk indexes below a bound, as one bit each: an image's worth of indexes
 * (131 072 for 8 GiB) in 16 KiB, where a `Set` of numbers took megabytes. Iteration skips
 * empty bytes and is ascending.
 */
class IndexSet {
  readonly #bits: Uint8Array
  #size = 0
  constructor (bound: number) { this.#bits = new Uint8Array(Math.ceil(bound / 8)) }
  get size (): number { return this.#size }
  has (i: number): boolean { return (this.#bits[i >> 3]! & (0x80 >> (i & 7))) !== 0 }
  add (i: number): void {
    if (this.has(i)) return
    this.#bits[i >> 3]! |= 0x80 >> (i & 7)
    this.#size++
  }

  delete (i: number): boolean {
    if (!this.has(i)) return false
    this.#bits[i >> 3]! &= ~(0x80 >> (i & 7))
    this.#size--
    return true
  }

  * [Symbol.iterator] (): Generator<number> {
    const b = this.#bits
    for (let k = 0; k < b.length; k++) {
      const v = b[k]!
      if (v === 0) continue
      for (let j = 0; j < 8; j++) if ((v & (0x80 >> j)) !== 0) yield k * 8 + j
    }
  }
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
  private readonly missing: IndexSet
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
  /** missing chunks in the order to take them (rarest first), as of the last haves or share change */
  private order: Uint32Array | undefined
  /** order[0 .. orderStart) have all arrived: the scan starts after them */
  private orderStart = 0
  /** chunks someone is waiting to read now (a booting guest), first asked first: scheduled before the rest */
  private readonly urgent = new Set<number>()
  /** chunks to take before the rarest-first order, in this order (a boot profile): usual source rules */
  private preferred: number[] = []
  private peerInflight = 0
  private missingBytes = 0
  private readonly peerRate: RateMeter
  private readonly originRate: RateMeter
  private readonly expectedOriginRate: number | undefined
  /** peers judged slower than the origin by rate, now */
  private peersSlowNow = false
  readonly stats: SchedulerStats = {
    bytesFromPeers: 0,
    bytesFromOrigin: 0,
    originBytesByReason: Object.fromEntries(ORIGIN_REASONS.map((r) => [r, 0])) as Record<OriginReason, number>,
    chunksFromPeers: 0,
    chunksFromOrigin: 0,
    duplicates: 0,
    failures: { missing: 0, timeout: 0, corrupt: 0, error: 0, busy: 0 },
    peersSlow: null
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
    if (init.originRateBytesPerSec !== undefined && !(init.originRateBytesPerSec > 0)) throw new TypeError('originRateBytesPerSec must be positive')
    this.expectedOriginRate = init.originRateBytesPerSec
    this.peerRate = new RateMeter(RATE_HALF_LIFE_MS, init.nowMs)
    this.originRate = new RateMeter(RATE_HALF_LIFE_MS, init.nowMs)
    this.availability = new Uint16Array(init.lengths.length)
    this.missing = new IndexSet(init.lengths.length)
    for (const i of init.needed) {
      if (!Number.isInteger(i) || i < 0 || i >= init.lengths.length) throw new TypeError(`chunk index ${i} out of range`)
      if (!this.missing.has(i)) this.missingBytes += init.lengths[i]!
      this.missing.add(i)
    }
    this.lastProgressMs = init.nowMs
  }

  /** Time passes for the rate meters: each counts the time its source had requests out. */
  private tick (nowMs: number): void {
    this.peerRate.advance(nowMs, this.peerInflight > 0)
    this.originRate.advance(nowMs, this.originInflight > 0)
  }

  /**
   * The `peers-slow` judgement by rate, with hysteresis: enter when the peers would take
   * more than ENTER × as long as the origin for what is left (and at least MIN_GAIN longer),
   * leave when they are back within EXIT ×. No judgement without enough evidence for both.
   */
  private judgePeers (nowMs: number): void {
    const peer = this.peerRate.rateBytesPerSec(RATE_MIN_OBSERVED_MS)
    const origin = this.originRate.rateBytesPerSec(RATE_MIN_OBSERVED_MS) ?? this.expectedOriginRate
    if (peer === undefined || origin === undefined || this.peers.size === 0) {
      if (this.peers.size === 0) this.peersSlowNow = false
      return
    }
    const projectedPeersMs = this.missingBytes / Math.max(peer, 1) * 1000
    const projectedOriginMs = this.missingBytes / origin * 1000
    if (!this.peersSlowNow) {
      if (projectedPeersMs > PEERS_SLOW_ENTER_RATIO * projectedOriginMs && projectedPeersMs - projectedOriginMs >= PEERS_SLOW_MIN_GAIN_MS) {
        this.peersSlowNow = true
        this.stats.peersSlow = {
          sinceMs: nowMs,
          entered: (this.stats.peersSlow?.entered ?? 0) + 1,
          peerRateBytesPerSec: Math.round(peer),
          originRateBytesPerSec: Math.round(origin),
          projectedPeersMs: Math.round(projectedPeersMs),
          projectedOriginMs: Math.round(projectedOriginMs)
        }
      }
    } else if (projectedPeersMs <= PEERS_SLOW_EXIT_RATIO * projectedOriginMs) {
      this.peersSlowNow = false
    }
  }

  /** Whether the origin may now take chunks peers hold because the peers are too slow (see `stats.peersSlow`). */
  get peersSlow (): boolean { return this.peersSlowNow }

  get done (): boolean { return this.missing.size === 0 }
  get remaining (): number { return this.missing.size }
  get peerCount (): number { return this.peers.size }

  /** The tracker recomputes shares as the site's members come and go. */
  setOriginShare (share: OriginShare | undefined): void {
    if (share !== undefined && !isOriginShare(share)) throw new TypeError('originShare needs 0 <= index < of')
    if (share?.index !== this.share?.index || share?.of !== this.share?.of) this.order = undefined
    this.share = share === undefined ? undefined : { index: share.index, of: share.of }
  }

  /** The policy can change mid-pull (an admin turned peer-to-peer off). */
  setP2pAllowed (allowed: boolean): void {
    this.p2pAllowed = allowed
  }

  /** Replace what a peer holds (a bitfield over chunk indexes, most significant bit first). */
  setPeerHave (peerId: string, have: Uint8Array, nowMs: number): void {
    this.tick(nowMs)
    const p = this.peers.get(peerId) ?? { have: undefined, inflight: 0, busyUntilMs: 0 }
    let gained = false
    let changed = false
    for (const i of this.missing) {
      const before = bit(p.have, i)
      const after = bit(have, i)
      if (before !== after) {
        this.availability[i] = this.availability[i]! + (after ? 1 : -1)
        changed = true
        if (after) gained = true
      }
    }
    p.have = have
    this.peers.set(peerId, p)
    // re-sorted only when the counts moved: a peer re-announcing the same chunks every second
    // re-sorted every missing chunk each time (~0.1 s at 131 072 chunks)
    if (changed) this.order = undefined
    if (gained) this.lastProgressMs = nowMs
  }

  /** A peer left or was banned: its requests fail over, its chunks no longer count. */
  removePeer (peerId: string, nowMs: number): void {
    const p = this.peers.get(peerId)
    if (p === undefined) return
    for (const i of this.missing) if (bit(p.have, i)) this.availability[i] = this.availability[i]! - 1
    this.peers.delete(peerId)
    this.tick(nowMs)
    const key = `p:${peerId}`
    for (const [i, list] of this.inflight) {
      const kept = list.filter((f) => f.key !== key)
      this.peerInflight -= list.length - kept.length
      if (kept.length === 0) this.inflight.delete(i)
      else this.inflight.set(i, kept)
    }
    this.order = undefined
  }

  /**
   * Missing chunks, rarest first; ties ascending for the first puller, descending from the
   * end of its slice for the others; recomputed only after haves or the share change.
   */
  private rarestFirst (): Uint32Array {
    if (this.order === undefined) {
      // a counting sort by availability, filled in position order: stable, O(n), no comparator
      const n = this.lengths.length
      const share = this.share ?? WHOLE_SHARE
      const end = Math.floor((share.index + 1) * n / share.of) - 1
      const at = share.index === 0 ? (p: number): number => p : (p: number): number => (end - p + n) % n
      let most = 0
      for (const i of this.missing) if (this.availability[i]! > most) most = this.availability[i]!
      const start = new Uint32Array(most + 2)
      for (const i of this.missing) start[this.availability[i]! + 1]!++
      for (let a = 0; a <= most; a++) start[a + 1]! += start[a]!
      const order = new Uint32Array(this.missing.size)
      for (let p = 0; p < n; p++) {
        const i = at(p)
        if (this.missing.has(i)) order[start[this.availability[i]!]!++] = i
      }
      this.order = order
      this.orderStart = 0
    }
    // skip the received front for good, or every next() would walk it again
    while (this.orderStart < this.order.length && !this.missing.has(this.order[this.orderStart]!)) this.orderStart++
    return this.order.subarray(this.orderStart)
  }

  private holders (i: number): string[] {
    const out: string[] = []
    for (const [id, p] of this.peers) if (bit(p.have, i)) out.push(id)
    return out
  }

  /** Why chunk `i` (no free holder took it) may go to the origin now, or undefined: it waits. */
  private originReason (i: number, nowMs: number): OriginReason | undefined {
    if (!this.p2pAllowed) return 'policy'
    const failed = this.failedBy.get(i)
    if (this.availability[i]! > 0) {
      // Holders exist: the origin only when every one of them failed this chunk, or the
      // peers as a whole are measurably slower than the origin.
      const holders = this.holders(i)
      if (failed !== undefined && holders.every((h) => failed.has(h))) {
        return holders.some((h) => failed.get(h) === 'corrupt') ? 'bad-piece' : 'peers-slow'
      }
      return this.peersSlowNow ? 'peers-slow' : undefined
    }
    if (failed !== undefined && failed.size > 0) return [...failed.values()].includes('corrupt') ? 'bad-piece' : 'peers-slow'
    // Nobody we know holds it, and a reader waits for it now.
    if (this.urgent.has(i)) return 'on-demand'
    // Nobody we know holds it.
    const share = this.share ?? WHOLE_SHARE
    if (share.of <= 1) return 'no-peer'
    if (inShare(share, i)) return 'assigned'
    if (nowMs - this.lastProgressMs >= this.stallMs) return 'waited'
    return undefined
  }

  private addInflight (i: number, source: Source, nowMs: number): void {
    const list = this.inflight.get(i) ?? []
    list.push({ source, key: sourceKey(source), deadlineMs: nowMs + this.timeoutMs })
    this.inflight.set(i, list)
    if (source.kind === 'origin') this.originInflight++
    else { this.peers.get(source.peerId)!.inflight++; this.peerInflight++ }
  }

  /**
   * Chunks a reader waits for (a guest booting from the image while it arrives): they are
   * scheduled before all others, from a free holder if one has them, else from the origin at
   * once (`on-demand`) rather than after the share and stall rules.
   */
  prioritize (indexes: Iterable<number>): void {
    for (const i of indexes) if (this.missing.has(i)) this.urgent.add(i)
  }

  /**
   * Chunks to take before the rest, in the order given (the chunks a boot reads, from a
   * verified boot profile). Unlike `prioritize`, no reader waits for them yet: they follow
   * the usual rules (peers first, the origin share), only ahead of rarest-first.
   */
  preferFirst (indexes: Iterable<number>): void {
    const seen = new Set<number>()
    this.preferred = []
    for (const i of indexes) if (this.missing.has(i) && !seen.has(i)) { seen.add(i); this.preferred.push(i) }
  }

  /** What to request now. Call after every event (receipt, failure, have update, timer). */
  next (nowMs: number): Assignment[] {
    this.tick(nowMs)
    this.judgePeers(nowMs)
    const byPeer = new Map<string, number[]>()
    const byReason = new Map<OriginReason, number[]>()
    if (this.preferred.length > 0) this.preferred = this.preferred.filter((i) => this.missing.has(i))
    const order = this.rarestFirst()
    const head = this.urgent.size + this.preferred.length
    const peerFree = (id: string): boolean => { const p = this.peers.get(id)!; return p.inflight < this.maxPerPeer && p.busyUntilMs <= nowMs }
    let freePeers = 0
    if (this.p2pAllowed) for (const id of this.peers.keys()) if (peerFree(id)) freePeers++
    const originOpen = nowMs >= this.originBlockedUntilMs
    // the origin requests allowed for the k-th candidate: more for a reader's
    const urgentEnd = this.urgent.size
    const originCap = (k: number): number => k < urgentEnd ? this.originAllowed + ORIGIN_URGENT_EXTRA : this.originAllowed
    // urgent, then preferred, then rarest first; a chunk met twice is in flight the second time
    const candidates = function * (s: Scheduler): Generator<number> {
      yield * s.urgent
      yield * s.preferred
      yield * order
    }
    let seen = 0
    for (const i of head > 0 ? candidates(this) : order) {
      // Nothing left to give work to: the rest would only be walked, once per event over every
      // missing chunk (quadratic in the image's chunks: ~20 s of CPU at 8 GiB). With no peer
      // free and peers allowed, the origin takes a chunk peers hold only for peers-slow or
      // failures, and past the head the order has the chunks nobody holds first.
      const k = seen++
      const cap = originCap(k)
      if (freePeers === 0 && (!originOpen || this.originInflight >= cap ||
        (this.p2pAllowed && k >= head && this.availability[i]! > 0 && !this.peersSlowNow && this.failedBy.size === 0))) break
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
          if (!peerFree(best)) freePeers--
          const list = byPeer.get(best) ?? []
          list.push(i)
          byPeer.set(best, list)
          continue
        }
      }
      if (!originOpen || this.originInflight >= cap) continue
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
    else { const p = this.peers.get(f!.source.peerId); if (p !== undefined) p.inflight--; this.peerInflight-- }
    return f
  }

  /** The request for chunk `i` actually went out (it may have waited in a queue): its deadline starts now. */
  sent (i: number, source: Source, nowMs: number): void {
    this.tick(nowMs)
    const f = this.inflight.get(i)?.find((x) => x.key === sourceKey(source))
    if (f !== undefined) f.deadlineMs = nowMs + this.timeoutMs
  }

  /**
   * A verified chunk arrived. Returns false for a duplicate (end game or late answer),
   * which the caller drops. `latencyMs` feeds the origin's health.
   */
  received (i: number, source: Source, nowMs: number, latencyMs = 0): boolean {
    this.tick(nowMs)
    const f = this.settle(i, sourceKey(source))
    if (source.kind === 'origin') this.originSucceeded(latencyMs, nowMs)
    if (!this.missing.has(i)) { this.stats.duplicates++; return false }
    this.missing.delete(i)
    this.urgent.delete(i)
    this.failedBy.delete(i)
    this.timeouts.delete(i)
    this.busyBy.delete(i)
    this.lastProgressMs = nowMs
    const bytes = this.lengths[i]!
    this.missingBytes -= bytes
    if (source.kind === 'origin') {
      this.originRate.add(bytes)
      const reason = f?.source.kind === 'origin' ? f.source.reason : source.reason
      this.stats.bytesFromOrigin += bytes
      this.stats.chunksFromOrigin++
      this.stats.originBytesByReason[reason] += bytes
    } else {
      this.peerRate.add(bytes)
      this.stats.bytesFromPeers += bytes
      this.stats.chunksFromPeers++
    }
    // Duplicate requests still out for this chunk are left to complete or time out.
    return true
  }

  /** A request for chunk `i` failed; the chunk becomes schedulable elsewhere. */
  failed (i: number, source: Source, kind: FailureKind, nowMs: number): void {
    this.tick(nowMs)
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
