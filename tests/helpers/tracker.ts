/**
 * A real tracker for integration tests: temp data directory, port 0, silent logs, and API
 * tokens minted straight in its store (no HTTP round trip, so tests of the token routes
 * are not needed to get one). Always `stop()` it: that stops the server and removes the
 * directory.
 *
 * Other helpers build on this: keep the signature stable, make changes additive.
 */
import { rm } from 'node:fs/promises'
import { loadTrackerConfig } from '../../tracker/config.ts'
import type { TrackerConfig } from '../../tracker/config.ts'
import { startTracker } from '../../tracker/server.ts'
import type { RunningTracker } from '../../tracker/server.ts'
import { mintApiToken, roleColumns } from '../../tracker/identity/index.ts'
import type { Role } from '../../protocol/index.ts'
import { makeTmpDir } from './tmp-dir.ts'
import type { Logger } from '../../protocol/logger.ts'

export interface TestTrackerOptions {
  /** the tracker's clock (token expiry, policy expiry, swarm TTLs) */
  now?: () => number
  /** config overrides; `dataDir` defaults to a fresh temp dir, `port` to 0 */
  config?: Partial<TrackerConfig>
  /** receives the tracker's log lines (default: silent), e.g. to check no secret is logged */
  logger?: Logger
}

export interface TokenForOptions {
  groups?: string[]
  admin?: boolean
  /** `read-only-admin` for MED-V's second admin role (`admin: true` = full admin) */
  role?: Role
  expiresAtMs?: number
  kind?: 'user' | 'machine'
  label?: string
}

export interface TestTracker {
  url: string
  tracker: RunningTracker
  dataDir: string
  /** an admin token for user "admin" */
  adminToken: string
  /**
   * Mints a token for `user` in the store and returns its plaintext. The second argument
   * may also be the groups array (then `extra` carries the rest).
   */
  tokenFor: (user: string, opts?: TokenForOptions | string[], extra?: TokenForOptions) => Promise<string>
  stop: () => Promise<void>
}

export async function startTestTracker (opts: TestTrackerOptions = {}): Promise<TestTracker> {
  const ownDir = opts.config?.dataDir === undefined
  const dataDir = opts.config?.dataDir ?? await makeTmpDir('branchcast-tracker-')
  let tracker: RunningTracker
  try {
    const config = loadTrackerConfig({ flags: { port: 0, logLevel: 'silent', ...opts.config, dataDir }, env: {} })
    tracker = await startTracker(config, { now: opts.now, logger: opts.logger })
  } catch (err) {
    if (ownDir) await rm(dataDir, { recursive: true, force: true })
    throw err
  }
  const now = opts.now ?? Date.now

  async function tokenFor (user: string, optsOrGroups: TokenForOptions | string[] = {}, extra: TokenForOptions = {}): Promise<string> {
    const t: TokenForOptions = Array.isArray(optsOrGroups) ? { ...extra, groups: optsOrGroups } : optsOrGroups
    const { token } = await mintApiToken(tracker.components.store, {
      user,
      groups: t.groups ?? [],
      ...roleColumns(t.role ?? (t.admin === true ? 'admin' : 'user')),
      kind: t.kind ?? 'user',
      label: t.label ?? 'test',
      expiresAtMs: t.expiresAtMs ?? null,
      nowMs: now()
    })
    return token
  }

  let adminToken: string
  try {
    adminToken = await tokenFor('admin', { admin: true, label: 'test admin' })
  } catch (err) {
    await tracker.stop({ graceMs: 0 })
    if (ownDir) await rm(dataDir, { recursive: true, force: true })
    throw err
  }

  let stopped: Promise<void> | undefined
  async function stop (): Promise<void> {
    stopped ??= (async () => {
      try {
        await tracker.stop({ graceMs: 1000 })
      } finally {
        if (ownDir) await rm(dataDir, { recursive: true, force: true })
      }
    })()
    await stopped
  }

  return { url: tracker.url, tracker, dataDir, adminToken, tokenFor, stop }
}
