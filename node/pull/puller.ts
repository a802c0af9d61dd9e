/**
 * One pull of an image version: verified manifest → the version's file (held, partial or
 * new) → the plan (held / copy from an older version / fetch) → local copies → transfer
 * from peers and the origin → ready (the rename) → older versions pruned. Every chunk is
 * hash-verified before it is written; the image file is the only copy. A killed pull
 * resumes from the presence bitmap without refetching what it made durable.
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { hostname } from 'node:os'
import { bitfieldBytes, encodeHave, MAX_MANIFEST_BYTES, ManifestMalformedError } from '../../protocol/index.ts'
import type { AnnounceAnswer, Manifest } from '../../protocol/index.ts'
import type { SchedulerStats } from '../scheduler.ts'
import { PeerBans } from '../peer/index.ts'
import { DEFAULT_KEEP_VERSIONS } from '../constants.ts'
import { verifyRequestedManifest } from '../trust.ts'
import type { ImageVersion } from '../image-store/index.ts'
import { bootProfileUnits } from './boot-profile.ts'
import { createDeltaFetcher, emptyDeltaCounts } from './deltas.ts'
import { copyFromLocal } from './local-copy.ts'
import { createOriginFetcher } from './origin-fetcher.ts'
import { fillFromLocalSources } from './local-sources.ts'
import { planPull } from './plan.ts'
import { runTransfer } from './transfer.ts'
import { emptyWireCounts } from './wire-counts.ts'
import type { PullComponents, PullOptions, PullProgress, PullReport } from './index.ts'

const AGENT_VERSION = 'branchcast-node/0.1'
const NO_FAILURES = { missing: 0, timeout: 0, corrupt: 0, error: 0, busy: 0 }

async function sha256OfFile (path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const b of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(b as Buffer)
  return hash.digest('hex')
}

/**
 * The manifest asked for, verified against the pinned key, the rollback floor and the
 * version asked: from the tracker, or the root the caller brought (an offline bundle).
 */
export async function fetchManifest (c: PullComponents, options: PullOptions): Promise<{ root: Uint8Array, manifest: Manifest }> {
  const root = options.manifestRoot ?? await c.tracker.manifest(options.image, options.version ?? 'latest', { signal: options.signal })
  if (root.length > MAX_MANIFEST_BYTES) throw new ManifestMalformedError('manifest larger than any valid one')
  return { root, manifest: verifyRequestedManifest(c.trust, root, { image: options.image, version: options.version ?? 'latest', nowMs: c.now() }) }
}

/** What a transfer that never ran reports (offline, every chunk found locally). */
function emptyTransfer (): { stats: Pick<SchedulerStats, 'bytesFromPeers' | 'bytesFromOrigin' | 'failures'>, peersUsed: number, bannedPeers: string[] } {
  return { stats: { bytesFromPeers: 0, bytesFromOrigin: 0, failures: { ...NO_FAILURES } }, peersUsed: 0, bannedPeers: [] }
}

function readyReport (manifest: Manifest, version: ImageVersion, durationMs: number): PullReport {
  return {
    image: manifest.image, version: manifest.version, path: version.path, sha256: manifest.imageSha256 ?? '', totalBytes: manifest.totalBytes,
    bytesFromPeers: 0, bytesFromOrigin: 0, decodedBytesFromPeers: 0, decodedBytesFromOrigin: 0, bytesFromLocal: manifest.totalBytes, bytesFromLocalSources: {},
    deltaBytesFromOrigin: 0, decodedBytesFromDeltas: 0, deltas: { indexEntries: 0, chunks: 0, refused: 0, fallbacks: 0 },
    originBytesByReason: emptyWireCounts().originByReason, durationMs, peersUsed: 0, bannedPeers: [], failures: { ...NO_FAILURES }
  }
}

