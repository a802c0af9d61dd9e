/**
 * What every route sees: the authenticated principal on the context, and the components
 * passed in at start-up (no module-level state): the tracker's parts and its services.
 */
import type { CredentialKind, Logger, Role } from '../protocol/index.ts'
import type { ChunkStore } from '../protocol/index.ts'
import type { TrackerConfig } from './config.ts'
import type { Metrics } from './metrics.ts'
import type { TrackerStore } from './db/store.ts'
import type { TrackerKeys } from './keys.ts'
import type { Identity } from './identity/index.ts'
import type { Oidc } from './oidc/index.ts'
import type { Policies } from './policies/index.ts'
import type { ClientEvents } from './events/index.ts'
import type { Reports } from './reports/index.ts'
import type { ImageRepository } from './repository/index.ts'
import type { Swarm } from './swarm/index.ts'

/**
 * Who is calling, resolved by the identity service from an API token, an OpenID Connect
 * access token or a console session — routes authorise the same way whichever it was.
 */
export interface Principal {
  /** the API token called with; undefined for an access token or a session */
  tokenId?: number
  user: string
  groups: string[]
  /** either admin role: sees everything. Writes by a read-only admin are refused in one place (auth.ts). */
  admin: boolean
  role: Role
  kind: 'user' | 'machine'
  via: CredentialKind
}

export interface TrackerEnv {
  Variables: {
    principal: Principal
  }
}

export interface TrackerComponents {
  config: TrackerConfig
  store: TrackerStore
  chunks: ChunkStore
  keys: TrackerKeys
  logger: Logger
  metrics: Metrics
  /** the clock, injectable for tests of expiry */
  now: () => number
  /** aborted when the tracker stops: long work (uploads) rolls back on it */
  shutdown: AbortSignal
  /** API tokens and who a bearer token stands for */
  identity: Identity
  /** OpenID Connect: access tokens, console login and sessions, the embedded provider (started after the server listens) */
  oidc: Oidc
  /** policies, assignments and the caller's workspaces */
  policies: Policies
  /** client event ingest and queries */
  events: ClientEvents
  /** the status, activity, error, offload and deployment reports (stateless: nothing to start) */
  reports: Reports
  /** images, versions, uploads, manifests, GC (started and stopped by server.ts) */
  repository: ImageRepository
  /** announces, peers, origin shares and the membership sweeper (started and stopped by server.ts) */
  swarm: Swarm
}
