/**
 * One pull of an image version: verified manifest → chunk table → what the cache already
 * holds → announce → fetch the rest from peers and the origin as the scheduler decides →
 * assemble → ready. Every chunk is hash-verified before it is stored (the chunk store and
 * the fetch clients both check); a peer that lies is banned for the swarm and reported.
 * A killed pull resumes: verified chunks stay in the cache, only assembly starts over.
 */
import { mkdir, stat, writeFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { hostname } from 'node:os'
import { bitfieldBytes, encodeHave, readChunkList, setBit } from '../../protocol/index.ts'
import { verifyManifest, MAX_MANIFEST_BYTES } from '../../protocol/index.ts'
import type { Manifest } from '../../protocol/index.ts'
import type { AnnounceAnswer, OriginAccess } from '../../protocol/index.ts'
import { ManifestMalformedError } from '../../protocol/index.ts'
import { Scheduler } from '../scheduler.ts'
import type { FailureKind, OriginReason, Source } from '../scheduler.ts'
import { fetchChunkFromOrigin } from '../origin/index.ts'
import { fetchChunksFromPeer, PeerBans, banReasonFor, createTokenBucket } from '../peer/index.ts'
import type { TokenBucket } from '../peer/index.ts'
import {
  PULL_ANNOUNCE_INTERVAL_MS, PEER_BATCH_CHUNKS, PEER_STREAMS_PER_PEER, LIST_PART_ORIGIN_ATTEMPTS, ORIGIN_BACKOFF_MIN_MS, ORIGIN_BACKOFF_MAX_MS,
  PEER_UNREACHABLE_MS
} from '../constants.ts'
import { buildChunkTable, indexHave, unitHave } from './chunk-table.ts'
import type { ChunkTable } from './chunk-table.ts'
import { assembleImage } from './assemble.ts'
import type { PullComponents, PullOptions, PullReport } from './index.ts'

const AGENT_VERSION = 'branchcast-node/0.1'

function failureKind (err: unknown): FailureKind {
  const code = (err as { code?: string } | null)?.code
  // Only 'busy' is worth asking the same peer again soon; a peer refusing a token the tracker
  // just issued (or our request) will not serve these chunks: they go elsewhere.
  if (code === 'ERR_PEER_REFUSED') return (err as { reason?: string }).reason === 'busy' ? 'busy' : 'error'
  if (code === 'ERR_CHUNK_CORRUPT' || code === 'ERR_CHUNK_PROTOCOL') return 'corrupt'
  if ((err as Error | null)?.name === 'TimeoutError' || (err as Error | null)?.name === 'AbortError') return 'timeout'
  return 'error'
}

async function exists (path: string): Promise<boolean> {
  return await stat(path).then(() => true, () => false)
}

/** Where a version's image and its manifest live in the node's data directory. */
export function imagePaths (dataDir: string, image: string, version: number): { dir: string, image: string, manifest: string } {
  const dir = join(dataDir, 'images', image)
  return { dir, image: join(dir, `${version}.img`), manifest: join(dir, `${version}.manifest`) }
}

export async function pullImage (components: PullComponents, options: PullOptions): Promise<PullReport> {
  const { tracker, trust, chunks, peer, dataDir, site, logger, now } = components
  const log = logger.forComponent('node:pull')
  const signal = options.signal
  const startedMs = now()
  const progress = options.onProgress

  // 1. The manifest: signed by the pinned key, not expired, not rolled back.
  progress?.({ phase: 'manifest', totalBytes: 0, doneBytes: 0, bytesFromPeers: 0, bytesFromOrigin: 0, bytesFromLocal: 0 })
  const root = await tracker.manifest(options.image, options.version ?? 'latest', { signal })
  if (root.length > MAX_MANIFEST_BYTES) throw new ManifestMalformedError('manifest larger than any valid one')
  const manifest: Manifest = verifyManifest(root, {
    publicKey: trust.repositoryKey,
    nowMs: now(),
    lastAcceptedVersion: trust.lastAccepted(options.image),
    image: options.image
  })
  const paths = imagePaths(dataDir, manifest.image, manifest.version)
  await mkdir(paths.dir, { recursive: true, mode: 0o700 })
  if (manifest.imageSha256 !== undefined && await exists(paths.image)) {
    // Ready from an earlier pull (the rename came after its whole-image check).
    const ready: PullReport = {
      image: manifest.image, version: manifest.version, path: paths.image, sha256: manifest.imageSha256, totalBytes: manifest.totalBytes,
      bytesFromPeers: 0, bytesFromOrigin: 0, bytesFromLocal: manifest.totalBytes,
      originBytesByReason: { assigned: 0, policy: 0, 'no-peer': 0, 'bad-piece': 0, 'peers-slow': 0, waited: 0 },
      durationMs: now() - startedMs, peersUsed: 0, bannedPeers: [], failures: { missing: 0, timeout: 0, corrupt: 0, error: 0, busy: 0 }
    }
    progress?.({ phase: 'ready', totalBytes: manifest.totalBytes, doneBytes: manifest.totalBytes, bytesFromPeers: 0, bytesFromOrigin: 0, bytesFromLocal: manifest.totalBytes })
    return ready
  }

  // 2. First announce: peers, tokens and our origin share. Nothing held yet as far as
  //    the swarm knows; the real bitfield follows once the chunk list is known.
  const emptyHave = encodeHave(new Uint8Array(bitfieldBytes(manifest.chunkCount)))
  const announce = async (have: string, haveCount: number): Promise<AnnounceAnswer> => await tracker.announce({
    image: manifest.image, version: manifest.version, peerId: peer.peerId, site, addrs: peer.multiaddrs, have, haveCount,
    hostname: hostname(), agentVersion: AGENT_VERSION
  }, { signal })
  let answer = await announce(emptyHave, 0)
  let origin: OriginAccess = answer.origin
  const originRate = options.originRateBytesPerSec ?? answer.limits.originRateBytesPerSec ?? undefined
  const originBucket: TokenBucket | undefined = originRate === undefined ? undefined : createTokenBucket({ rateBytesPerSec: originRate, burstBytes: Math.max(256 * 1024, originRate / 4), nowMs: now() })

  const waitMs = async (ms: number): Promise<void> => {
    if (ms <= 0) return
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve() }, ms)
      const onAbort = (): void => { clearTimeout(t); reject(signal!.reason) }
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }
  const fromOrigin = async (id: string, length: number, s?: AbortSignal): Promise<Uint8Array> => {
    if (originBucket !== undefined) await waitMs(originBucket.reserve(length, now()))
    return await fetchChunkFromOrigin(origin, id, { signal: s, maxBytes: manifest.chunking.maxBytes })
  }
  // The chunk list has no other source than the origin: a 503 or a reset there must not
  // fail the whole pull, so its parts are retried with a doubling back-off.
  const listPartFromOrigin = async (id: string, length: number, s?: AbortSignal): Promise<Uint8Array> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fromOrigin(id, length, s)
      } catch (err) {
        if (s?.aborted === true || signal?.aborted === true || attempt >= LIST_PART_ORIGIN_ATTEMPTS) throw err
        log.debug('chunk list part fetch failed, retrying', { err, attempt })
        await waitMs(Math.min(ORIGIN_BACKOFF_MAX_MS, ORIGIN_BACKOFF_MIN_MS * 2 ** (attempt - 1)))
      }
    }
  }

  // 3. The chunk list: parts from the cache, else the origin (they are small and signed-for).
  const refs: Array<{ id: string, length: number, offset: number }> = []
  let listBytesFromOrigin = 0
  for await (const ref of readChunkList(manifest, async (id, o) => {
    if (chunks.has(id)) return await chunks.get(id, { signal: o.signal })
    const bytes = await listPartFromOrigin(id, o.maxBytes ?? 0, o.signal)
    await chunks.put(bytes, { id })
    listBytesFromOrigin += bytes.length
    return bytes
  }, { signal })) refs.push(ref)
  const table: ChunkTable = buildChunkTable(refs)

  // 4. What we hold already (cache, earlier versions, a killed pull) never crosses the wire.
  const held = new Uint8Array(bitfieldBytes(table.unitIds.length))
  const needed: number[] = []
  let bytesFromLocal = 0
  for (let u = 0; u < table.unitIds.length; u++) {
    if (chunks.has(table.unitIds[u]!)) { setBit(held, u); bytesFromLocal += table.unitLengths[u]! } else needed.push(u)
  }
  // Keep this version's chunks out of the cache's eviction while we pull and assemble.
  const protection = chunks.protect(table.unitIds)
  const bans = components.bans ?? new PeerBans()
  const bannedHere: string[] = []
  // Peers we could not reach (dial failed, connection lost): the tracker lists a killed
  // peer until its announce expires, and asking it again fails every chunk over to the origin.
  const unreachableUntilMs = new Map<string, number>()
  const peersUsed = new Set<string>()

  try {
    const scheduler = new Scheduler({
      lengths: table.unitLengths,
      needed,
      nowMs: now(),
      originShare: answer.originShare,
      p2pAllowed: answer.capability !== undefined
    })
    const peerAddrs = new Map<string, string[]>()
    const peerQueues = new Map<string, { queue: number[], streams: number }>()
    let capability = answer.capability

    const applyAnswer = (a: AnnounceAnswer): void => {
      answer = a
      origin = a.origin
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
      for (const id of [...peerAddrs.keys()]) if (!seen.has(id)) { peerAddrs.delete(id); peerQueues.delete(id); scheduler.removePeer(id, now()) }
    }
    const haveNow = (): { have: string, count: number } => {
      const { bits, count } = indexHave(table, held)
      return { have: encodeHave(bits), count }
    }
    let h = haveNow()
    applyAnswer(await announce(h.have, h.count))

    // 5. Transfer.
    let wake: () => void = () => {}
    const tasks = new Set<Promise<void>>()
    const controllers = new Map<string, AbortController>()
    const keyOf = (u: number, s: Source): string => `${s.kind === 'origin' ? 'origin' : s.peerId}:${u}`
    const report = (): void => progress?.({
      phase: 'transfer', totalBytes: manifest.totalBytes, doneBytes: bytesFromLocal + scheduler.stats.bytesFromPeers + scheduler.stats.bytesFromOrigin,
      bytesFromPeers: scheduler.stats.bytesFromPeers, bytesFromOrigin: scheduler.stats.bytesFromOrigin, bytesFromLocal
    })
    const got = (u: number, s: Source, startedAt: number): void => {
      if (scheduler.received(u, s, now(), now() - startedAt)) { setBit(held, u); report() }
    }
    const launch = (p: Promise<void>): void => {
      const t = p.catch((err) => { log.warn('transfer task failed', { err }) }).finally(() => { tasks.delete(t); wake() })
      tasks.add(t)
    }

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
        for await (const r of fetchChunksFromPeer(peer, { peerId, multiaddrs: addrs }, capability ?? '', units.map((u) => table.unitIds[u]!), { signal: AbortSignal.any([ctrl.signal, ...(signal === undefined ? [] : [signal])]) })) {
          const u = table.unitByIdMap.get(r.id)!
          pending.delete(u)
          if (r.missing === true) { scheduler.failed(u, src, 'missing', now()); continue }
          await chunks.put(r.bytes, { id: r.id })
          got(u, src, startedAt)
        }
        for (const u of pending) scheduler.failed(u, src, 'missing', now())
      } catch (err) {
        const kind = failureKind(err)
        for (const u of pending) scheduler.failed(u, src, kind, now())
        const reason = banReasonFor(err)
        const gone = (err as { code?: string }).code === 'ERR_PEER_UNAVAILABLE' && ((err as { unreachable?: boolean }).unreachable === true ||
          !peer.libp2p.getConnections().some((c) => c.remotePeer.toString() === peerId && c.status === 'open'))
        if (gone) {
          unreachableUntilMs.set(peerId, now() + PEER_UNREACHABLE_MS)
          peerAddrs.delete(peerId)
          peerQueues.delete(peerId)
          scheduler.removePeer(peerId, now())
          log.debug('peer unreachable', { peerId, err })
        }
        if (reason !== undefined) {
          bans.ban(peerId, reason, now())
          bannedHere.push(peerId)
          peerAddrs.delete(peerId)
          peerQueues.delete(peerId)
          scheduler.removePeer(peerId, now())
          log.warn('peer banned', { peerId, reason, err })
          components.events?.emit('peer.banned', { image: manifest.image, version: manifest.version, peerId, reason, detail: (err as Error).message })
        }
        if (signal?.aborted === true) throw err
      } finally {
        for (const u of units) controllers.delete(keyOf(u, src))
      }
    }

    // Requests to one peer go through at most PEER_STREAMS_PER_PEER streams, each carrying a
    // batch: the scheduler frees slots chunk by chunk, and a stream per freed slot would
    // run into the peer's upload-slot limit.
    const enqueuePeer = (peerId: string, units: number[]): void => {
      const q = peerQueues.get(peerId) ?? { queue: [], streams: 0 }
      peerQueues.set(peerId, q)
      q.queue.push(...units)
      pumpPeer(peerId)
    }
    const pumpPeer = (peerId: string): void => {
      const q = peerQueues.get(peerId)
      if (q === undefined) return
      while (q.streams < PEER_STREAMS_PER_PEER && q.queue.length > 0) {
        const batch = q.queue.splice(0, PEER_BATCH_CHUNKS)
        q.streams++
        launch(runPeer(peerId, batch).finally(() => { q.streams--; pumpPeer(peerId) }))
      }
    }

    const runOrigin = async (reason: OriginReason, u: number): Promise<void> => {
      const src: Source = { kind: 'origin', reason }
      const ctrl = new AbortController()
      controllers.set(keyOf(u, src), ctrl)
      const startedAt = now()
      try {
        const id = table.unitIds[u]!
        const bytes = await fromOrigin(id, table.unitLengths[u]!, AbortSignal.any([ctrl.signal, ...(signal === undefined ? [] : [signal])]))
        await chunks.put(bytes, { id })
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
        if (a.source.kind === 'peer') {
          enqueuePeer(a.source.peerId, a.indexes)
        } else {
          for (const u of a.indexes) launch(runOrigin(a.source.reason, u))
        }
      }
      if (announcing === undefined && t >= nextAnnounceMs) {
        h = haveNow()
        announcing = announce(h.have, h.count).then(applyAnswer, (err) => { log.warn('announce failed', { err }) })
          .finally(() => { announcing = undefined; nextAnnounceMs = now() + PULL_ANNOUNCE_INTERVAL_MS; wake() })
      }
      if (scheduler.done) break
      const until = Math.min(nextAnnounceMs, scheduler.nextWakeMs(t) ?? Infinity)
      await new Promise<void>((resolve) => {
        wake = resolve
        const timer = setTimeout(resolve, Math.max(1, Math.min(until - now(), PULL_ANNOUNCE_INTERVAL_MS)))
        const done = (): void => { clearTimeout(timer); resolve() }
        wake = done
        signal?.addEventListener('abort', done, { once: true })
      })
    }
    // Duplicate end-game requests still out are cancelled; nothing they bring is needed.
    for (const c of controllers.values()) c.abort()
    await Promise.allSettled(tasks)

    // 6. Assemble, verify the whole, mark ready (the rename).
    const stats = scheduler.stats
    const partialDone = { bytesFromPeers: stats.bytesFromPeers, bytesFromOrigin: stats.bytesFromOrigin + listBytesFromOrigin, bytesFromLocal }
    progress?.({ phase: 'assemble', totalBytes: manifest.totalBytes, doneBytes: 0, ...partialDone })
    const tmpManifest = `${paths.manifest}.tmp`
    await writeFile(tmpManifest, root, { mode: 0o600 })
    await rename(tmpManifest, paths.manifest)
    const { sha256 } = await assembleImage({
      chunks, table, totalBytes: manifest.totalBytes, path: paths.image, expectSha256: manifest.imageSha256, signal,
      onProgress: (doneBytes) => progress?.({ phase: 'assemble', totalBytes: manifest.totalBytes, doneBytes, ...partialDone })
    })
    await trust.accept(manifest.image, manifest.version)
    h = haveNow()
    await announce(h.have, h.count).catch((err) => { log.warn('final announce failed', { err }) })

    const result: PullReport = {
      image: manifest.image,
      version: manifest.version,
      path: paths.image,
      sha256,
      totalBytes: manifest.totalBytes,
      bytesFromPeers: stats.bytesFromPeers,
      bytesFromOrigin: stats.bytesFromOrigin + listBytesFromOrigin,
      bytesFromLocal,
      originBytesByReason: { ...stats.originBytesByReason, assigned: stats.originBytesByReason.assigned + listBytesFromOrigin },
      durationMs: now() - startedMs,
      peersUsed: peersUsed.size,
      bannedPeers: bannedHere,
      failures: { ...stats.failures }
    }
    progress?.({ phase: 'ready', totalBytes: manifest.totalBytes, doneBytes: manifest.totalBytes, ...partialDone })
    components.events?.emit('pull.completed', {
      image: result.image, version: result.version, bytesFromPeers: result.bytesFromPeers, bytesFromOrigin: result.bytesFromOrigin,
      bytesFromLocal: result.bytesFromLocal, originBytesByReason: result.originBytesByReason, durationMs: result.durationMs
    })
    return result
  } catch (err) {
    components.events?.emit('pull.failed', { image: manifest.image, version: manifest.version, code: (err as { code?: string }).code ?? 'ERR_UNKNOWN', message: (err as Error).message })
    throw err
  } finally {
    protection.release()
  }
}
