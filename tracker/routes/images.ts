/**
 * Images and their versions: create and list images, stream an upload into a new version,
 * publish / retire / roll back, fetch the signed manifest, the repository's public keys,
 * and chunk GC. Writes are admin-only; a user reads only images assigned to them.
 */
import { createRoute } from '@hono/zod-openapi'
import type { OpenAPIHono } from '@hono/zod-openapi'
import { bodyLimit } from 'hono/body-limit'
import type { MiddlewareHandler } from 'hono'
import { z } from 'zod'
import {
  CreateImageBodySchema, DeletedVersionSchema, GcResultSchema, ImageListSchema, ImageParamsSchema, ImageSchema, ImageVersionListSchema, ImageVersionSchema,
  RepositoryKeysSchema, RollbackBodySchema, UploadQuerySchema, UploadResultSchema, VersionParamsSchema, WriteVersionParamsSchema
} from '../../protocol/index.ts'
import type { Image, ImageVersion } from '../../protocol/index.ts'
import { errorResponse, newRouter } from './router.ts'
import { requireAdmin } from '../auth.ts'
import { MAX_IMAGES_JSON_BODY_BYTES, MAX_UPLOAD_BYTES } from '../constants.ts'
import type { TrackerComponents, TrackerEnv } from '../env.ts'
import type { VersionRecord } from '../db/store.ts'
import { TrackerError, badRequest, notFound, payloadTooLarge } from '../errors.ts'
import { publicKeys } from '../keys.ts'
import type { ImageEntry } from '../repository/index.ts'

const common = { 400: errorResponse('malformed request'), 401: errorResponse('no valid token'), 403: errorResponse('not allowed'), 404: errorResponse('no such image or version') } as const
const json = <T extends z.ZodType>(schema: T, description: string): { description: string, content: { 'application/json': { schema: T } } } =>
  ({ description, content: { 'application/json': { schema } } })
/** An image's bytes, as an upload body or a manifest answer (not parsed as JSON). */
const binary = z.string().meta({ format: 'binary' })

const iso = (ms: number | null): string | null => ms === null ? null : new Date(ms).toISOString()

function versionView (v: VersionRecord): ImageVersion {
  return {
    image: v.imageName,
    version: v.number,
    state: v.state,
    manifestId: v.manifestId,
    totalBytes: v.totalBytes,
    chunkCount: v.chunkCount,
    newBytes: v.newBytes,
    sourceOf: v.sourceOf,
    createdAt: iso(v.createdAtMs) as string,
    publishedAt: iso(v.publishedAtMs),
    retiredAt: iso(v.retiredAtMs),
    expiresAt: iso(v.expiresAtMs),
    createdBy: v.createdBy
  }
}

function jsonBodyLimit (): MiddlewareHandler {
  return bodyLimit({
    maxSize: MAX_IMAGES_JSON_BODY_BYTES,
    onError: () => { throw payloadTooLarge(`body larger than ${MAX_IMAGES_JSON_BODY_BYTES} bytes`) }
  })
}

const UPLOAD_PATH = /^\/api\/v1\/images\/[^/]+\/versions\/?$/

/**
 * The one request whose body may stream for hours: an image upload. The HTTP server gives
 * every other body a short deadline; this one is bounded by the repository's idle timeout
 * and minimum rate instead.
 */
export function isUploadRequest (method: string, path: string): boolean {
  return method === 'POST' && UPLOAD_PATH.test(path)
}

const versionNumber = (n: string): number | 'latest' => n === 'latest' ? 'latest' : Number(n)

function imageView ({ image, latestVersion }: ImageEntry): Image {
  return { name: image.name, description: image.description, createdAt: iso(image.createdAtMs) as string, latestVersion }
}

