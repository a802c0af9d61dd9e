/**
 * The control API's VM-session routes, a sub-app mounted at `/sessions`:
 * `GET /` lists running sessions, `GET /:image` is one's status,
 * `POST /:image/{start,stop,restart,lock,unlock}` drive the session runtime, and
 * `POST /:image/apps` launches a published application (starting the VM if needed).
 * Session errors keep their codes, with an HTTP status each.
 *
 * Policy: start, restart, unlock and app launches ask the policy source first and are
 * refused (`ERR_POLICY_DENIED`) unless it allows the image now. A managed workspace (the
 * source gives a policy) runs with the policy's mode, memory, CPUs, channels and locks; a
 * request may lower memory, CPUs and channels, never raise them (`ERR_POLICY_LIMIT`), and
 * boots the image the node holds, never a `disk` of the caller's.
 */
import { Hono } from 'hono'
import type { Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { z } from 'zod'
import { ImageNameSchema } from '../../protocol/index.ts'
import type { Logger } from '../../protocol/index.ts'
import { APP_LAUNCH_TIMEOUT_MS, CONTROL_MAX_BODY_BYTES, MAX_SESSION_CPUS, MAX_SESSION_MEMORY_MB } from '../constants.ts'
import type { PublishedApps } from '../desktop/index.ts'
import { SessionError, UNMANAGED_POLICY_SOURCE, startOptionsFor } from '../session/index.ts'
import type { LazyBaseSource, SessionErrorCode, SessionPolicyCheck, SessionPolicySource, SessionRuntime, StartRequest } from '../session/index.ts'
import type { ReadyImage, SessionLockRequest, SessionStartRequest, SessionStopRequest } from './protocol.ts'

const PATH = z.string().min(1).max(4096)
const TIMEOUT_MS = z.number().int().min(0).max(3_600_000)

const StartBody: z.ZodType<SessionStartRequest> = z.object({
  disk: PATH.optional(),
  mode: z.enum(['persistent', 'revertible']).optional(),
  memoryMb: z.number().int().min(16).max(MAX_SESSION_MEMORY_MB).optional(),
  cpus: z.number().int().min(1).max(MAX_SESSION_CPUS).optional(),
  channels: z.object({ clipboard: z.boolean(), fileTransfer: z.boolean(), printing: z.boolean() }).partial().strict().optional(),
  network: z.enum(['none', 'nat']).optional(),
  kernel: PATH.optional(),
  initrd: PATH.optional(),
  append: z.string().max(4096).optional(),
  wait: z.boolean().optional(),
  timeoutMs: TIMEOUT_MS.optional()
}).strict()
/** `POST /sessions/:image/apps`: which published application; `wait` for it to end (its exit code and output). */
export interface AppLaunchRequest {
  app: string
  wait?: boolean
  /** bound on starting the VM and, with `wait`, on the application */
  timeoutMs?: number
  /** direct kernel boot when the launch has to start the VM (test guests) */
  kernel?: string
  initrd?: string
  append?: string
}

const AppBody: z.ZodType<AppLaunchRequest> = z.object({
  app: z.string().min(1).max(100),
  wait: z.boolean().optional(),
  timeoutMs: TIMEOUT_MS.optional(),
  kernel: PATH.optional(),
  initrd: PATH.optional(),
  append: z.string().max(4096).optional()
}).strict()
const StopBody: z.ZodType<SessionStopRequest> = z.object({ timeoutMs: TIMEOUT_MS.optional() }).strict()
const LockBody: z.ZodType<SessionLockRequest> = z.object({ reason: z.string().min(1).max(64).optional() }).strict()

const STATUS_OF: Record<SessionErrorCode, 400 | 403 | 404 | 409 | 500 | 503> = {
  ERR_POLICY_DENIED: 403,
  ERR_POLICY_LIMIT: 403,
  ERR_APP_UNKNOWN: 404,
  ERR_SESSION_LOCKED: 409,
  ERR_QEMU_MISSING: 503,
  ERR_QEMU_START: 500,
  ERR_QMP: 500,
  ERR_GUEST_AGENT: 500,
  ERR_BASE_IMAGE_MISSING: 404,
  ERR_IMAGE_NOT_READY: 404,
  ERR_OVERLAY_BASE_GONE: 409,
  ERR_OVERLAY_BASE_CHANGED: 409,
  ERR_SESSION_RUNNING: 409,
  ERR_SESSION_NOT_RUNNING: 409
}

function fail (c: Context, code: string, message: string, status: 400 | 403 | 404 | 409 | 500 | 503): Response {
  return c.json({ error: { code, message } }, status)
}

/** The body parsed by `schema` (`{}` when empty), or undefined after answering 400. */
async function body<T> (c: Context, schema: z.ZodType<T>): Promise<T | Response> {
  const text = await c.req.text()
  let json: unknown
  try { json = text === '' ? {} : JSON.parse(text) } catch { return fail(c, 'ERR_BAD_REQUEST', 'body is not JSON', 400) }
  const r = schema.safeParse(json)
  return r.success ? r.data : fail(c, 'ERR_BAD_REQUEST', r.error.issues[0]?.message ?? 'invalid body', 400)
}

export interface SessionRoutesOptions {
  /** the policy gate (default UNMANAGED_POLICY_SOURCE: no policy, everything allowed) */
  policy?: SessionPolicySource
  /** a managed workspace's desktop entries are synced at each start */
  publishedApps?: Pick<PublishedApps, 'syncPublishedApps'>
  /** a start of a version not held yet boots at once, reading it while it arrives */
  lazy?: LazyBaseSource
  logger?: Logger
}

/** The policy gate's answer, or ERR_POLICY_DENIED with its reason. */
async function allowed (policy: SessionPolicySource, image: string, signal: AbortSignal): Promise<SessionPolicyCheck> {
  const check = await policy.check(image, { signal })
  if (!check.allowed) throw new SessionError('ERR_POLICY_DENIED', `${image}: ${check.reason ?? 'the workspace policy does not allow it now'}`)
  return check
}

/** A start request's own part (the rest is the policy's). */
function startRequest (b: Omit<SessionStartRequest, 'wait' | 'timeoutMs'>): StartRequest {
  return {
    mode: b.mode, memoryMb: b.memoryMb, cpus: b.cpus, channels: b.channels, disk: b.disk, network: b.network,
    boot: b.kernel === undefined ? undefined : { kernelPath: b.kernel, initrdPath: b.initrd, append: b.append }
  }
}

export function sessionRoutes (sessions: SessionRuntime, images: () => Promise<ReadyImage[]>, options: SessionRoutesOptions = {}): Hono {
  const policy = options.policy ?? UNMANAGED_POLICY_SOURCE
  const app = new Hono()
  app.use('*', bodyLimit({ maxSize: CONTROL_MAX_BODY_BYTES, onError: (c) => fail(c, 'ERR_TOO_LARGE', 'body too large', 400) }))
  app.onError((err, c) => {
    const code = (err as { code?: unknown }).code
    if (typeof code === 'string' && code in STATUS_OF) return fail(c, code, err.message, STATUS_OF[code as SessionErrorCode])
    if (err instanceof TypeError) return fail(c, 'ERR_BAD_REQUEST', err.message, 400)
    return fail(c, 'ERR_INTERNAL', err.message, 500)
  })
  const image = (c: Context): string | Response => {
    const r = ImageNameSchema.safeParse(c.req.param('image'))
    return r.success ? r.data : fail(c, 'ERR_BAD_REQUEST', r.error.issues[0]?.message ?? 'bad image name', 400)
  }
  const bounded = (c: Context, timeoutMs: number | undefined): AbortSignal => timeoutMs === undefined ? c.req.raw.signal : AbortSignal.any([c.req.raw.signal, AbortSignal.timeout(timeoutMs)])
  /** A start's side effect on the desktop: the workspace's entries as its policy has them now. */
  const syncApps = async (name: string, check: SessionPolicyCheck): Promise<void> => {
    if (check.policy === undefined || options.publishedApps === undefined) return
    await options.publishedApps.syncPublishedApps(name, check.policy.publishedApps)
      .catch((err: unknown) => { options.logger?.warn('cannot sync the published applications', { image: name, err }) })
  }
  app.get('/', async (c) => c.json({ sessions: await sessions.list({ signal: c.req.raw.signal }) }))
  app.get('/:image', async (c) => {
    const name = image(c)
    return typeof name === 'string' ? c.json(await sessions.status(name, { signal: c.req.raw.signal })) : name
  })
  app.post('/:image/start', async (c) => {
    const name = image(c)
    const b = await body(c, StartBody)
    if (typeof name !== 'string') return name
    if (b instanceof Response) return b
    const signal = bounded(c, b.timeoutMs)
    const check = await allowed(policy, name, signal)
    const start = await startOptionsFor(name, startRequest(b), check, images, options.lazy, signal)
    await syncApps(name, check)
    return c.json(await sessions.start(name, { ...start, waitForAgent: b.wait, signal }))
  })
  for (const action of ['stop', 'restart'] as const) {
    app.post(`/:image/${action}`, async (c) => {
      const name = image(c)
      const b = await body(c, StopBody)
      if (typeof name !== 'string') return name
      if (b instanceof Response) return b
      // a restart is a start: the policy must allow it now (a stop never needs permission)
      if (action === 'restart') await allowed(policy, name, c.req.raw.signal)
      return c.json(await sessions[action](name, { timeoutMs: b.timeoutMs }))
    })
  }
  app.post('/:image/lock', async (c) => {
    const name = image(c)
    const b = await body(c, LockBody)
    if (typeof name !== 'string') return name
    if (b instanceof Response) return b
    return c.json(await sessions.lock(name, { reason: b.reason, signal: c.req.raw.signal }))
  })
  app.post('/:image/unlock', async (c) => {
    const name = image(c)
    if (typeof name !== 'string') return name
    // only a policy valid now unlocks: a VM locked on expiry stays locked until the admin extends it
    await allowed(policy, name, c.req.raw.signal)
    return c.json(await sessions.unlock(name, { signal: c.req.raw.signal }))
  })
  app.post('/:image/apps', async (c) => {
    const requestedAtMs = Date.now()
    const name = image(c)
    const b = await body(c, AppBody)
    if (typeof name !== 'string') return name
    if (b instanceof Response) return b
    const signal = bounded(c, b.timeoutMs ?? APP_LAUNCH_TIMEOUT_MS)
    const check = await allowed(policy, name, signal)
    const published = check.policy?.publishedApps.find((a) => a.name === b.app)
    if (published === undefined) {
      throw new SessionError('ERR_APP_UNKNOWN', check.policy === undefined ? `${name} has no workspace policy, so no published applications` : `the policy of ${name} publishes no application named ${JSON.stringify(b.app)}`)
    }
    if ((await sessions.status(name, { signal })).state === 'stopped') {
      const start = await startOptionsFor(name, startRequest({ kernel: b.kernel, initrd: b.initrd, append: b.append }), check, images, options.lazy, signal)
      await syncApps(name, check)
      await sessions.start(name, { ...start, signal }).catch((err: unknown) => {
        // another launch started it meanwhile: use that VM
        if ((err as { code?: string }).code !== 'ERR_SESSION_RUNNING') throw err
      })
    }
    return c.json(await sessions.launchApp(name, published, { wait: b.wait, requestedAtMs, signal }))
  })
  return app
}
