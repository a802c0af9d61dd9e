/**
 * Starting and stopping a tracker: config → keys, database, chunk store → services
 * (repository, swarm), started in that order → app → HTTP server. `stop()` stops
 * accepting, lets in-flight requests (uploads included) finish for a grace period, then
 * aborts the rest (an aborted upload rolls itself back), stops the services in reverse
 * and closes the database.
 */
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { getRequestListener } from '@hono/node-server'
import type { RequestListener, Server } from 'node:http'
import { createChunkStore } from '../protocol/index.ts'
import { createLogger } from '../protocol/index.ts'
import type { Logger } from '../protocol/index.ts'
import type { TrackerConfig } from './config.ts'
import type { TrackerComponents } from './env.ts'
import { createApp, API_PREFIX } from './app.ts'
import { loadTrackerKeys } from './keys.ts'
import { createMetrics } from './metrics.ts'
import { CLIENT_ONLINE_WINDOW_MS, openStore } from './db/index.ts'
import { createIdentity } from './identity/index.ts'
import { PROVIDER_MOUNT, createOidc } from './oidc/index.ts'
import { createPolicies } from './policies/index.ts'
import { createClientEvents, createEventPruner, credentialKey } from './events/index.ts'
import { createImageRepository } from './repository/index.ts'
import { createSwarm } from './swarm/index.ts'
import { createReports } from './reports/index.ts'
import { guardedServerFactory } from './http-guard.ts'
import { securePrivateFiles } from './data-dir.ts'
import { isUploadRequest } from './routes/images.ts'
import {
  BODY_DEADLINE_MS, CONNECTIONS_CHECK_INTERVAL_MS, HEADERS_TIMEOUT_MS, MAX_BODIES_IN_FLIGHT, MAX_CONNECTIONS, MAX_CONNECTIONS_PER_ADDRESS, MAX_HEADER_BYTES
} from './constants.ts'

export interface RunningTracker {
  /** base URL, e.g. http://127.0.0.1:8470 */
  url: string
  components: TrackerComponents
  stop: (options?: { graceMs?: number }) => Promise<void>
}

export interface StartTrackerOptions {
  logger?: Logger
  now?: () => number
}