export async function pullImage (c: PullComponents, options: PullOptions): Promise<PullReport> {
  const { tracker, trust, images, peer, site, now } = c
  const log = c.logger.forComponent('node:pull')
  const signal = options.signal
  const startedMs = now()
  const progress = options.onProgress
  const wire = emptyWireCounts()
  const done: Omit<PullProgress, 'phase' | 'totalBytes' | 'doneBytes'> = { bytesFromPeers: 0, bytesFromOrigin: 0, bytesFromLocal: 0 }

  // 1. The manifest: signed by the pinned key, not expired, not rolled back, the version asked.
  progress?.({ phase: 'manifest', totalBytes: 0, doneBytes: 0, ...done })
  const { root, manifest } = await fetchManifest(c, options)
  const total = manifest.totalBytes
  const report = (phase: PullProgress['phase']): void => progress?.({ phase, totalBytes: total, doneBytes: done.bytesFromPeers + done.bytesFromOrigin + done.bytesFromLocal, ...done })

  try {
    const held = (await images.versions(manifest.image)).find((v) => v.version === manifest.version)
    if (held?.ready === true && held.complete) {
      // Ready from an earlier pull, and nothing found damaged since.
      done.bytesFromLocal = total
      report('ready')
      return readyReport(manifest, held, now() - startedMs)
    }

    // 2. First announce: peers, tokens and our origin share (nothing held yet as far as the
    //    swarm knows; the real bitfield follows once the chunk list is known). Offline (the
    //    caller brought the root) it waits until something must come from the network.
    const announceHave = async (have: string, haveCount: number): Promise<AnnounceAnswer> => await tracker.announce({
      image: manifest.image, version: manifest.version, peerId: peer.peerId, site, addrs: peer.multiaddrs, have, haveCount,
      hostname: hostname(), agentVersion: AGENT_VERSION
    }, { signal })
    let online: Promise<{ first: AnnounceAnswer, origin: ReturnType<typeof createOriginFetcher> }> | undefined
    const network = async (): Promise<{ first: AnnounceAnswer, origin: ReturnType<typeof createOriginFetcher> }> => await (online ??= (async () => {
      const first = await announceHave(encodeHave(new Uint8Array(bitfieldBytes(manifest.chunkCount))), 0)
      return { first, origin: createOriginFetcher(c, options, first, manifest, wire) }
    })())
    if (options.manifestRoot === undefined) await network()
    const announce = async (have: string, haveCount: number): Promise<AnnounceAnswer> => {
      const a = await announceHave(have, haveCount)
      ;(await network()).origin.setAccess(a.origin)
      return a
    }

    // 3. The version's file and chunk list (list parts cached, else the caller's, else from the origin).
    const target = await images.openForPull(manifest, root, {
      fetchPart: async (id, o) => await options.listParts?.(id, o) ?? await (await network()).origin.listPart(id, o.signal),
      signal
    })

    // 4. What this disk holds already: the bitmap, then older versions (trim transfer).
    const sources = (await images.versions(manifest.image)).filter((v) => v !== target)
    const plan = planPull(target, sources)
    done.bytesFromLocal = plan.heldBytes
    report('transfer')
    const copied = await copyFromLocal(images, target, sources, plan.copies, { signal, onCopied: (n) => { done.bytesFromLocal += n } })
    // (an image's worth of indexes: no copy of the list unless a local copy failed)
    const toFetch = copied.failed.length === 0 ? plan.needed : [...plan.needed, ...copied.failed].sort((a, b) => a - b)
    const local = await fillFromLocalSources(target, toFetch,
      [...(options.localSources ?? []), ...(c.localSources?.() ?? [])], { signal, onFilled: (n) => { done.bytesFromLocal += n } })
    if (local.refused > 0) log.warn('local sources offered chunks that did not match their ids', { refused: local.refused })
    const needed = local.rest

    // Deltas: the version's signed index, when the origin has one and anything is left to fetch.
    const deltas = emptyDeltaCounts()
    const index = needed.length > 0 ? await (await network()).origin.deltaIndex(root, signal) : undefined
    if (index !== undefined) (await network()).origin.useDeltas(createDeltaFetcher({ index, image: manifest.image, images, versions: [target, ...sources], log, counts: deltas }))

    // 5. The rest from peers and the origin (a boot profile's chunks first, when asked for;
    //    offline with nothing left: no network at all).
    const profiled = options.bootProfile === true && needed.length > 0 ? await bootProfileUnits((await network()).first.origin, trust, root, target.table, log, signal) : undefined
    const t = online === undefined && needed.length === 0 ? emptyTransfer() : await runTransfer({
      manifest, target, needed, answer: (await network()).first, announce, peer, wire, log, now, signal, events: c.events, demand: options.demand, first: profiled,
      fromOrigin: (await network()).origin.chunk,
      bans: c.bans ?? new PeerBans(),
      onChunk: (s) => { done.bytesFromPeers = s.bytesFromPeers; done.bytesFromOrigin = s.bytesFromOrigin; report('transfer') }
    })

    // 6. Ready: every chunk is in and verified, the signed list proves the whole; the rename marks it.
    await target.markReady()
    await trust.accept(manifest.image, manifest.version)
    const h = target.have()
    // offline, the seeder announces the version once the tracker answers again
    if (online !== undefined) await announce(encodeHave(h.bits), h.count).catch((err) => { log.warn('final announce failed', { err }) })
    const pruned = await images.prune(manifest.image, c.keepVersions ?? DEFAULT_KEEP_VERSIONS)
    if (pruned.length > 0) log.info('deleted older versions', { image: manifest.image, versions: pruned })

    const result: PullReport = {
      image: manifest.image,
      version: manifest.version,
      path: target.path,
      sha256: manifest.imageSha256 ?? await sha256OfFile(target.path),
      totalBytes: total,
      bytesFromPeers: wire.peers,
      bytesFromOrigin: wire.origin,
      decodedBytesFromPeers: t.stats.bytesFromPeers,
      decodedBytesFromOrigin: t.stats.bytesFromOrigin + (online === undefined ? 0 : (await online).origin.listDecodedBytes()),
      bytesFromLocal: done.bytesFromLocal,
      bytesFromLocalSources: local.bytesByKind,
      deltaBytesFromOrigin: deltas.wireBytes,
      decodedBytesFromDeltas: deltas.decodedBytes,
      deltas: { indexEntries: deltas.indexEntries, chunks: deltas.chunks, refused: deltas.refused, fallbacks: deltas.fallbacks },
      originBytesByReason: { ...wire.originByReason },
      durationMs: now() - startedMs,
      peersUsed: t.peersUsed,
      bannedPeers: t.bannedPeers,
      // a refused delta is a bad piece from the origin, as a corrupt chunk is
      failures: { ...t.stats.failures, corrupt: t.stats.failures.corrupt + deltas.refused }
    }
    report('ready')
    c.events?.emit('pull.completed', {
      image: result.image, version: result.version, bytesFromPeers: result.bytesFromPeers, bytesFromOrigin: result.bytesFromOrigin,
      decodedBytesFromPeers: result.decodedBytesFromPeers, decodedBytesFromOrigin: result.decodedBytesFromOrigin,
      bytesFromLocal: result.bytesFromLocal, originBytesByReason: result.originBytesByReason, durationMs: result.durationMs,
      deltaBytesFromOrigin: result.deltaBytesFromOrigin, decodedBytesFromDeltas: result.decodedBytesFromDeltas
    })
    return result
  } catch (err) {
    c.events?.emit('pull.failed', {
      image: manifest.image, version: manifest.version, code: (err as { code?: string }).code ?? 'ERR_UNKNOWN', message: (err as Error).message,
      bytesFromPeers: wire.peers, bytesFromOrigin: wire.origin
    })
    throw err
  }
}
