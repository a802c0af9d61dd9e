import { mkdir } from 'node:fs/promises'
import { getCompileCacheDir } from 'node:module'
import { join } from 'node:path'
import { OriginAccessSchema, createApiClient } from '../../protocol/index.ts'
import { createBundler } from '../bundle/index.ts'
import { createLogger } from '../../protocol/index.ts'
import { NodeConfigError, configFilePath } from '../config.ts'
import { LEAVE_ON_STOP_MS, ME_CHECK_TIMEOUT_MS } from '../constants.ts'
import type { Logger } from '../../protocol/index.ts'
import { createControlServer } from '../control/index.ts'
import type { NodeStatus, ReadyImage } from '../control/index.ts'
import { clientInfo, createEventReporter } from '../events/index.ts'
import type { EventReporter } from '../events/index.ts'
import { createImageStore } from '../image-store/index.ts'
import { createPublishedApps } from '../desktop/index.ts'
import { createChunkServer, createPeerNode, loadOrCreatePeerKey, PeerBans } from '../peer/index.ts'
import { createPullDemand, createPuller } from '../pull/index.ts'
import type { PullDemand } from '../pull/index.ts'
import { createLazyDisks, trackerBootProfileSink } from '../block/index.ts'
import { createSeedIndex, SEED_FIRST_PASS_WAIT_MS } from '../seeds/index.ts'
import { autoStartSessions, createSessionRuntime } from '../session/index.ts'
import type { LazyBaseInfo, SessionRuntime } from '../session/index.ts'
import { createWorkspaceReconciler } from '../workspaces/index.ts'
import type { WorkspacesStatus } from '../workspaces/index.ts'
import type { PullOptions, PullReport } from '../pull/index.ts'
import { createTrackerClient, recordMemberships, trackerApi } from '../tracker-client.ts'
import type { TrackerClient } from '../tracker-client.ts'
import { enroll, loadTrust } from '../trust.ts'
import type { NodeDaemonOptions, RunningNode } from './index.ts'
import { transpilerLoaded } from './compile-cache.ts'
import { lowerDaemonPriority } from './cpu-priority.ts'
import { lockDataDir } from './data-dir-lock.ts'
import type { DataDirLock } from './data-dir-lock.ts'
import { listReadyImages } from './ready-images.ts'
import { Seeder } from './seeder.ts'

export async function startNodeDaemon (options: NodeDaemonOptions): Promise<RunningNode> {
  const { config } = options
  const logger = options.logger ?? createLogger({ level: config.logLevel }, 'node')
  const now = options.now ?? Date.now
  const startedMs = now()
  if (config.tracker === undefined) throw new NodeConfigError('no tracker: pass --tracker, set BRANCHCAST_TRACKER, or run "branchcast enroll"')
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 })
  // Before anything touches the directory: a second daemon must not share the peer key,
  // the cache or control.json with the first (it used to delete the first's on exit).
  const lock = await lockDataDir(config.dataDir)
  try {
    return await startLocked(options, { lock, logger, now, startedMs, trackerUrl: config.tracker, token: config.token })
  } catch (err) {
    await lock.release()
    throw err
  }
}

/**
 * A `BRANCHCAST_TOKEN` left in the environment that differs from the enrolled token: the
 * daemon runs as its enrolled user whatever it says, and refuses to start when it names
 * another user (the README's tour once ran the desk's daemon as the admin that way).
 */
async function checkEnvToken (config: NodeDaemonOptions['config'], tracker: TrackerClient, log: Logger): Promise<void> {
  if (config.unusedEnvToken === undefined || config.tracker === undefined) return
  const other = createTrackerClient(createApiClient({ baseUrl: config.tracker, token: config.unusedEnvToken }))
  const signal = AbortSignal.timeout(ME_CHECK_TIMEOUT_MS)
  const [mine, theirs] = await Promise.allSettled([tracker.me({ signal }), other.me({ signal })])
  if (mine.status === 'fulfilled' && theirs.status === 'fulfilled' && mine.value.user !== theirs.value.user) {
    throw new NodeConfigError(`BRANCHCAST_TOKEN names user "${theirs.value.user}", but this node is enrolled as "${mine.value.user}" (${configFilePath(config.dataDir)}): the node runs as its enrolled user. Unset BRANCHCAST_TOKEN, pass --token explicitly, or re-enroll with --replace`)
  }
  log.warn('BRANCHCAST_TOKEN is set but differs from the enrolled token: ignoring it, the node runs with its enrolled token', {
    enrolledUser: mine.status === 'fulfilled' ? mine.value.user : undefined,
    envUser: theirs.status === 'fulfilled' ? theirs.value.user : undefined
  })
}

