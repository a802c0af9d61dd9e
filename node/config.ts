/**
 * The node's one typed config, read once and passed down: defaults ← JSON file
 * (`<dataDir>/config.json`, or `--config`) ← environment ← flags. Enrollment writes the
 * tracker URL and token into that file (mode 0600), so a later `branchcast node` needs no
 * flags.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import type { LogLevel } from '../protocol/index.ts'
import { DEFAULT_CPU_NICE, DEFAULT_KEEP_VERSIONS } from './constants.ts'
import { readJsonFile, writeJsonFile } from './state-file.ts'

export const DEFAULT_NODE_DATA_DIR = '.data/node'
export const DEFAULT_SITE = 'default'
/** Every interface, an OS-chosen port: branch peers on the LAN must reach it. */
export const DEFAULT_LISTEN = ['/ip4/0.0.0.0/tcp/0']
/** File in the data directory holding the JSON layer of the config. */
export const NODE_CONFIG_FILE = 'config.json'

const Positive = z.number().int().positive()

/** What the JSON file and flags may set; all optional, validated at this boundary. */
export const NodeConfigFileSchema = z.object({
  tracker: z.string().url().optional(),
  token: z.string().min(1).optional(),
  site: z.string().min(1).max(128).optional(),
  listen: z.array(z.string().startsWith('/')).min(1).optional(),
  mdns: z.boolean().optional(),
  uploadRateBytesPerSec: Positive.optional(),
  originRateBytesPerSec: Positive.optional(),
  keepVersions: Positive.optional(),
  /** pull each assigned workspace automatically (default true) */
  autoDeliver: z.boolean().optional(),
  /** how often the node reads its workspaces from the tracker (ms, jittered) */
  reconcileIntervalMs: Positive.optional(),
  /** warn this many days before a workspace expires */
  expiryWarningDays: z.number().int().min(0).max(366).optional(),
  /** host verification command, as argv (no shell): must exit 0 before a workspace starts or unlocks */
  hostCheck: z.array(z.string().min(1).max(4096)).min(1).max(64).optional(),
  hostCheckTimeoutMs: Positive.max(600_000).optional(),
  logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).optional(),
  /** seed directories or files (absolute paths) indexed as local chunk sources */
  seeds: z.array(z.string().startsWith('/').max(4096)).max(64).optional(),
  /** cap on the seed index, in chunks (default 262,144: ~16 GiB of seed files) */
  seedMaxChunks: Positive.max(16_777_216).optional(),
  /** read rate of the background seed indexer (default 32 MiB/s) */
  seedReadBytesPerSec: Positive.optional(),
  /** how much nicer than its start the daemon runs, below its VMs (default 10; 0 keeps its priority) */
  cpuNice: z.number().int().min(0).max(19).optional()
}).strict()

export type NodeConfigFile = z.infer<typeof NodeConfigFileSchema>

export interface NodeConfig {
  /** where the node keeps its key, trust, cache, events and images */
  dataDir: string
  /** tracker base URL (required to start the daemon or enroll) */
  tracker?: string
  /** API token for the tracker: `--token`, else the one `enroll` saved, else `BRANCHCAST_TOKEN` */
  token?: string
  /**
   * a `BRANCHCAST_TOKEN` that differs from the enrolled token and was therefore not used:
   * the daemon checks whom it names and refuses to start when that is another user
   */
  unusedEnvToken?: string
  /** branch/site name announced to the tracker (same-site peers come first) */
  site: string
  /** libp2p listen multiaddrs */
  listen: string[]
  /** mDNS discovery of LAN peers */
  mdns: boolean
  /** cap on what this node uploads to peers */
  uploadRateBytesPerSec?: number
  /** local override of the origin rate (benchmarks); the tracker's policy applies otherwise */
  originRateBytesPerSec?: number
  /** versions of each image kept on disk after a pull (default 2): the newest, and the local source of the next */
  keepVersions: number
  /** pull each assigned workspace with no command typed, keep N versions, delete revoked ones (default true) */
  autoDeliver: boolean
  /** workspace reads from the tracker (default 5 min, ± 20 %) */
  reconcileIntervalMs?: number
  /** days of warning before a workspace expires (default 7) */
  expiryWarningDays?: number
  /** host verification command (argv, no shell) that must succeed before a start or an unlock */
  hostCheck?: string[]
  hostCheckTimeoutMs?: number
  logLevel: LogLevel
  /** seed directories or files indexed as local chunk sources (node/seeds/) */
  seeds: string[]
  seedMaxChunks?: number
  seedReadBytesPerSec?: number
  /** nice increment of the daemon, below the VMs it starts (default DEFAULT_CPU_NICE; 0: none) */
  cpuNice: number
}

export interface NodeConfigSources {
  /** highest precedence; `config` names an explicit JSON file */
  flags?: NodeConfigFile & { dataDir?: string, config?: string }
  env?: NodeJS.ProcessEnv
}

export class NodeConfigError extends Error {
  readonly code = 'ERR_NODE_CONFIG'
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'NodeConfigError'
  }
}

