import { randomBytes, timingSafeEqual } from 'node:crypto'
import { unlink } from 'node:fs/promises'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { createAdaptorServer } from '@hono/node-server'
import { z } from 'zod'
import type { Logger } from '../../protocol/index.ts'
import { ImageNameSchema } from '../../protocol/index.ts'
import { writeJsonFile } from '../state-file.ts'
import { isAbsolute } from 'node:path'
import { CONTROL_MAX_BODY_BYTES, CONTROL_MAX_PATH_CHARS, CONTROL_PROGRESS_INTERVAL_MS } from '../constants.ts'
import { controlFilePath } from './protocol.ts'
import { sessionRoutes } from './session-routes.ts'
import type { BundleRequest, ControlErrorBody, ImportRequest, PullRequest, StreamLine } from './protocol.ts'
import type { ControlComponents, ControlServer, ControlServerInit } from './index.ts'

const PullBody: z.ZodType<PullRequest> = z.object({
  image: ImageNameSchema,
  version: z.union([z.number().int().positive(), z.literal('latest')]).optional()
}).strict()

const absolutePath = z.string().min(1).max(CONTROL_MAX_PATH_CHARS).refine((p) => isAbsolute(p) && !p.includes('\0'), 'an absolute path')
const BundleBody: z.ZodType<BundleRequest> = z.object({
  image: ImageNameSchema,
  version: z.number().int().positive().optional(),
  since: z.number().int().positive().optional(),
  out: absolutePath,
  force: z.boolean().optional()
}).strict()
const ImportBody: z.ZodType<ImportRequest> = z.object({ path: absolutePath }).strict()

function errorBody (code: string, message: string): ControlErrorBody {
  return { error: { code, message } }
}

/** A `/pull` or `/pull/dry-run` body, or the 400 answer's body. */
async function readPullBody (req: Request): Promise<PullRequest | ControlErrorBody> {
  try {
    const r = PullBody.safeParse(await req.json())
    return r.success ? r.data : errorBody('ERR_BAD_REQUEST', r.error.issues[0]?.message ?? 'invalid body')
  } catch {
    return errorBody('ERR_BAD_REQUEST', 'body is not JSON')
  }
}

export class ControlServerImpl implements ControlServer {
  readonly #init: Required<Pick<ControlServerInit, 'dataDir' | 'host'>> & ControlServerInit
  readonly #components: ControlComponents
  readonly #log: Logger
  readonly #token = randomBytes(32).toString('base64url')
  readonly #pulls = new Set<AbortController>()
  #server: Server | undefined
  #url = ''

  constructor (init: ControlServerInit & { host: string }, components: ControlComponents) {
    this.#init = init
    this.#components = components
    this.#log = components.logger.forComponent('node:control')
  }

