/**
 * The control API's VM-session routes, a sub-app mounted at `/sessions`:
 * `GET /` lists running sessions, `GET /:image` is one's status, and
 * `POST /:image/{start,stop,restart,lock,unlock}` drive the session runtime. Session
 * errors keep their codes, with an HTTP status each.
 */
import { Hono } from 'hono'
import type { Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { z } from 'zod'
import { ImageNameSchema } from '../../protocol/index.ts'
import { CONTROL_MAX_BODY_BYTES, MAX_SESSION_CPUS, MAX_SESSION_MEMORY_MB } from '../constants.ts'
import { findBaseImage } from '../session/index.ts'
import type { SessionErrorCode, SessionRuntime } from '../session/index.ts'
import type { WorkspaceGate } from '../workspaces/index.ts'
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
const StopBody: z.ZodType<SessionStopRequest> = z.object({ timeoutMs: TIMEOUT_MS.optional() }).strict()
const LockBody: z.ZodType<SessionLockRequest> = z.object({ reason: z.string().min(1).max(64).optional() }).strict()

const STATUS_OF: Record<SessionErrorCode, 400 | 404 | 409 | 500 | 503> = {
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

/** The workspace gate's refusal of a start or an unlock (403 ERR_WORKSPACE_LOCKED), or undefined when allowed. */
async function refused (c: Context, gate: WorkspaceGate | undefined, image: string): Promise<Response | undefined> {
  if (gate === undefined) return undefined
  const d = await gate.check(image, { signal: c.req.raw.signal })
  return d.allowed ? undefined : fail(c, 'ERR_WORKSPACE_LOCKED', `${image}: ${d.reason}`, 403)
}

export function sessionRoutes (sessions: SessionRuntime, images: () => Promise<ReadyImage[]>, gate?: WorkspaceGate): Hono {
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
    const no = await refused(c, gate, name)
    if (no !== undefined) return no
    const base = b.disk === undefined ? await findBaseImage(images, name) : { path: b.disk, version: undefined }
    const signal = b.timeoutMs === undefined ? c.req.raw.signal : AbortSignal.any([c.req.raw.signal, AbortSignal.timeout(b.timeoutMs)])
    return c.json(await sessions.start(name, {
      baseImagePath: base.path,
      version: base.version,
      mode: b.mode ?? 'persistent',
      memoryMb: b.memoryMb,
      cpus: b.cpus,
      channels: b.channels,
      network: b.network,
      boot: b.kernel === undefined ? undefined : { kernelPath: b.kernel, initrdPath: b.initrd, append: b.append },
      waitForAgent: b.wait,
      signal
    }))
  })
  for (const action of ['stop', 'restart'] as const) {
    app.post(`/:image/${action}`, async (c) => {
      const name = image(c)
      const b = await body(c, StopBody)
      if (typeof name !== 'string') return name
      if (b instanceof Response) return b
      const no = action === 'restart' ? await refused(c, gate, name) : undefined
      if (no !== undefined) return no
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
    const no = await refused(c, gate, name)
    if (no !== undefined) return no
    return c.json(await sessions.unlock(name, { signal: c.req.raw.signal }))
  })
  return app
}