/**
 * The chunk cache's size limit (`--cache-max`, `cacheMaxBytes`) bounded a cache of image
 * data that no longer exists: a desk holds an image's data only in its image file, and
 * old versions are bounded by `keepVersions`. A setting that would do nothing is refused.
 */
export const CACHE_MAX_REMOVED = 'the chunk cache limit was removed: image data lives only in the image files (no cache to bound), and old versions are bounded by keepVersions (default 2)'

function parseLayer (value: unknown, where: string): NodeConfigFile {
  if (typeof value === 'object' && value !== null && 'cacheMaxBytes' in value) throw new NodeConfigError(`${where}: cacheMaxBytes: ${CACHE_MAX_REMOVED}`)
  const r = NodeConfigFileSchema.safeParse(value)
  if (!r.success) {
    const issue = r.error.issues[0]
    throw new NodeConfigError(`${where}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'invalid'}`.trim())
  }
  return r.data
}

function numberFromEnv (env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env[name]
  if (v === undefined || v === '') return undefined
  const n = Number(v)
  if (!Number.isSafeInteger(n) || n <= 0) throw new NodeConfigError(`${name} must be a positive integer`)
  return n
}

function definedOnly<T extends object> (o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}

export function configFilePath (dataDir: string): string { return join(dataDir, NODE_CONFIG_FILE) }

/** Reads the layers once. Throws `NodeConfigError` for a malformed file or variable. */
export function loadNodeConfig (sources: NodeConfigSources = {}): NodeConfig {
  const env = sources.env ?? process.env
  const flags = sources.flags ?? {}
  const dataDir = flags.dataDir ?? (env.BRANCHCAST_NODE_DATA !== undefined && env.BRANCHCAST_NODE_DATA !== '' ? env.BRANCHCAST_NODE_DATA : DEFAULT_NODE_DATA_DIR)
  const filePath = flags.config ?? configFilePath(dataDir)
  let file: NodeConfigFile = {}
  try {
    file = parseLayer(JSON.parse(readFileSync(filePath, 'utf8')), filePath)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || flags.config !== undefined) {
      if (err instanceof NodeConfigError) throw err
      throw new NodeConfigError(`cannot read ${filePath}: ${(err as Error).message}`, { cause: err })
    }
  }
  const fromEnv = parseLayer(definedOnly({
    tracker: env.BRANCHCAST_TRACKER || undefined,
    token: env.BRANCHCAST_TOKEN || undefined,
    site: env.BRANCHCAST_SITE || undefined,
    uploadRateBytesPerSec: numberFromEnv(env, 'BRANCHCAST_UPLOAD_RATE'),
    originRateBytesPerSec: numberFromEnv(env, 'BRANCHCAST_ORIGIN_RATE')
  }), 'environment')
  const { dataDir: _d, config: _c, ...flagLayer } = flags
  const fromFlags = parseLayer(definedOnly(flagLayer), 'flags')
  const merged: NodeConfigFile = { ...file, ...fromEnv, ...fromFlags }
  // The desk's identity is the one it enrolled with: an API token left in the environment
  // (an admin's, from a shell) must not silently turn the daemon into someone else.
  const token = fromFlags.token ?? file.token ?? fromEnv.token
  return {
    dataDir,
    tracker: merged.tracker?.replace(/\/+$/, ''),
    token,
    unusedEnvToken: fromEnv.token !== undefined && fromEnv.token !== token && fromFlags.token === undefined ? fromEnv.token : undefined,
    site: merged.site ?? DEFAULT_SITE,
    listen: merged.listen ?? DEFAULT_LISTEN,
    mdns: merged.mdns ?? true,
    uploadRateBytesPerSec: merged.uploadRateBytesPerSec,
    originRateBytesPerSec: merged.originRateBytesPerSec,
    keepVersions: merged.keepVersions ?? DEFAULT_KEEP_VERSIONS,
    autoDeliver: merged.autoDeliver ?? true,
    reconcileIntervalMs: merged.reconcileIntervalMs,
    expiryWarningDays: merged.expiryWarningDays,
    hostCheck: merged.hostCheck,
    hostCheckTimeoutMs: merged.hostCheckTimeoutMs,
    logLevel: merged.logLevel ?? ((env.BRANCHCAST_LOG_LEVEL as LogLevel | undefined) ?? 'info'),
    seeds: merged.seeds ?? [],
    seedMaxChunks: merged.seedMaxChunks,
    seedReadBytesPerSec: merged.seedReadBytesPerSec,
    cpuNice: merged.cpuNice ?? DEFAULT_CPU_NICE
  }
}

/** Merges `patch` into the data directory's config file (mode 0600: it may hold the token). */
export async function updateNodeConfigFile (dataDir: string, patch: NodeConfigFile): Promise<void> {
  const path = configFilePath(dataDir)
  const current = parseLayer(await readJsonFile<unknown>(path) ?? {}, path)
  await writeJsonFile(path, { ...current, ...definedOnly(patch) })
}