  get url (): string { return this.#url }

  #authorised (header: string | undefined): boolean {
    if (header === undefined || !header.startsWith('Bearer ')) return false
    const given = Buffer.from(header.slice(7))
    const want = Buffer.from(this.#token)
    return given.length === want.length && timingSafeEqual(given, want)
  }

  #app (): Hono {
    const app = new Hono()
    app.use('*', async (c, next) => {
      if (!this.#authorised(c.req.header('authorization'))) return c.json(errorBody('ERR_UNAUTHORIZED', 'missing or wrong control token'), 401)
      await next()
    })
    app.get('/status', async (c) => c.json(await this.#components.status()))
    app.get('/images', async (c) => c.json({ images: await this.#components.images() }))
    const limit = bodyLimit({ maxSize: CONTROL_MAX_BODY_BYTES, onError: (c) => c.json(errorBody('ERR_TOO_LARGE', 'body too large'), 413) })
    // a long request: the body checked, then NDJSON progress lines and one report or error
    const streamed = <B, P, R>(path: string, schema: z.ZodType<B>, what: string, run: (body: B, signal: AbortSignal, onProgress: (p: P & { phase?: string }) => void) => Promise<R>): void => {
      app.post(path, limit, async (c) => {
        let body: B
        try {
          const r = schema.safeParse(await c.req.json())
          if (!r.success) return c.json(errorBody('ERR_BAD_REQUEST', `${r.error.issues[0]?.path.join('.') ?? ''}: ${r.error.issues[0]?.message ?? 'invalid body'}`), 400)
          body = r.data
        } catch {
          return c.json(errorBody('ERR_BAD_REQUEST', 'body is not JSON'), 400)
        }
        return this.#stream(what, c.req.raw.signal, async (signal, onProgress) => await run(body, signal, onProgress))
      })
    }
    streamed('/pull', PullBody, 'pull', async (body, signal, onProgress) => await this.#components.pull({ image: body.image, version: body.version, signal, onProgress }))
    const bundles = this.#components.bundles
    if (bundles !== undefined) {
      streamed('/bundle', BundleBody, 'bundle', async (body, signal, onProgress) => await bundles.make(body, { signal, onProgress }))
      streamed('/import', ImportBody, 'import', async (body, signal, onProgress) => await bundles.import(body.path, { signal, onProgress }))
    }
    const dryRun = this.#components.dryRun
    if (dryRun !== undefined) {
      app.post('/pull/dry-run', limit, async (c) => {
        const body = await readPullBody(c.req.raw)
        if ('error' in body) return c.json(body, 400)
        try {
          return c.json({ report: await dryRun({ image: body.image, version: body.version, signal: c.req.raw.signal }) })
        } catch (err) {
          const code = (err as { code?: string }).code
          return c.json(errorBody(typeof code === 'string' ? code : 'ERR_DRY_RUN_FAILED', (err as Error).message), 502)
        }
      })
    }
    const workspaces = this.#components.workspaces
    if (workspaces !== undefined) {
      app.get('/workspaces', (c) => c.json(workspaces.status()))
      app.post('/workspaces/refresh', async (c) => c.json(await workspaces.refresh({ signal: c.req.raw.signal })))
    }
    if (this.#components.sessions !== undefined) app.route('/sessions', sessionRoutes(this.#components.sessions, this.#components.images, { policy: this.#components.sessionPolicy, publishedApps: this.#components.publishedApps, lazy: this.#components.lazyBase, logger: this.#log }))
    app.notFound((c) => c.json(errorBody('ERR_NOT_FOUND', 'no such route'), 404))
    app.onError((err, c) => {
      this.#log.error('control request failed', { err })
      return c.json(errorBody('ERR_INTERNAL', err.message), 500)
    })
    return app
  }

  #stream<P extends { phase?: string }, R> (what: string, requestSignal: AbortSignal, run: (signal: AbortSignal, onProgress: (p: P) => void) => Promise<R>): Response {
    const controller = new AbortController()
    this.#pulls.add(controller)
    const encoder = new TextEncoder()
    const log = this.#log
    const pulls = this.#pulls
    // the CLI going away (Ctrl-C) cancels the pull; a finished pull's chunks stay cached
    const onGone = (): void => controller.abort(new Error('control client disconnected'))
    requestSignal.addEventListener('abort', onGone, { once: true })
    const stream = new ReadableStream<Uint8Array>({
      async start (ctrl) {
        const send = (line: StreamLine<P, R>): void => {
          try { ctrl.enqueue(encoder.encode(JSON.stringify(line) + '\n')) } catch {}
        }
        let lastSentMs = 0
        let lastPhase = ''
        const onProgress = (p: P): void => {
          const t = Date.now()
          if (p.phase === lastPhase && t - lastSentMs < CONTROL_PROGRESS_INTERVAL_MS) return
          lastPhase = p.phase ?? ''
          lastSentMs = t
          send({ type: 'progress', progress: p })
        }
        try {
          send({ type: 'report', report: await run(controller.signal, onProgress) })
        } catch (err) {
          const code = (err as { code?: unknown }).code
          log.warn(`${what} failed`, { err })
          send({ type: 'error', code: typeof code === 'string' ? code : `ERR_${what.toUpperCase()}_FAILED`, message: (err as Error).message })
        } finally {
          requestSignal.removeEventListener('abort', onGone)
          pulls.delete(controller)
          try { ctrl.close() } catch {}
        }
      },
      cancel () { controller.abort(new Error('control client disconnected')) }
    })
    return new Response(stream, { status: 200, headers: { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' } })
  }

  get activePulls (): number { return this.#pulls.size }

  async start (): Promise<void> {
    if (this.#server !== undefined) return
    const app = this.#app()
    const server = createAdaptorServer({ fetch: app.fetch, hostname: this.#init.host, port: this.#init.port ?? 0 }) as Server
    server.requestTimeout = 0 // a pull of a large image streams progress for a long time
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.#init.port ?? 0, this.#init.host, () => { server.off('error', reject); resolve() })
    })
    this.#server = server
    const { port } = server.address() as AddressInfo
    this.#url = `http://${this.#init.host.includes(':') ? `[${this.#init.host}]` : this.#init.host}:${port}`
    await writeJsonFile(controlFilePath(this.#init.dataDir), { url: this.#url, token: this.#token, pid: process.pid }, 0o600)
    this.#log.info('control API listening', { url: this.#url })
  }

  async stop (): Promise<void> {
    const server = this.#server
    if (server === undefined) return
    this.#server = undefined
    for (const c of this.#pulls) c.abort(new Error('node stopping'))
    await unlink(controlFilePath(this.#init.dataDir)).catch(() => {})
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    server.closeIdleConnections()
    const timer = setTimeout(() => server.closeAllConnections(), 2_000)
    await closed
    clearTimeout(timer)
  }
}