/** `p`, or the signal's reason once it aborts first. */
async function waitFor (p: Promise<unknown>, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) { await p; return }
  signal.throwIfAborted()
  let onAbort: (() => void) | undefined
  try {
    await Promise.race([p, new Promise<never>((_resolve, reject) => { onAbort = () => reject(signal.reason); signal.addEventListener('abort', onAbort, { once: true }) })])
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort)
  }
}

interface Started { lock: DataDirLock, logger: Logger, now: () => number, startedMs: number, trackerUrl: string, token: string | undefined }

async function startLocked (options: NodeDaemonOptions, { lock, logger, now, startedMs, trackerUrl, token }: Started): Promise<RunningNode> {
  const { config } = options
  const log = logger.forComponent('node:daemon')
  // Below the VMs before the pulls start (threads made from now on inherit it)
  const priority = options.ownsProcess === true ? lowerDaemonPriority(config.cpuNice, log) : {}
  // whether the TypeScript transpiler stayed out of this process (compile-cache.ts)
  if (options.ownsProcess === true) log.info('compile cache', { dir: getCompileCacheDir() ?? null, transpilerLoaded: transpilerLoaded() })
  // The peer key proves the node's peer id to the tracker (issue 11, finding 5).
  const peerKey = options.privateKey ?? await loadOrCreatePeerKey(config.dataDir)
  // an API token, or the login `branchcast login` stored
  const api = await trackerApi({ tracker: trackerUrl, token, dataDir: config.dataDir }, { now })
  const memberships = recordMemberships(createTrackerClient(api, { peerKey, now }))
  const tracker = memberships.tracker
  await checkEnvToken(config, tracker, log)
  let trust = await loadTrust(config.dataDir)
  if (trust === undefined) {
    trust = await enroll(config.dataDir, trackerUrl, await tracker.keys({ signal: AbortSignal.timeout(30_000) }))
    log.info('enrolled: pinned the repository and capability keys', { tracker: trackerUrl })
  } else if (trust.tracker !== trackerUrl) {
    log.warn('the tracker URL differs from the one at enrollment; manifests must still carry the pinned key', { enrolled: trust.tracker, tracker: trackerUrl })
  }

  // Everything started so far, stopped in reverse on failure or stop(); the lock last.
  const stack: Array<{ name: string, stop: () => Promise<void> }> = [{ name: 'data directory lock', stop: async () => await lock.release() }]
  async function unwind (): Promise<void> {
    for (const s of stack.splice(0).reverse()) {
      try { await s.stop() } catch (err) { log.warn(`stopping ${s.name} failed`, { err }) }
    }
  }

  try {
    // The images are the chunk store; a chunk found damaged under us is reported (once the reporter runs).
    let reporterForImages: EventReporter | undefined
    // a version a VM session runs is never deleted (prune after a pull, revocation)
    let sessionsForImages: SessionRuntime | undefined
    const imageStore = await createImageStore({
      dataDir: config.dataDir,
      logger,
      onCorrupt: (c) => { reporterForImages?.report('chunk.corrupt', { ...c }).catch((err) => { log.error('cannot queue an event', { err }) }) },
      inUse: async (image) => (await sessionsForImages?.list() ?? []).filter((s) => s.image === image && s.state !== 'stopped' && s.version !== undefined).map((s) => s.version!)
    })
    stack.push({ name: 'image store', stop: async () => await imageStore.close() })

    // Seed files and the other images as local chunk sources, indexed in the background.
    const seeds = createSeedIndex({ dataDir: config.dataDir, roots: config.seeds, maxChunks: config.seedMaxChunks, readBytesPerSec: config.seedReadBytesPerSec }, { logger, images: imageStore })
    await seeds.start()
    stack.push({ name: 'seed index', stop: async () => await seeds.stop() })

    const peer = await createPeerNode({
      privateKey: peerKey,
      listen: config.listen,
      mdns: config.mdns,
      mdnsServiceTag: options.mdnsServiceTag,
      logger
    })
    await peer.start()
    stack.push({ name: 'peer', stop: async () => await peer.stop() })

    const server = createChunkServer({ uploadRateBytesPerSec: config.uploadRateBytesPerSec }, {
      node: peer, source: imageStore, capabilityPublicKey: trust.capabilityKey, logger, now
    })
    await server.start()
    stack.push({ name: 'chunk server', stop: async () => await server.stop() })

    const reporter = createEventReporter({ dir: join(config.dataDir, 'events'), clientId: peer.peerId, client: clientInfo(config.site), retryMinMs: options.eventRetryMinMs }, { tracker, logger, now })
    await reporter.start()
    reporterForImages = reporter
    stack.push({ name: 'event reporter', stop: async () => await reporter.stop() })

    const bans = new PeerBans()
    const puller = createPuller({
      tracker, trust, images: imageStore, keepVersions: config.keepVersions, peer, site: config.site, logger, now, bans,
      localSources: () => seeds.sources(),
      events: {
        emit: (type, payload) => {
          reporter.report(type, payload).catch((err) => { log.error('cannot queue an event', { type, err }) })
        }
      }
    })
    // On stop, after the seeder and the control API (no new pulls, no re-announces), leave
    // every swarm this node announced into — pulls in progress and versions just pulled
    // included — so a newcomer is not sent to a gone peer until the membership lapses.
    stack.push({
      name: 'swarm memberships',
      stop: async () => {
        const r = await memberships.leaveAll({ signal: AbortSignal.timeout(LEAVE_ON_STOP_MS) })
        if (r.failed > 0) log.warn('could not leave every swarm on stop; the tracker drops the rest when their announces lapse', r)
      }
    })
    let activePulls = 0
    // One pull per image at a time: a pull typed by hand while the reconciler pulls the
    // same image waits for it (and then finds the version ready) instead of writing the
    // same file twice.
    const pullsByImage = new Map<string, Promise<unknown>>()
    // Each image's pull takes the chunks a VM reading it lazily waits for first, whoever started the pull.
    const demands = new Map<string, PullDemand>()
    const demandFor = (image: string): PullDemand => {
      let d = demands.get(image)
      if (d === undefined) { d = createPullDemand(); demands.set(image, d) }
      return d
    }
    const pull = async (o: PullOptions): Promise<PullReport> => {
      const before = pullsByImage.get(o.image)
      const run = (async () => {
        if (before !== undefined) await waitFor(before.catch(() => {}), o.signal)
        // a node just started with seed roots: let the index's first pass finish (bounded)
        // rather than fetch over the WAN what the seed files hold; a VM waiting does not wait
        if (o.bootProfile !== true && o.manifestRoot === undefined && !await seeds.whenIndexed({ signal: o.signal, maxWaitMs: SEED_FIRST_PASS_WAIT_MS })) {
          logger.forComponent('node:seeds').warn('pulling before the seed index has finished its first pass', { image: o.image })
        }
        activePulls++
        try {
          return await puller.pull({ ...o, originRateBytesPerSec: o.originRateBytesPerSec ?? config.originRateBytesPerSec, demand: o.demand ?? demandFor(o.image) })
        } finally {
          activePulls--
          seeds.imagesChanged()
        }
      })()
      pullsByImage.set(o.image, run)
      try {
        return await run
      } finally {
        if (pullsByImage.get(o.image) === run) pullsByImage.delete(o.image)
      }
    }
    const images = async (): Promise<ReadyImage[]> => await listReadyImages(config.dataDir)
    let workspacesStatus: (() => WorkspacesStatus) | undefined
    const status = async (): Promise<NodeStatus> => {
      const s = server.stats
      return {
        peerId: peer.peerId,
        addrs: peer.multiaddrs,
        site: config.site,
        tracker: config.tracker,
        cache: { usedBytes: imageStore.stats().partsBytes, maxBytes: null, chunks: imageStore.stats().parts },
        serving: { activeStreams: s.activeStreams, chunksServed: s.chunksServed, bytesServed: s.bytesServed, refused: { ...s.refused } },
        events: { pending: await reporter.pending() },
        pulls: { active: activePulls },
        workspaces: workspacesStatus?.(),
        uptimeMs: now() - startedMs
      }
    }

    const have = async (image: string, version: number): Promise<{ bits: Uint8Array, count: number } | undefined> => (await imageStore.versions(image)).find((v) => v.version === version)?.have()
    const seeder = new Seeder({ tracker, trust, peer, dataDir: config.dataDir, site: config.site, images, have, logger, now }, { intervalMs: options.seedIntervalMs })
    seeder.start()
    stack.push({ name: 'seeder', stop: async () => await seeder.stop() })

    // Instant start: a version not held yet is served to its VM over NBD while it is pulled.
    // Stopped after the sessions let go: their VMs see the socket close and pause.
    // A lazy boot of a version without a boot profile is recorded and handed to the tracker.
    const lazyDisks = createLazyDisks({ dataDir: config.dataDir }, { images: imageStore, pull, demandFor, logger, profiles: trackerBootProfileSink(api, peer.peerId), events: reporter })
    await lazyDisks.start()
    stack.push({ name: 'lazy disks', stop: async () => await lazyDisks.stop() })
    const lazyBase = async (image: string, version: number | undefined, o: { signal?: AbortSignal }): Promise<LazyBaseInfo> => await lazyDisks.open(image, version, o)

    // VM sessions outlive the daemon: stop() lets go of them, the next start re-attaches
    const sessions = createSessionRuntime({ ...options.sessions, ...priority, dataDir: config.dataDir }, { events: reporter, logger, now, lazyDisks })
    await sessions.attach()
    sessionsForImages = sessions
    stack.push({ name: 'sessions', stop: async () => await sessions.detach() })
    // a VM found running on a lazy base (the daemon restarted under it) gets its export
    // back at the same socket; QEMU reconnects, and a guest paused meanwhile is resumed
    for (const s of await sessions.list()) {
      if (s.lazy !== true || s.version === undefined) continue
      lazyDisks.open(s.image, s.version).catch((err: unknown) => { log.warn('cannot serve a running session\'s lazy base again', { image: s.image, err }) })
    }

    // Published applications in the desktop's menu, kept to each workspace's policy.
    const publishedApps = createPublishedApps({ dataDir: config.dataDir, applicationsDir: options.applicationsDir }, { logger })

    // Automatic delivery and policy enforcement on the signed policy cache; the session
    // routes ask it (the gate) before a start or an unlock.
    const workspaces = createWorkspaceReconciler({
      dataDir: config.dataDir,
      intervalMs: options.reconcileIntervalMs ?? config.reconcileIntervalMs,
      keepVersions: config.keepVersions,
      expiryWarningMs: config.expiryWarningDays === undefined ? undefined : config.expiryWarningDays * 86_400_000,
      hostCheck: config.hostCheck,
      hostCheckTimeoutMs: config.hostCheckTimeoutMs,
      deliver: config.autoDeliver
    }, {
      fetchWorkspaces: async (o) => await api.json('GET', '/api/v1/me/workspaces', o),
      // a desk with workspaces will start VMs: learn the accelerator now rather than at the
      // first start (a KVM probe that finds no working KVM takes its whole timeout)
      onWorkspaces: (assigned) => { if (assigned.length > 0) sessions.accelerator().catch((err: unknown) => { log.debug('accelerator not known yet', { err }) }) },
      repositoryKey: trust.repositoryKey,
      images: imageStore,
      sessions,
      pull,
      events: reporter,
      publishedApps,
      logger,
      now
    })
    await workspaces.start()
    workspacesStatus = () => workspaces.status()
    stack.push({ name: 'workspaces', stop: async () => await workspaces.stop() })

    // Offline bundles: written from the held versions, imported through the same pull.
    const bundles = createBundler({
      images: imageStore, trust, tracker, pull, now,
      originAccess: async (image, o) => OriginAccessSchema.parse(await api.json('POST', `/api/v1/images/${encodeURIComponent(image)}/origin-token`, { json: { clientId: peer.peerId }, signal: o.signal }))
    })
    const control = createControlServer({ dataDir: config.dataDir }, { pull, dryRun: async (o) => await puller.dryRun(o), images, status, bundles, sessions, workspaces, sessionPolicy: workspaces, publishedApps, lazyBase, logger })
    await control.start()
    stack.push({ name: 'control API', stop: async () => await control.stop() })

    // Workspaces whose policy says start-up "auto" start with the node (in the background:
    // a VM boot does not hold the daemon's start; failures are logged per workspace).
    const autoStart = new AbortController()
    stack.push({ name: 'auto start', stop: async () => { autoStart.abort() } })
    const assigned = async (): Promise<string[]> => workspaces.status().workspaces.map((w) => w.image)
    void autoStartSessions({ runtime: sessions, policy: workspaces, images, lazy: lazyBase, assigned, logger, signal: autoStart.signal }).catch((err: unknown) => {
      if (!autoStart.signal.aborted) log.warn('automatic start failed', { error: err instanceof Error ? err.message : String(err) })
    })

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
      workspaces,
      seeds,
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
