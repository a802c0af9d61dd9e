/**
 * The built-in origin and the route that hands out access to it.
 *
 * - `originRoutes`, mounted at `/origin` outside `/api` (it takes origin capability tokens,
 *   not API tokens): `GET`/`HEAD /origin/chunks/{2 hex}/{64 hex}` — the chunk store's own
 *   layout, so the same relative URLs work against nginx serving the store directory —
 *   and the delta files beside the chunks, `deltas/{2 hex}/{target}-{key}` and
 *   `delta-indexes/{2 hex}/{manifest digest}`, and the boot profile `boot-profiles/{2 hex}/{manifest digest}`.
 * - `originTokenRoutes`, under `/api/v1`: `POST /images/{name}/origin-token`.
 *
 * A chunk request is checked in this order, each step before any file is touched:
 * path shape (400), token signature/expiry/audience (401), the chunk belongs to a
 * published or retired version of the token's image (403), the token's rate cap (held, or
 * 429 past `ORIGIN_PACE_MAX_WAIT_MS`: `origin/pacer.ts`), the file exists (404).
 */
import { createRoute } from '@hono/zod-openapi'
import type { OpenAPIHono } from '@hono/zod-openapi'
import { bodyLimit } from 'hono/body-limit'
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { DELTA_FILE_RE, ImageParamsSchema, OriginAccessSchema, OriginTokenBodySchema, isBranchcastError, verifyCapability } from '../../protocol/index.ts'
import type { CapabilityClaims } from '../../protocol/index.ts'
import { errorResponse, newRouter } from './router.ts'
import { bearer } from '../auth.ts'
import type { TrackerComponents, TrackerEnv } from '../env.ts'
import { badRequest, forbidden, notFound, payloadTooLarge, rateLimited, unauthenticated } from '../errors.ts'
import {
  chunkResponse, createMembershipCheck, createOriginPacer, grantOriginAccess, MAX_ORIGIN_TOKEN_BODY_BYTES, ORIGIN_PACE_MAX_KEYS, ORIGIN_PACE_MAX_WAIT_MS
} from '../origin/index.ts'

const FANOUT_RE = /^[0-9a-f]{2}$/
const CHUNK_ID_RE = /^[0-9a-f]{64}$/

