/**
 * Boot profiles (instant start), under `/api/v1`.
 *
 * Admins decide (a profile decides what every desk fetches first):
 * - `PUT /images/{name}/versions/{n}/boot-profile {chunks}`: check, sign, store, answer where it is served.
 * - `GET /images/{name}/versions/{n}/boot-profile`: the stored signed document.
 * - `GET|DELETE /images/{name}/versions/{n}/boot-profile/candidates`: the recordings held, or drop them.
 *
 * Nodes record (least privilege: a user the image is assigned to, for a published version,
 * from a node registered to that user, one recording per user and version, rate limited,
 * the body capped and every chunk id checked against the version):
 * - `GET /images/{name}/versions/{n}/boot-profile/state`: is a recording wanted from me?
 * - `POST /images/{name}/versions/{n}/boot-profile/candidates {clientId, chunks, end, durationMs}`.
 * A quorum of users' recordings publishes the merge, signed by the tracker; nodes read any
 * profile from the origin, signed, next to the chunks.
 */
import { createRoute } from '@hono/zod-openapi'
import type { OpenAPIHono } from '@hono/zod-openapi'
import type { MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { z } from 'zod'
import {
  BootProfileBodySchema, BootProfileCandidateBodySchema, BootProfileCandidateListSchema, BootProfileResultSchema, BootProfileStateSchema, BootProfileSubmitResultSchema,
  MAX_BOOT_PROFILE_BODY_BYTES, VersionParamsSchema, WriteVersionParamsSchema
} from '../../protocol/index.ts'
import { errorResponse, newRouter } from './router.ts'
import { requireAdmin } from '../auth.ts'
import type { TrackerComponents, TrackerEnv } from '../env.ts'
import { payloadTooLarge, rateLimited } from '../errors.ts'
import {
  BOOT_PROFILE_SUBMITS_PER_MINUTE, bootProfileState, clearBootProfileCandidates, listBootProfileCandidates, publishBootProfile, readBootProfile, submitBootProfileCandidate
} from '../repository/index.ts'
import type { BootProfileComponents } from '../repository/index.ts'

const common = { 400: errorResponse('malformed request'), 401: errorResponse('no valid token'), 403: errorResponse('admins only'), 404: errorResponse('no such image, version or profile') } as const
const MINUTE_MS = 60_000

const capBody = bodyLimit({ maxSize: MAX_BOOT_PROFILE_BODY_BYTES, onError: () => { throw payloadTooLarge(`body over ${MAX_BOOT_PROFILE_BODY_BYTES} bytes`) } })

/** At most BOOT_PROFILE_SUBMITS_PER_MINUTE recordings per user a minute, counted before the body is read (shared by every tracker process). */
function submitRate (c: Pick<TrackerComponents, 'store' | 'now'>): MiddlewareHandler<TrackerEnv> {
  return async function bootProfileSubmitRate (ctx, next) {
    const nowMs = c.now()
    const minute = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS
    const used = await c.store.addUsage(`boot-profile-submits:${ctx.get('principal').user}`, minute, 1)
    if (used > BOOT_PROFILE_SUBMITS_PER_MINUTE) throw rateLimited((minute + MINUTE_MS - nowMs) / 1000)
    await next()
  }
}

export function bootProfileRoutes (components: BootProfileComponents & Pick<TrackerComponents, 'policies'>): OpenAPIHono<TrackerEnv> {
  const app = newRouter()
  const path = '/images/{name}/versions/{n}/boot-profile'
  app.openapi(createRoute({
    method: 'put',
    path,
    summary: 'Sign and publish the boot profile of a version (admin): the chunks a boot reads, in order',
    middleware: [capBody] as const,
    request: { params: WriteVersionParamsSchema, body: { required: true, content: { 'application/json': { schema: BootProfileBodySchema } } } },
    responses: { 200: { description: 'signed and stored', content: { 'application/json': { schema: BootProfileResultSchema } } }, ...common, 409: errorResponse('retired version') }
  }), async (c) => {
    const p = requireAdmin(c)
    const { name, n } = c.req.valid('param')
    return c.json(await publishBootProfile(components, { image: name, version: Number(n), chunks: c.req.valid('json').chunks, by: p.user, signal: c.req.raw.signal }), 200)
  })

  app.openapi(createRoute({
    method: 'get',
    path,
    summary: 'The signed boot profile of a version (admin)',
    request: { params: VersionParamsSchema },
    responses: { 200: { description: 'the signed document', content: { 'application/json': { schema: z.object({ payload: z.string(), signature: z.string(), keyId: z.string() }) } } }, ...common }
  }), async (c) => {
    requireAdmin(c)
    const { name, n } = c.req.valid('param')
    const bytes = await readBootProfile(components, name, n === 'latest' ? 'latest' : Number(n))
    return new Response(bytes, { status: 200, headers: { 'content-type': 'application/json' } }) as never
  })

  app.openapi(createRoute({
    method: 'get',
    path: `${path}/state`,
    summary: 'Whether a version has a boot profile, and whether a recording from the caller is wanted (users the image is assigned to)',
    request: { params: WriteVersionParamsSchema },
    responses: { 200: { description: 'the state', content: { 'application/json': { schema: BootProfileStateSchema } } }, ...common }
  }), async (c) => {
    const p = c.get('principal')
    const { name, n } = c.req.valid('param')
    await components.policies.requireImageAccess(p, name)
    return c.json(await bootProfileState(components, name, Number(n), p.user), 200)
  })

  app.openapi(createRoute({
    method: 'post',
    path: `${path}/candidates`,
    summary: 'Hand in a recorded lazy boot of a version without a profile (users the image is assigned to, from their own node)',
    middleware: [submitRate(components), capBody] as const,
    request: { params: WriteVersionParamsSchema, body: { required: true, content: { 'application/json': { schema: BootProfileCandidateBodySchema } } } },
    responses: {
      200: { description: 'held (and, at the quorum, published)', content: { 'application/json': { schema: BootProfileSubmitResultSchema } } },
      ...common,
      409: errorResponse('the version has a profile, or the caller a recording of it'),
      413: errorResponse('body too large'),
      429: errorResponse('rate limited; see retry-after')
    }
  }), async (c) => {
    const p = c.get('principal')
    const { name, n } = c.req.valid('param')
    await components.policies.requireImageAccess(p, name)
    const body = c.req.valid('json')
    return c.json(await submitBootProfileCandidate(components, { image: name, version: Number(n), user: p.user, clientId: body.clientId, chunks: body.chunks, end: body.end, durationMs: body.durationMs, signal: c.req.raw.signal }), 200)
  })

  app.openapi(createRoute({
    method: 'get',
    path: `${path}/candidates`,
    summary: 'The recordings held for a version (admin)',
    request: { params: VersionParamsSchema },
    responses: { 200: { description: 'the recordings', content: { 'application/json': { schema: BootProfileCandidateListSchema } } }, ...common }
  }), async (c) => {
    requireAdmin(c)
    const { name, n } = c.req.valid('param')
    return c.json(await listBootProfileCandidates(components, name, n === 'latest' ? 'latest' : Number(n)), 200)
  })

  app.openapi(createRoute({
    method: 'delete',
    path: `${path}/candidates`,
    summary: 'Drop the recordings held for a version (admin)',
    request: { params: WriteVersionParamsSchema },
    responses: { 200: { description: 'how many went', content: { 'application/json': { schema: z.object({ image: z.string(), version: z.number().int(), cleared: z.number().int() }) } } }, ...common }
  }), async (c) => {
    requireAdmin(c)
    const { name, n } = c.req.valid('param')
    return c.json({ image: name, version: Number(n), cleared: await clearBootProfileCandidates(components, name, Number(n)) }, 200)
  })
  return app
}