export function imagesRoutes (components: Pick<TrackerComponents, 'repository' | 'policies' | 'keys' | 'store' | 'now'>): OpenAPIHono<TrackerEnv> {
  const { repository } = components
  const repositoryKeys = publicKeys(components.keys)
  const app = newRouter()

  app.use('/images', async (c, next) => c.req.method === 'POST' ? await jsonBodyLimit()(c, next) : await next())
  app.use('/images/:name/rollback', jsonBodyLimit())

  app.openapi(createRoute({
    method: 'post',
    path: '/images',
    summary: 'Create an image (admin)',
    request: { body: { required: true, content: { 'application/json': { schema: CreateImageBodySchema } } } },
    responses: { 201: json(ImageSchema, 'created'), ...common, 409: errorResponse('name taken') }
  }), async (c) => {
    requireAdmin(c)
    const body = c.req.valid('json')
    return c.json(imageView(await repository.createImage(body.name, body.description)), 201)
  })

  app.openapi(createRoute({
    method: 'get',
    path: '/images',
    summary: 'Images: all for admins, the assigned ones for users',
    responses: { 200: json(ImageListSchema, 'images'), ...common }
  }), async (c) => {
    const p = c.get('principal')
    const mine = p.admin ? undefined : new Set((await components.policies.workspacesFor(p)).filter((w) => !w.expired).map((w) => w.image))
    return c.json({ images: (await repository.listImages(mine)).map(imageView) }, 200)
  })

  app.openapi(createRoute({
    method: 'get',
    path: '/images/{name}',
    summary: 'One image (admins, or users it is assigned to)',
    request: { params: ImageParamsSchema },
    responses: { 200: json(ImageSchema, 'the image'), ...common }
  }), async (c) => {
    const { name } = c.req.valid('param')
    await components.policies.requireImageAccess(c.get('principal'), name)
    return c.json(imageView(await repository.getImage(name)), 200)
  })

  app.openapi(createRoute({
    method: 'post',
    path: '/images/{name}/versions',
    summary: 'Upload a new version (admin): the raw or qcow2 image as a streamed body',
    request: {
      params: ImageParamsSchema,
      query: UploadQuerySchema,
      body: { required: true, content: { 'application/octet-stream': { schema: binary } } }
    },
    responses: { 201: json(UploadResultSchema, 'uploaded'), ...common, 413: errorResponse('upload too large'), 415: errorResponse('not application/octet-stream') }
  }), async (c) => {
    const p = requireAdmin(c)
    const { name } = c.req.valid('param')
    const { publish } = c.req.valid('query')
    const type = (c.req.header('content-type') ?? '').split(';')[0].trim().toLowerCase()
    if (type !== 'application/octet-stream') throw new TrackerError('ERR_UNSUPPORTED_MEDIA_TYPE', 'send the image as application/octet-stream')
    const lengthHeader = c.req.header('content-length')
    let declaredBytes: number | undefined
    if (lengthHeader !== undefined) {
      if (!/^[0-9]{1,16}$/.test(lengthHeader)) throw badRequest('malformed Content-Length')
      declaredBytes = Number(lengthHeader)
      if (declaredBytes > MAX_UPLOAD_BYTES) throw payloadTooLarge(`upload of ${declaredBytes} bytes exceeds ${MAX_UPLOAD_BYTES}`)
    }
    const body = c.req.raw.body
    if (body === null) throw badRequest('no body')
    const r = await repository.publish({
      image: name,
      source: body,
      createdBy: p.user,
      declaredBytes,
      publish: publish === 'true',
      signal: c.req.raw.signal
    })
    return c.json({ image: name, ...r }, 201)
  })

  app.openapi(createRoute({
    method: 'get',
    path: '/images/{name}/versions',
    summary: 'Versions of an image: all for admins, published ones for assigned users',
    request: { params: ImageParamsSchema },
    responses: { 200: json(ImageVersionListSchema, 'versions, ascending'), ...common }
  }), async (c) => {
    const { name } = c.req.valid('param')
    const p = c.get('principal')
    await components.policies.requireImageAccess(p, name)
    let versions = await repository.listVersions(name)
    if (!p.admin) versions = versions.filter((v) => v.state === 'published')
    return c.json({ versions: versions.map(versionView) }, 200)
  })

  for (const action of ['publish', 'retire'] as const) {
    app.openapi(createRoute({
      method: 'post',
      path: `/images/{name}/versions/{n}/${action}`,
      summary: action === 'publish' ? 'Publish a finalized draft (admin)' : 'Retire a published version (admin)',
      request: { params: WriteVersionParamsSchema },
      responses: { 200: json(ImageVersionSchema, 'the version'), ...common, 409: errorResponse('state forbids it') }
    }), async (c) => {
      requireAdmin(c)
      const { name, n } = c.req.valid('param')
      const v = action === 'publish' ? await repository.publishVersion(name, Number(n)) : await repository.retireVersion(name, Number(n))
      return c.json(versionView(v), 200)
    })
  }

  app.openapi(createRoute({
    method: 'delete',
    path: '/images/{name}/versions/{n}',
    summary: 'Delete a finalized draft, never published (admin); its chunk files stay for GC',
    request: { params: WriteVersionParamsSchema },
    responses: { 200: json(DeletedVersionSchema, 'what was deleted'), ...common, 409: errorResponse('not a draft, or still uploading') }
  }), async (c) => {
    requireAdmin(c)
    const { name, n } = c.req.valid('param')
    await repository.deleteDraft(name, Number(n))
    return c.json({ image: name, deleted: Number(n) }, 200)
  })

  app.openapi(createRoute({
    method: 'post',
    path: '/images/{name}/rollback',
    summary: 'Republish an older version\'s content under a new, higher number (admin)',
    request: {
      params: ImageParamsSchema,
      body: { required: true, content: { 'application/json': { schema: RollbackBodySchema } } }
    },
    responses: { 201: json(ImageVersionSchema, 'the new version'), ...common, 409: errorResponse('the version cannot be rolled back to') }
  }), async (c) => {
    const p = requireAdmin(c)
    const { name } = c.req.valid('param')
    const { to } = c.req.valid('json')
    const v = await repository.rollback(name, to, p.user, { signal: c.req.raw.signal })
    return c.json(versionView(v), 201)
  })

  app.openapi(createRoute({
    method: 'get',
    path: '/images/{name}/versions/{n}/manifest',
    summary: 'The signed manifest root of a version (admins; users for published versions of assigned images)',
    request: { params: VersionParamsSchema },
    responses: { 200: { description: 'manifest root bytes', content: { 'application/octet-stream': { schema: binary } } }, ...common }
  }), async (c) => {
    const { name, n } = c.req.valid('param')
    const p = c.get('principal')
    await components.policies.requireImageAccess(p, name)
    const { version, bytes } = await repository.getManifest(name, versionNumber(n))
    if (!p.admin && version.state !== 'published') throw notFound(`version ${version.number} is not published`)
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
      'content-type': 'application/octet-stream',
      'x-branchcast-version': String(version.number),
      'x-branchcast-manifest-id': version.manifestId ?? '',
      'cache-control': 'no-store'
    })
  })

  app.openapi(createRoute({
    method: 'get',
    path: '/repository',
    summary: 'Public keys to pin at enrollment (any authenticated caller)',
    responses: { 200: json(RepositoryKeysSchema, 'raw Ed25519 public keys, base64'), 401: errorResponse('no valid token') }
  }), (c) => c.json(repositoryKeys, 200))

  app.openapi(createRoute({
    method: 'post',
    path: '/gc',
    summary: 'Delete unreferenced chunk files and abandoned drafts (admin)',
    responses: { 200: json(GcResultSchema, 'what was freed'), 401: errorResponse('no valid token'), 403: errorResponse('not an admin') }
  }), async (c) => {
    requireAdmin(c)
    return c.json(await repository.gc({ signal: c.req.raw.signal }), 200)
  })

  return app
}
