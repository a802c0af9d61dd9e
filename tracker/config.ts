/**
 * The tracker's one typed config object: defaults ← config file ← environment ← flags,
 * read once at start-up and passed down.
 */
import { readFileSync } from 'node:fs'
import { resolve, join } from 'node:path'
import { z } from 'zod'
import { isSecureIssuer } from '../protocol/index.ts'

/**
 * Signature algorithms an access token may use: asymmetric only. `none` is never
 * accepted, nor HS* — an HMAC "signed" with a public key is the classic forgery.
 */
export const ACCESS_TOKEN_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const

const claimName = z.string().min(1).max(200)

/** OpenID Connect: an external issuer, or (no `issuer`) the embedded development provider. */
export const OidcConfigSchema = z.object({
  /** the issuer's URL; unset = the tracker runs a development provider under /oidc */
  issuer: z.string().url().optional(),
  /** what access tokens' `aud` must hold (default: the tracker's public URL) */
  audience: z.string().min(1).optional(),
  /** the console's client (code + PKCE); confidential when `clientSecret` is set */
  clientId: z.string().min(1),
  clientSecret: z.string().min(1).optional(),
  /** the public client `branchcast login` uses (device grant) */
  cliClientId: z.string().min(1),
  /** the claim naming the user (`sub`, `preferred_username`, `upn`, …) */
  userClaim: claimName,
  /** the claim holding the user's groups (an array, or a space-separated string) */
  groupsClaim: claimName,
  /** a claim whose value (string or array) holds `admin` or `read-only-admin` */
  roleClaim: claimName.optional(),
  /** members of these groups are full admins */
  adminGroups: z.array(z.string().min(1)).max(256),
  /** members of these groups are read-only admins (an admin group wins) */
  readOnlyAdminGroups: z.array(z.string().min(1)).max(256),
  algorithms: z.array(z.enum(ACCESS_TOKEN_ALGORITHMS)).min(1),
  /** tolerated clock difference with the issuer for exp/nbf/iat */
  clockSkewSeconds: z.number().int().min(0).max(600),
  /** a console login lasts at most this long, refreshes included */
  sessionTtlSeconds: z.number().int().min(60).max(7 * 86_400),
  /** embedded provider: access-token lifetime (refresh tokens renew them) */
  accessTokenTtlSeconds: z.number().int().min(10).max(86_400)
}).strict().refine((o) => o.issuer === undefined || isSecureIssuer(o.issuer), { message: 'issuer must be https (plain http only on a loopback address)', path: ['issuer'] })

export type OidcConfig = z.infer<typeof OidcConfigSchema>

const OIDC_DEFAULTS: OidcConfig = {
  clientId: 'branchcast-console',
  cliClientId: 'branchcast-cli',
  userClaim: 'sub',
  groupsClaim: 'groups',
  adminGroups: [],
  readOnlyAdminGroups: [],
  algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'],
  clockSkewSeconds: 60,
  sessionTtlSeconds: 8 * 3600,
  accessTokenTtlSeconds: 600
}

export const TrackerConfigSchema = z.object({
  /** everything the tracker keeps: database, chunk store (the origin's document root), keys */
  dataDir: z.string().min(1),
  host: z.string().min(1),
  port: z.number().int().min(0).max(65535),
  /** `sqlite:PATH` (default: <dataDir>/tracker.db) or `mssql://…` */
  db: z.string().min(1),
  /** how clients reach this tracker (used in links and origin URLs); defaults to http://host:port */
  publicUrl: z.string().url().optional(),
  /** base URL of an external origin (nginx/IIS serving <dataDir>/store); defaults to the built-in origin */
  originUrl: z.string().url().optional(),
  logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']),
  /** lifetime of origin and peer capability tokens */
  capabilityTtlSeconds: z.number().int().min(30).max(7 * 24 * 3600),
  /** swarm membership lapses without an announce in this time */
  announceTtlSeconds: z.number().int().min(10).max(24 * 3600),
  /** manifests expire this long after publishing unless the admin says otherwise */
  manifestTtlDays: z.number().int().min(1).max(3650),
  /** client events older than this are pruned (by client time, or by arrival for future-dated ones) */
  eventRetentionDays: z.number().int().min(1).max(3650),
  /** client ids (nodes) one user may register; a new one past this is refused (ERR_STORE_CLIENT_LIMIT) */
  maxClientsPerUser: z.number().int().min(1).max(100_000),
  /** event batches one user may post per minute, counted in the database across tracker processes */
  eventBatchesPerUserPerMinute: z.number().int().min(1).max(1_000_000),
  /** events one user may post per UTC day, counted in the database across tracker processes */
  eventsPerUserPerDay: z.number().int().min(1).max(1_000_000_000),
  /** bearer token a Prometheus scraper sends for the detailed `/metrics` (unset: anonymous callers get only aggregates) */
  metricsToken: z.string().min(16).max(256).optional(),
  /** open HTTP connections per client address (a branch behind one NAT address shares it) */
  maxConnectionsPerAddress: z.number().int().min(1).max(65_536).optional(),
  oidc: OidcConfigSchema
}).strict()

