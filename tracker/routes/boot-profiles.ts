/**
 * Boot profiles (instant start), under `/api/v1`, admins only — least privilege: a profile
 * decides what every desk fetches first, so only an admin may set it; nodes read it from
 * the origin, signed, next to the chunks.
 *
 * - `PUT /images/{name}/versions/{n}/boot-profile {chunks}`: check, sign, store, answer where it is served.
 * - `GET /images/{name}/versions/{n}/boot-profile`: the stored signed document.
 */
import { createRoute } from '@hono/zod-openapi'
import type { OpenAPIHono } from '@hono/zod-openapi'
import { bodyLimit } from 'hono/body-limit'
import { z } from 'zod'
import { BootProfileBodySchema, BootProfileResultSchema, MAX_BOOT_PROFILE_BODY_BYTES, VersionParamsSchema, WriteVersionParamsSchema } from '../../protocol/index.ts'
import { errorResponse, newRouter } from './router.ts'
import { requireAdmin } from '../auth.ts'
import type { TrackerEnv } from '../env.ts'
import { payloadTooLarge } from '../errors.ts'
import { publishBootProfile, readBootProfile } from '../repository/index.ts'
import type { BootProfileComponents } from '../repository/index.ts'

const common = { 400: errorResponse('malformed request'), 401: errorResponse('no valid token'), 403: errorResponse('admins only'), 404: errorResponse('no such image, version or profile') } as const

export function bootProfileRoutes (components: BootProfileComponents): OpenAPIHono<TrackerEnv> {
  const app = newRouter()
  app.openapi(createRoute({
    method: 'put',
    path: '/images/{name}/versions/{n}/boot-profile',
    summary: 'Sign and publish the boot profile of a version (admin): the chunks a boot reads, in order',
    middleware: [bodyLimit({ maxSize: MAX_BOOT_PROFILE_BODY_BYTES, onError: () => { throw payloadTooLarge(`body over ${MAX_BOOT_PROFILE_BODY_BYTES} bytes`) } })] as const,
    request: { params: WriteVersionParamsSchema, body: { required: true, content: { 'application/json': { schema: BootProfileBodySchema } } } },
    responses: { 200: { description: 'signed and stored', content: { 'application/json': { schema: BootProfileResultSchema } } }, ...common, 409: errorResponse('retired version') }
  }), async (c) => {
    requireAdmin(c)
    const { name, n } = c.req.valid('param')
    return c.json(await publishBootProfile(components, { image: name, version: Number(n), chunks: c.req.valid('json').chunks, signal: c.req.raw.signal }), 200)
  })

  app.openapi(createRoute({
    method: 'get',
    path: '/images/{name}/versions/{n}/boot-profile',
    summary: 'The signed boot profile of a version (admin)',
    request: { params: VersionParamsSchema },
    responses: { 200: { description: 'the signed document', content: { 'application/json': { schema: z.object({ payload: z.string(), signature: z.string(), keyId: z.string() }) } } }, ...common }
  }), async (c) => {
    requireAdmin(c)
    const { name, n } = c.req.valid('param')
    const bytes = await readBootProfile(components, name, n === 'latest' ? 'latest' : Number(n))
    return new Response(bytes, { status: 200, headers: { 'content-type': 'application/json' } }) as never
  })
  return app
}
