import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { createApiClient } from '../../protocol/index.ts'
import { createChunkStore } from '../../protocol/index.ts'
import { createLogger } from '../../protocol/index.ts'
import { NodeConfigError } from '../config.ts'
import { createControlServer } from '../control/index.ts'
import type { NodeStatus, ReadyImage } from '../control/index.ts'
import { createEventReporter } from '../events/index.ts'
import { createChunkServer, createPeerNode, PeerBans } from '../peer/index.ts'
import { createPuller } from '../pull/index.ts'
import { createSessionRuntime } from '../session/index.ts'
import type { PullOptions, PullReport } from '../pull/index.ts'
import { createTrackerClient } from '../tracker-client.ts'
import { enroll, loadTrust } from '../trust.ts'
import type { NodeDaemonOptions, RunningNode } from './index.ts'
import { listReadyImages } from './ready-images.ts'
import { Seeder } from './seeder.ts'

export async function startNodeDaemon (options: NodeDaemonOptions): Promise<RunningNode> {
  const { config } = options
  const logger = options.logger ?? createLogger({ level: config.logLevel }, 'node')
  const log = logger.forComponent('node:daemon')
  const now = options.now ?? Date.now
  const startedMs = now()
  if (config.tracker === undefined) throw new NodeConfigError('no tracker: pass --tracker, set BRANCHCAST_TRACKER, or run "branchcast enroll"')
  if (config.token === undefined) throw new NodeConfigError('no API token: pass --token, set BRANCHCAST_TOKEN, or run "branchcast enroll"')
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 })

  const tracker = createTrackerClient(createApiClient({ baseUrl: config.tracker, token: config.token }))
  let trust = await loadTrust(config.dataDir)
  if (trust === undefined) {
    trust = await enroll(config.dataDir, config.tracker, await tracker.keys({ signal: AbortSignal.timeout(30_000) }))
    log.info('enrolled: pinned the repository and capability keys', { tracker: config.tracker })
  } else if (trust.tracker !== config.tracker) {
    log.warn('the tracker URL differs from the one at enrollment; manifests must still carry the pinned key', { enrolled: trust.tracker, tracker: config.tracker })
  }

  // Everything started so far, stopped in reverse on failure or stop().
  const stack: Array<{ name: string, stop: () => Promise<void> }> = []
  async function unwind (): Promise<void> {
    for (const s of stack.splice(0).reverse()) {
      try { await s.stop() } catch (err) { log.warn(`stopping ${s.name} failed`, { err }) }
    }
  }

  try {
    // A cache needs no fsync per chunk: a chunk torn by a crash fails its hash on read and is fetched again.
    const chunks = await createChunkStore({ dir: join(config.dataDir, 'cache'), maxBytes: config.cacheMaxBytes, fsyncFiles: false, logger: logger.forComponent('node:cache') })

    const peer = await createPeerNode({
      dataDir: options.privateKey === undefined ? config.dataDir : undefined,
      privateKey: options.privateKey,
      listen: config.listen,
      mdns: config.mdns,
      mdnsServiceTag: options.mdnsServiceTag,
      logger
    })
    await peer.start()
    stack.push({ name: 'peer', stop: async () => await peer.stop() })

    const server = createChunkServer({ uploadRateBytesPerSec: config.uploadRateBytesPerSec }, {
      node: peer, store: chunks, capabilityPublicKey: trust.capabilityKey, logger, now
    })
    await server.start()
    stack.push({ name: 'chunk server', stop: async () => await server.stop() })

    const reporter = createEventReporter({ dir: join(config.dataDir, 'events'), clientId: peer.peerId, retryMinMs: options.eventRetryMinMs }, { tracker, logger, now })
    await reporter.start()
    stack.push({ name: 'event reporter', stop: async () => await reporter.stop() })

    const bans = new PeerBans()
    const puller = createPuller({
      tracker, trust, chunks, peer, dataDir: config.dataDir, site: config.site, logger, now, bans,
      events: {
        emit: (type, payload) => {
          reporter.report(type, payload).catch((err) => { log.error('cannot queue an event', { type, err }) })
        }
      }
    })
    let activePulls = 0
    const pull = async (o: PullOptions): Promise<PullReport> => {
      activePulls++
      try {
        return await puller.pull({ ...o, originRateBytesPerSec: o.originRateBytesPerSec ?? config.originRateBytesPerSec })
      } finally {
        activePulls--
      }
    }
    const images = async (): Promise<ReadyImage[]> => await listReadyImages(config.dataDir)
    const status = async (): Promise<NodeStatus> => {
      const s = server.stats
      return {
        peerId: peer.peerId,
        addrs: peer.multiaddrs,
        site: config.site,
        tracker: config.tracker,
        cache: { usedBytes: chunks.usedBytes, maxBytes: config.cacheMaxBytes ?? null, chunks: chunks.count },
        serving: { activeStreams: s.activeStreams, chunksServed: s.chunksServed, bytesServed: s.bytesServed, refused: { ...s.refused } },
        events: { pending: await reporter.pending() },
        pulls: { active: activePulls },
        uptimeMs: now() - startedMs
      }
    }

    const seeder = new Seeder({ tracker, trust, peer, dataDir: config.dataDir, site: config.site, images, logger, now }, { intervalMs: options.seedIntervalMs })
    seeder.start()
    stack.push({ name: 'seeder', stop: async () => await seeder.stop() })

    // VM sessions outlive the daemon: stop() lets go of them, the next start re-attaches
    const sessions = createSessionRuntime({ dataDir: config.dataDir }, { events: reporter, logger, now })
    await sessions.attach()
    stack.push({ name: 'sessions', stop: async () => await sessions.detach() })

    const control = createControlServer({ dataDir: config.dataDir }, { pull, images, status, sessions, logger })
    await control.start()
    stack.push({ name: 'control API', stop: async () => await control.stop() })

    log.info('node ready', { peerId: peer.peerId, site: config.site, control: control.url, multiaddrs: peer.multiaddrs })
    let stopping: Promise<void> | undefined
    return {
      peerId: peer.peerId,
      controlUrl: control.url,
      config,
      peer,
      pull,
      images,
      status,
      flushEvents: async (o) => await reporter.flush(o),
      announceHeld: async () => { await seeder.announceAll() },
      stop: async () => {
        stopping ??= (async () => {
          await unwind()
          log.info('node stopped', { peerId: peer.peerId })
        })()
        await stopping
      }
    }
  } catch (err) {
    await unwind()
    throw err
  }
}
