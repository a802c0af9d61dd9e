/**
 * The transfer of a pull: the chunks the plan left to fetch, from peers and the origin as
 * the scheduler decides, each verified by its fetch client and handed to the image
 * version's writer. A peer that lies is banned for the swarm and reported; one that
 * vanished is left out for a while. Counts wire bytes (as received, per source and per
 * origin reason) beside the scheduler's decoded ones.
 */
import { encodeHave } from '../../protocol/index.ts'
import type { AnnounceAnswer, Logger, Manifest } from '../../protocol/index.ts'
import { Scheduler } from '../scheduler.ts'
import type { FailureKind, OriginReason, SchedulerStats, Source } from '../scheduler.ts'
import { fetchChunksFromPeer, banReasonFor } from '../peer/index.ts'
import type { PeerBans, PeerNode } from '../peer/index.ts'
import { PULL_ANNOUNCE_INTERVAL_MS, PEER_BATCH_CHUNKS, PEER_STREAMS_PER_PEER, PEER_UNREACHABLE_MS } from '../constants.ts'
import type { ImageVersion } from '../image-store/index.ts'
import { unitHave } from './chunk-table.ts'
import type { PullDemand } from './demand.ts'
import type { EventSink } from './index.ts'
import type { WireCounts } from './wire-counts.ts'

function failureKind (err: unknown): FailureKind {
  const code = (err as { code?: string } | null)?.code
  // Only 'busy' is worth asking the same peer again soon; a peer refusing a token the tracker
  // just issued (or our request) will not serve these chunks: they go elsewhere.
  if (code === 'ERR_PEER_REFUSED') return (err as { reason?: string }).reason === 'busy' ? 'busy' : 'error'
  if (code === 'ERR_CHUNK_CORRUPT' || code === 'ERR_CHUNK_PROTOCOL') return 'corrupt'
  if ((err as Error | null)?.name === 'TimeoutError' || (err as Error | null)?.name === 'AbortError') return 'timeout'
  return 'error'
}

export interface TransferContext {
  manifest: Manifest
  target: ImageVersion
  /** units to fetch */
  needed: readonly number[]
  /** the announce answer the transfer starts from */
  answer: AnnounceAnswer
  /** announces what the target holds now; resolves to the tracker's answer */
  announce: (have: string, haveCount: number) => Promise<AnnounceAnswer>
  /** one verified chunk from the origin, counted in `wire` under `reason` */
  fromOrigin: (id: string, length: number, reason: OriginReason, signal: AbortSignal) => Promise<Uint8Array>
  peer: PeerNode
  bans: PeerBans
  wire: WireCounts
  events?: EventSink
  log: Logger
  now: () => number
  signal?: AbortSignal
  /** after each chunk that counts (first arrival) */
  onChunk?: (stats: SchedulerStats) => void
  /** chunks a reader waits for: scheduled ahead of the rest */
  demand?: PullDemand
  /** units to fetch before the rest, in this order (a verified boot profile), by the usual source rules */
  first?: readonly number[]
}

export interface TransferResult {
  stats: SchedulerStats
  peersUsed: number
  bannedPeers: string[]
  /** set by the origin answer last seen (the list parts and a retry need it) */
  answer: AnnounceAnswer
}

