/**
 * The tracker's one typed config object: defaults ← config file ← environment ← flags,
 * read once at start-up and passed down.
 */
import { readFileSync } from 'node:fs'
import { resolve, join } from 'node:path'
import { z } from 'zod'

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
  maxConnectionsPerAddress: z.number().int().min(1).max(65_536).optional()
}).strict()

export type TrackerConfig = z.infer<typeof TrackerConfigSchema>

export const DEFAULT_DATA_DIR = '.data/tracker'

export interface ConfigSources {
  /** values from command-line flags (highest precedence) */
  flags?: Partial<TrackerConfig> & { config?: string }
  env?: NodeJS.ProcessEnv
}

function fromEnv (env: NodeJS.ProcessEnv): Partial<TrackerConfig> {
  const out: Partial<TrackerConfig> = {}
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
    ...defined(flags)
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