/** `GET`/`HEAD /chunks/{fan}/{id}` under `/origin`. */
export function originRoutes (components: TrackerComponents): OpenAPIHono<TrackerEnv> {
  const { chunks, keys, metrics } = components
  const log = components.logger.forComponent('tracker:origin')
  const bytesServed = metrics.counter('branchcast_origin_bytes_served_total', 'Bytes of chunk files sent by the built-in origin')
  const requests = metrics.counter('branchcast_origin_requests_total', 'Built-in origin requests by status')
  const imageHasChunk = createMembershipCheck({ store: components.store, now: components.now })
  const countBytes = (n: number): void => bytesServed.inc({}, n)
  const pacer = createOriginPacer({ maxWaitMs: ORIGIN_PACE_MAX_WAIT_MS, maxKeys: ORIGIN_PACE_MAX_KEYS })
  const paced = metrics.counter('branchcast_origin_paced_total', 'Built-in origin chunk requests under a rate cap, by outcome')
  /** Holds a capped token's request until its rate allows the file's bytes, or refuses it (429). */
  async function pace (key: string, path: string, rate: number): Promise<void> {
    const bytes = await stat(path).then((st) => st.size, () => 0) // a missing file is answered 404 below
    const d = pacer.book(key, bytes, rate, components.now())
    if (!d.ok) {
      paced.inc({ outcome: 'refused' })
      throw rateLimited(d.retryAfterSeconds)
    }
    paced.inc({ outcome: d.waitMs > 0 ? 'held' : 'immediate' })
    if (d.waitMs > 0) await sleep(d.waitMs)
  }

  /** The image an origin capability token opens (401 when there is none, or a bad one). */
  const tokenClaims = (authorization: string | undefined, query: string | undefined): CapabilityClaims => {
    const token = bearer(authorization) ?? query
    if (token === undefined || token === '') throw unauthenticated('origin capability token required (Authorization: Bearer or ?token=)')
    try {
      return verifyCapability(token, { publicKey: keys.capability.publicKey, nowMs: components.now(), aud: 'origin' })
    } catch (err) {
      if (isBranchcastError(err)) throw unauthenticated(err.message)
      throw err
    }
  }

  const app = newRouter()
  app.use(async (c, next) => {
    await next()
    requests.inc({ status: String(c.res.status) })
  })

  app.get('/chunks/:fan/:id', async (c) => {
    // Checked on the raw values: anything but the exact layout (`..`, encoded slashes,
    // upper case, short ids) is refused before a token is read or a path is built.
    const fan = c.req.param('fan')
    const id = c.req.param('id')
    if (!FANOUT_RE.test(fan) || !CHUNK_ID_RE.test(id) || id.slice(0, 2) !== fan) throw badRequest('not a chunk path: chunks/<2 hex>/<64 lowercase hex>')

    const claims = tokenClaims(c.req.header('authorization'), c.req.query('token'))

    // The image binding: a token for image A opens only chunks of A's published or
    // retired versions — not drafts, not other images' chunks that share the store.
    const image = claims.img
    if (!await imageHasChunk(image, id)) throw forbidden('chunk is not part of a published version of the image this token covers')
    if (claims.rate !== undefined && c.req.method === 'GET') await pace(`${claims.sub}\n${image}`, chunks.pathOf(id), claims.rate)

    const res = await chunkResponse({
      path: chunks.pathOf(id),
      id,
      head: c.req.method === 'HEAD',
      range: c.req.header('range'),
      ifNoneMatch: c.req.header('if-none-match'),
      ifRange: c.req.header('if-range'),
      onBytes: countBytes
    })
    if (res === undefined) {
      // A member chunk with no file: GC or a damaged store. Worth an operator's look.
      log.warn('chunk of a live version missing from the store', { image, chunk: id })
      throw notFound('no such chunk')
    }
    return res
  })

  // Delta chunks and delta indexes (protocol/delta/), files beside the chunks: same order of
  // checks. A delta belongs to the image when its target chunk does; an index when its
  // manifest digest is a published or retired version's of the image.
  app.get('/deltas/:fan/:name', async (c) => {
    const fan = c.req.param('fan')
    const name = c.req.param('name')
    const m = DELTA_FILE_RE.exec(name)
    if (!FANOUT_RE.test(fan) || m === null || m[1].slice(0, 2) !== fan) throw badRequest('not a delta path: deltas/<2 hex>/<64 hex>-<16 hex>')
    const claims = tokenClaims(c.req.header('authorization'), c.req.query('token'))
    const image = claims.img
    if (!await imageHasChunk(image, m[1])) throw forbidden('delta is not for a chunk of a published version of the image this token covers')
    if (claims.rate !== undefined && c.req.method === 'GET') await pace(`${claims.sub}\n${image}`, join(chunks.dir, 'deltas', fan, name), claims.rate)
    const res = await chunkResponse({ path: join(chunks.dir, 'deltas', fan, name), id: name, head: c.req.method === 'HEAD', range: c.req.header('range'), ifNoneMatch: c.req.header('if-none-match'), ifRange: c.req.header('if-range'), onBytes: countBytes })
    if (res === undefined) throw notFound('no such delta')
    return res
  })

  // Per-version files named by the manifest digest: the delta index and the boot profile.
  // Served when the digest is a published or retired version's of the token's image.
  for (const [dir, what] of [['delta-indexes', 'delta index'], ['boot-profiles', 'boot profile']] as const) {
    app.get(`/${dir}/:fan/:digest`, async (c) => {
      const fan = c.req.param('fan')
      const digest = c.req.param('digest')
      if (!FANOUT_RE.test(fan) || !CHUNK_ID_RE.test(digest) || digest.slice(0, 2) !== fan) throw badRequest(`not a ${what} path: ${dir}/<2 hex>/<64 hex>`)
      const image = tokenClaims(c.req.header('authorization'), c.req.query('token')).img
      const record = await components.store.getImage(image)
      const versions = record === undefined ? [] : await components.store.listVersions(record.id)
      if (!versions.some((v) => v.manifestId === digest && (v.state === 'published' || v.state === 'retired'))) throw forbidden(`not the ${what} of a published version of the image this token covers`)
      const res = await chunkResponse({ path: join(chunks.dir, dir, fan, digest), id: digest, head: c.req.method === 'HEAD', range: c.req.header('range'), ifNoneMatch: c.req.header('if-none-match'), ifRange: c.req.header('if-range'), onBytes: countBytes })
      if (res === undefined) throw notFound(`no ${what} for this version`)
      return res
    })
  }
  return app
}

const issueRoute = createRoute({
  method: 'post',
  path: '/images/{name}/origin-token',
  summary: 'Get a short-lived origin token (and signed-URL query) for an image',
  description: 'For callers the image is assigned to (or admins). The token is bound to clientId and the image; a client id already registered to another user is refused.',
  middleware: [bodyLimit({ maxSize: MAX_ORIGIN_TOKEN_BODY_BYTES, onError: () => { throw payloadTooLarge(`body over ${MAX_ORIGIN_TOKEN_BODY_BYTES} bytes`) } })] as const,
  request: {
    params: ImageParamsSchema,
    body: { content: { 'application/json': { schema: OriginTokenBodySchema } }, required: true }
  },
  responses: {
    200: { description: 'origin access', content: { 'application/json': { schema: OriginAccessSchema } } },
    401: errorResponse('no or bad API token'),
    403: errorResponse('image not assigned to the caller, or client id owned by another user'),
    404: errorResponse('no such image (admins only; users get 403)')
  }
})

/** `POST /images/{name}/origin-token` under `/api/v1`. */
export function originTokenRoutes (components: TrackerComponents): OpenAPIHono<TrackerEnv> {
  const app = newRouter()
  app.openapi(issueRoute, async (c) => {
    const { name } = c.req.valid('param')
    const { clientId } = c.req.valid('json')
    return c.json(await grantOriginAccess(components, c.get('principal'), { clientId, image: name }), 200)
  })
  return app
}