export type TrackerConfig = z.infer<typeof TrackerConfigSchema>

export const DEFAULT_DATA_DIR = '.data/tracker'

type TrackerConfigInput = Omit<Partial<TrackerConfig>, 'oidc'> & { oidc?: Partial<OidcConfig> }

export interface ConfigSources {
  /** values from command-line flags (highest precedence) */
  flags?: TrackerConfigInput & { config?: string }
  env?: NodeJS.ProcessEnv
}

function oidcFromEnv (env: NodeJS.ProcessEnv): Partial<OidcConfig> {
  return defined({
    issuer: env.BRANCHCAST_OIDC_ISSUER,
    audience: env.BRANCHCAST_OIDC_AUDIENCE,
    clientId: env.BRANCHCAST_OIDC_CLIENT_ID,
    clientSecret: env.BRANCHCAST_OIDC_CLIENT_SECRET,
    cliClientId: env.BRANCHCAST_OIDC_CLI_CLIENT_ID
  })
}

function fromEnv (env: NodeJS.ProcessEnv): Omit<Partial<TrackerConfig>, 'oidc'> {
  const out: Omit<Partial<TrackerConfig>, 'oidc'> = {}
  if (env.BRANCHCAST_DATA !== undefined) out.dataDir = env.BRANCHCAST_DATA
  if (env.BRANCHCAST_HOST !== undefined) out.host = env.BRANCHCAST_HOST
  if (env.BRANCHCAST_PORT !== undefined) out.port = Number(env.BRANCHCAST_PORT)
  if (env.BRANCHCAST_DB !== undefined) out.db = env.BRANCHCAST_DB
  if (env.BRANCHCAST_PUBLIC_URL !== undefined) out.publicUrl = env.BRANCHCAST_PUBLIC_URL
  if (env.BRANCHCAST_ORIGIN_URL !== undefined) out.originUrl = env.BRANCHCAST_ORIGIN_URL
  if (env.BRANCHCAST_METRICS_TOKEN !== undefined) out.metricsToken = env.BRANCHCAST_METRICS_TOKEN
  if (env.BRANCHCAST_LOG_LEVEL !== undefined) out.logLevel = env.BRANCHCAST_LOG_LEVEL as TrackerConfig['logLevel']
  return out
}

function defined<T extends object> (o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}

/** Build the config; a bad file or value throws with the field named. */
export function loadTrackerConfig (sources: ConfigSources = {}): TrackerConfig {
  const env = sources.env ?? process.env
  const { config: file, ...flags } = sources.flags ?? {}
  const configFile = file ?? env.BRANCHCAST_CONFIG
  let fileValues: Record<string, unknown> = {}
  if (configFile !== undefined) {
    try {
      fileValues = JSON.parse(readFileSync(configFile, 'utf8'))
    } catch (err) {
      throw new Error(`cannot read config file ${configFile}: ${(err as Error).message}`)
    }
  }
  const fileOidc = (typeof fileValues.oidc === 'object' && fileValues.oidc !== null ? fileValues.oidc : {}) as Partial<OidcConfig>
  const merged: Record<string, unknown> = {
    dataDir: DEFAULT_DATA_DIR,
    host: '127.0.0.1',
    port: 8470,
    logLevel: 'info',
    capabilityTtlSeconds: 600, // a revoked user keeps origin and peer access at most this long (docs/security.md)
    announceTtlSeconds: 120,
    manifestTtlDays: 365,
    eventRetentionDays: 90,
    maxClientsPerUser: 16,
    eventBatchesPerUserPerMinute: 240,
    eventsPerUserPerDay: 100_000,
    ...fileValues,
    ...defined(fromEnv(env)),
    ...defined(flags),
    // merged key by key: a file's `oidc.issuer` and the environment's client secret combine
    oidc: { ...OIDC_DEFAULTS, ...fileOidc, ...oidcFromEnv(env), ...defined(flags.oidc ?? {}) }
  }
  merged.dataDir = resolve(String(merged.dataDir))
  merged.db ??= `sqlite:${join(merged.dataDir as string, 'tracker.db')}`
  const parsed = TrackerConfigSchema.safeParse(merged)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new Error(`invalid tracker config: ${issue?.path.join('.') ?? '?'}: ${issue?.message ?? 'invalid'}`)
  }
  return parsed.data
}