export async function startTracker (config: TrackerConfig, options: StartTrackerOptions = {}): Promise<RunningTracker> {
  const logger = options.logger ?? createLogger({ level: config.logLevel }, 'tracker')
  const loose = await securePrivateFiles(config.dataDir)
  if (loose.length > 0) logger.warn('data directory was readable by other users: permissions tightened', { changed: loose })
  const keys = await loadTrackerKeys(config.dataDir)
  const store = await openStore({ url: config.db })
  // Chunks become durable in one flush before a version naming them is signed (repository).
  const chunks = await createChunkStore({ dir: join(config.dataDir, 'store'), fsyncFiles: 'deferred', logger: logger.forComponent('tracker:chunks') })
  await securePrivateFiles(config.dataDir) // files the store and database just created with the umask's mode
  const shutdown = new AbortController()
  const now = options.now ?? Date.now
  const metrics = createMetrics()
  const core: Omit<TrackerComponents, 'repository' | 'swarm'> = {
    config,
    store,
    chunks,
    keys,
    logger,
    metrics,
    now,
    shutdown: shutdown.signal,
    // access tokens are verified by the OIDC service, which starts once the server listens
    reports: createReports({ store, now }, { onlineWindowMs: CLIENT_ONLINE_WINDOW_MS }),
    identity: createIdentity({ store, now, logger, accessTokens: { verify: async (token) => await components.oidc.accessTokens.verify(token) } }),
    // reads the shared config when it starts, by then holding the server's URL
    oidc: createOidc({ get config () { return components.config }, now, logger }),
    policies: createPolicies({ store, now, logger }),
    events: createClientEvents({ store, now, metrics }, {
      maxClientsPerUser: config.maxClientsPerUser,
      batchesPerUserPerMinute: config.eventBatchesPerUserPerMinute,
      eventsPerUserPerDay: config.eventsPerUserPerDay
    })
  }
  // One object, not a copy: the services keep it and so see `config.publicUrl` once the
  // server has its port.
  const components: TrackerComponents = Object.assign(core, {
    repository: createImageRepository(core),
    swarm: createSwarm(core)
  })
  /** started in this order, stopped in reverse once the server has drained */
  const pruner = createEventPruner({ store, now, logger }, { retentionMs: config.eventRetentionDays * 86_400_000 })
  const services: Array<{ start: () => Promise<void>, stop: () => Promise<void> }> = [components.identity, components.policies, components.events, pruner, components.repository, components.swarm]
  for (const service of services) await service.start()
  const app = createApp(components)
  const honoListener = getRequestListener(app.fetch)
  // `/oidc…` goes to the embedded OpenID provider (a Koa app on Node's req/res), the rest to hono
  const listener: RequestListener = (req, res) => {
    const provider = req.url === PROVIDER_MOUNT || req.url?.startsWith(`${PROVIDER_MOUNT}/`) === true ? components.oidc.handler() : undefined
    if (provider !== undefined) provider(req, res)
    else void honoListener(req, res)
  }
  const createGuardedServer = guardedServerFactory({
    maxConnections: MAX_CONNECTIONS,
    maxConnectionsPerAddress: config.maxConnectionsPerAddress ?? MAX_CONNECTIONS_PER_ADDRESS,
    maxBodiesInFlight: MAX_BODIES_IN_FLIGHT,
    headersTimeoutMs: HEADERS_TIMEOUT_MS,
    bodyDeadlineMs: BODY_DEADLINE_MS,
    isStreamingUpload: isUploadRequest,
    refuseEarly: (method, path, headers) => {
      if (method !== 'POST' || path !== `${API_PREFIX}/events` || headers.authorization === undefined) return undefined
      const after = components.events.refusedRecently(credentialKey(headers.authorization))
      if (after === undefined) return undefined
      return { status: 429, headers: { 'retry-after': String(Math.max(1, Math.ceil(after))) }, code: 'ERR_RATE_LIMITED', message: 'rate limited; retry after the time given' }
    },
    refused: metrics.counter('branchcast_http_refused_total', 'connections and requests refused by the HTTP limits, by reason')
  })
  // Oversized headers are refused (431) by Node's parser before anything is kept.
  const server = createGuardedServer({ maxHeaderSize: MAX_HEADER_BYTES, connectionsCheckingInterval: CONNECTIONS_CHECK_INTERVAL_MS }, listener)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(config.port, config.host, () => { server.off('error', reject); resolve() })
  })
  const { port } = server.address() as AddressInfo
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`
  if (config.publicUrl === undefined) components.config = { ...config, publicUrl: url }
  try {
    await components.oidc.start({ localUrl: url }) // the embedded issuer is this server's URL
  } catch (err) {
    await new Promise<void>((resolve) => server.close(() => resolve()))
    for (const service of [...services].reverse()) await service.stop().catch(() => {})
    await store.close()
    throw err
  }
  services.push(components.oidc)
  logger.info('tracker listening', { url, dataDir: config.dataDir, db: config.db.startsWith('sqlite:') ? config.db : 'mssql' })

  let stopping: Promise<void> | undefined
  async function stop ({ graceMs = 10_000 }: { graceMs?: number } = {}): Promise<void> {
    stopping ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      const timer = setTimeout(() => {
        shutdown.abort(new Error('tracker shutting down'))
        server.closeAllConnections()
      }, graceMs)
      await closed
      clearTimeout(timer)
      shutdown.abort(new Error('tracker stopped'))
      for (const service of [...services].reverse()) {
        await service.stop().catch((err: unknown) => { logger.warn('stopping a tracker service failed', { err }) })
      }
      await store.close()
      logger.info('tracker stopped')
    })()
    await stopping
  }
  return { url, components, stop }
}