export async function runTransfer (ctx: TransferContext): Promise<TransferResult> {
  const { manifest, target, peer, bans, log, now, signal, wire } = ctx
  const table = target.table
  const bannedHere: string[] = []
  // Peers we could not reach (dial failed, connection lost): the tracker lists a killed
  // peer until its announce expires, and asking it again fails every chunk over to the origin.
  const unreachableUntilMs = new Map<string, number>()
  const peersUsed = new Set<string>()
  let answer = ctx.answer

  const scheduler = new Scheduler({
    lengths: table.unitLengths,
    needed: ctx.needed,
    nowMs: now(),
    originShare: answer.originShare,
    p2pAllowed: answer.capability !== undefined
  })
  if (ctx.first !== undefined) scheduler.preferFirst(ctx.first)
  const peerAddrs = new Map<string, string[]>()
  const peerQueues = new Map<string, { queue: number[], streams: number }>()
  let capability = answer.capability

  const dropPeer = (peerId: string): void => {
    peerAddrs.delete(peerId)
    peerQueues.delete(peerId)
    scheduler.removePeer(peerId, now())
  }
  const applyAnswer = (a: AnnounceAnswer): void => {
    answer = a
    capability = a.capability
    scheduler.setOriginShare(a.originShare)
    scheduler.setP2pAllowed(a.capability !== undefined)
    const seen = new Set<string>()
    for (const p of a.peers) {
      if (p.peerId === peer.peerId || bans.isBanned(p.peerId, now()) || (unreachableUntilMs.get(p.peerId) ?? 0) > now()) continue
      seen.add(p.peerId)
      peerAddrs.set(p.peerId, p.addrs)
      scheduler.setPeerHave(p.peerId, unitHave(table, Buffer.from(p.have, 'base64')), now())
    }
    for (const id of [...peerAddrs.keys()]) if (!seen.has(id)) dropPeer(id)
  }
  const announceNow = async (): Promise<AnnounceAnswer> => {
    const h = target.have()
    return await ctx.announce(encodeHave(h.bits), h.count)
  }
  applyAnswer(await announceNow())

  let wake: () => void = () => {}
  const tasks = new Set<Promise<void>>()
  const controllers = new Map<string, AbortController>()
  const keyOf = (u: number, s: Source): string => `${s.kind === 'origin' ? 'origin' : s.peerId}:${u}`
  const got = (u: number, s: Source, startedAt: number): void => {
    if (scheduler.received(u, s, now(), now() - startedAt)) ctx.onChunk?.(scheduler.stats)
  }
  const launch = (p: Promise<void>): void => {
    const t = p.catch((err) => { log.warn('transfer task failed', { err }) }).finally(() => { tasks.delete(t); wake() })
    tasks.add(t)
  }
  const withSignal = (ctrl: AbortController): AbortSignal => AbortSignal.any([ctrl.signal, ...(signal === undefined ? [] : [signal])])

  const runPeer = async (peerId: string, units: number[]): Promise<void> => {
    const src: Source = { kind: 'peer', peerId }
    const ctrl = new AbortController()
    for (const u of units) controllers.set(keyOf(u, src), ctrl)
    const pending = new Set(units)
    const startedAt = now()
    for (const u of units) scheduler.sent(u, src, startedAt)
    peersUsed.add(peerId)
    try {
      const addrs = peerAddrs.get(peerId) ?? []
      const ids = units.map((u) => table.unitId(u))
      for await (const r of fetchChunksFromPeer(peer, { peerId, multiaddrs: addrs }, capability ?? '', ids, {
        // put copies the bytes before it first waits: the frame buffer can serve the next chunk
        signal: withSignal(ctrl), maxChunkBytes: manifest.chunking.maxBytes, transient: true, onChunk: (e) => { wire.peers += e.wireBytes }
      })) {
        const u = table.unitOfId(r.id)!
        pending.delete(u)
        if (r.missing === true) { scheduler.failed(u, src, 'missing', now()); continue }
        await target.put(u, r.bytes)
        got(u, src, startedAt)
      }
      for (const u of pending) scheduler.failed(u, src, 'missing', now())
    } catch (err) {
      for (const u of pending) scheduler.failed(u, src, failureKind(err), now())
      const reason = banReasonFor(err)
      const gone = (err as { code?: string }).code === 'ERR_PEER_UNAVAILABLE' && ((err as { unreachable?: boolean }).unreachable === true ||
        !peer.libp2p.getConnections().some((c) => c.remotePeer.toString() === peerId && c.status === 'open'))
      if (gone) {
        unreachableUntilMs.set(peerId, now() + PEER_UNREACHABLE_MS)
        dropPeer(peerId)
        log.debug('peer unreachable', { peerId, err })
      }
      if (reason !== undefined) {
        bans.ban(peerId, reason, now())
        bannedHere.push(peerId)
        dropPeer(peerId)
        log.warn('peer banned', { peerId, reason, err })
        ctx.events?.emit('peer.banned', { image: manifest.image, version: manifest.version, peerId, reason, detail: (err as Error).message })
      }
      if (signal?.aborted === true) throw err
    } finally {
      for (const u of units) controllers.delete(keyOf(u, src))
    }
  }

  // Requests to one peer go through at most PEER_STREAMS_PER_PEER streams, each carrying a
  // batch: the scheduler frees slots chunk by chunk, and a stream per freed slot would
  // run into the peer's upload-slot limit.
  const pumpPeer = (peerId: string): void => {
    const q = peerQueues.get(peerId)
    if (q === undefined) return
    while (q.streams < PEER_STREAMS_PER_PEER && q.queue.length > 0) {
      const batch = q.queue.splice(0, PEER_BATCH_CHUNKS)
      q.streams++
      launch(runPeer(peerId, batch).finally(() => { q.streams--; pumpPeer(peerId) }))
    }
  }
  const enqueuePeer = (peerId: string, units: number[]): void => {
    const q = peerQueues.get(peerId) ?? { queue: [], streams: 0 }
    peerQueues.set(peerId, q)
    q.queue.push(...units)
    pumpPeer(peerId)
  }

  const runOrigin = async (reason: OriginReason, u: number): Promise<void> => {
    const src: Source = { kind: 'origin', reason }
    const ctrl = new AbortController()
    controllers.set(keyOf(u, src), ctrl)
    const startedAt = now()
    try {
      const bytes = await ctx.fromOrigin(table.unitId(u), table.unitLengths[u]!, reason, withSignal(ctrl))
      await target.put(u, bytes)
      got(u, src, startedAt)
    } catch (err) {
      scheduler.failed(u, src, failureKind(err), now())
      log.debug('origin fetch failed', { err })
      if (signal?.aborted === true) throw err
    } finally {
      controllers.delete(keyOf(u, src))
    }
  }

  let nextAnnounceMs = now() + PULL_ANNOUNCE_INTERVAL_MS
  let announcing: Promise<void> | undefined
  // a reader's wants jump the queue: the loop is woken to schedule them now
  const detachDemand = ctx.demand?.attach((units) => { scheduler.prioritize(units); wake() })
  try {
    while (!scheduler.done) {
      signal?.throwIfAborted()
      const t = now()
      for (const e of scheduler.expired(t)) {
        const q = e.source.kind === 'peer' ? peerQueues.get(e.source.peerId) : undefined
        const queued = q?.queue.indexOf(e.index) ?? -1
        if (queued >= 0) { q!.queue.splice(queued, 1); scheduler.failed(e.index, e.source, 'timeout', t); continue }
        controllers.get(keyOf(e.index, e.source))?.abort(new DOMException('chunk request timed out', 'TimeoutError'))
      }
      for (const a of scheduler.next(t)) {
        if (a.source.kind === 'peer') enqueuePeer(a.source.peerId, a.indexes)
        else for (const u of a.indexes) launch(runOrigin(a.source.reason, u))
      }
      if (announcing === undefined && t >= nextAnnounceMs) {
        announcing = announceNow().then(applyAnswer, (err) => { log.warn('announce failed', { err }) })
          .finally(() => { announcing = undefined; nextAnnounceMs = now() + PULL_ANNOUNCE_INTERVAL_MS; wake() })
      }
      if (scheduler.done) break
      const until = Math.min(nextAnnounceMs, scheduler.nextWakeMs(t) ?? Infinity)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, Math.min(until - now(), PULL_ANNOUNCE_INTERVAL_MS)))
        const done = (): void => { clearTimeout(timer); signal?.removeEventListener('abort', done); resolve() }
        wake = done
        signal?.addEventListener('abort', done, { once: true })
      })
    }
  } finally {
    detachDemand?.()
    // Duplicate end-game requests still out are cancelled; nothing they bring is needed.
    for (const c of controllers.values()) c.abort()
    await Promise.allSettled(tasks)
    await announcing
  }
  return { stats: scheduler.stats, peersUsed: peersUsed.size, bannedPeers: bannedHere, answer }
}
