/**
 * Images and their versions: create and list images, stream an upload into a new version,
 * publish / retire / roll back, fetch the signed manifest, the repository's public keys,
 * and chunk GC. Writes are admin-only; a user reads only images assigned to them.
 */
import { createRoute, z } from '@hono/zod-openapi'
import type { OpenAPIHono } from '@hono/zod-openapi'
import { bodyLimit } from 'hono/body-limit'
import type { MiddlewareHandler } from 'hono'
import { IMAGE_NAME_RE, MAX_IMAGE_NAME_BYTES } from '../../protocol/index.ts'
import { exportPublicKey, keyId } from '../../protocol/index.ts'
import { newRouter } from './router.ts'
import { requireAdmin } from '../auth.ts'
import { requireImageAccess, workspacesFor } from '../access.ts'
import { MAX_IMAGE_DESCRIPTION_CHARS, MAX_IMAGES_JSON_BODY_BYTES, MAX_UPLOAD_BYTES } from '../constants.ts'
import type { TrackerComponents, TrackerEnv } from '../env.ts'
import type { ImageRecord, VersionRecord } from '../db/store.ts'
import { TrackerError, badRequest, notFound, payloadTooLarge } from '../errors.ts'
import { createImageRepository } from '../repository/index.ts'
import type { ImageRepository, ImageRepositoryInit } from '../repository/index.ts'

const ImageNameSchema = z.string().min(1).max(MAX_IMAGE_NAME_BYTES)
  .regex(IMAGE_NAME_RE, 'image names are letters, digits and . _ + - (not first)')
  .openapi({ param: { name: 'name', in: 'path' }, example: 'win10-office' })
/** a version number, or `latest` (the highest published version) where reading */
const VersionParamSchema = z.string().regex(/^([1-9][0-9]{0,15}|latest)$/, 'a version number or "latest"')
  .openapi({ param: { name: 'n', in: 'path' }, example: '3' })
const WriteVersionParamSchema = z.string().regex(/^[1-9][0-9]{0,15}$/, 'a version number')
  .openapi({ param: { name: 'n', in: 'path' }, example: '3' })

const ImageSchema = z.object({
  name: z.string(),
  description: z.string(),
  createdAt: z.string(),
  /** highest published version, null when none */
  latestVersion: z.number().int().nullable()
}).openapi('Image')

const VersionSchema = z.object({
  image: z.string(),
  version: z.number().int(),
  state: z.enum(['draft', 'published', 'retired']),
  manifestId: z.string().nullable(),
  totalBytes: z.number().int(),
  chunkCount: z.number().int(),
  newBytes: z.number().int(),
  sourceOf: z.number().int().nullable(),
  createdAt: z.string(),
  publishedAt: z.string().nullable(),
  retiredAt: z.string().nullable(),
  expiresAt: z.string().nullable(),
  createdBy: z.string()
}).openapi('ImageVersion')

const UploadResultSchema = z.object({
  image: z.string(),
  version: z.number().int(),
  state: z.enum(['draft', 'published', 'retired']),
  manifestId: z.string(),
  totalBytes: z.number().int(),
  chunkCount: z.number().int(),
  newBytes: z.number().int(),
  storedBytes: z.number().int(),
  diskBytes: z.number().int(),
  imageSha256: z.string(),
  durationMs: z.number().int()
}).openapi('UploadResult')

const RepositoryKeysSchema = z.object({
  repository: z.object({ publicKey: z.string(), keyId: z.string() }),
  capability: z.object({ publicKey: z.string(), keyId: z.string() })
}).openapi('RepositoryKeys')

const GcResultSchema = z.object({
  scannedChunks: z.number().int(),
  deletedChunks: z.number().int(),
  freedBytes: z.number().int(),
  keptRecent: z.number().int(),
  deletedDrafts: z.array(z.number().int()),
  horizonMs: z.number(),
  durationMs: z.number().int()
}).openapi('GcResult')

const ErrorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) })
const err = (description: string): { description: string, content: { 'application/json': { schema: typeof ErrorSchema } } } =>
  ({ description, content: { 'application/json': { schema: ErrorSchema } } })
const common = { 400: err('malformed request'), 401: err('no valid token'), 403: err('not allowed'), 404: err('no such image or version') } as const
const json = <T extends z.ZodType>(schema: T, description: string): { description: string, content: { 'application/json': { schema: T } } } =>
  ({ description, content: { 'application/json': { schema } } })

const iso = (ms: number | null): string | null => ms === null ? null : new Date(ms).toISOString()

function versionView (v: VersionRecord): z.infer<typeof VersionSchema> {
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

const versionNumber = (n: string): number | 'latest' => n === 'latest' ? 'latest' : Number(n)

export interface ImagesRoutesInit extends ImageRepositoryInit {
  /** a repository to serve (default: one created and started here on the components) */
  repository?: ImageRepository
}

export function imagesRoutes (components: TrackerComponents, init: ImagesRoutesInit = {}): OpenAPIHono<TrackerEnv> {
  const { store, keys, now } = components
  const repository = init.repository ?? createImageRepository(components, init)
  if (init.repository === undefined) {
    void repository.start()
    components.shutdown.addEventListener('abort', () => { void repository.stop() }, { once: true })
  }
  const app = newRouter()

  async function imageView (img: ImageRecord): Promise<z.infer<typeof ImageSchema>> {
    const latest = await store.latestPublished(img.id)
    return { name: img.name, description: img.description, createdAt: iso(img.createdAtMs) as string, latestVersion: latest?.number ?? null }
  }

  app.use('/images', async (c, next) => c.req.method === 'POST' ? await jsonBodyLimit()(c, next) : await next())
  app.use('/images/:name/rollback', jsonBodyLimit())

  app.openapi(createRoute({
    method: 'post',
    path: '/images',
    summary: 'Create an image (admin)',
    request: { body: { required: true, content: { 'application/json': { schema: z.object({ name: ImageNameSchema, description: z.string().max(MAX_IMAGE_DESCRIPTION_CHARS).optional() }).strict() } } } },
    responses: { 201: json(ImageSchema, 'created'), ...common, 409: err('name taken') }
  }), async (c) => {
    requireAdmin(c)
    const body = c.req.valid('json')
    const img = await store.createImage({ name: body.name, description: body.description, nowMs: now() })
    return c.json(await imageView(img), 201)
  })

  app.openapi(createRoute({
    method: 'get',
    path: '/images',
    summary: 'Images: all for admins, the assigned ones for users',
    responses: { 200: json(z.object({ images: z.array(ImageSchema) }), 'images'), ...common }
  }), async (c) => {
    const p = c.get('principal')
    let images = await store.listImages()
    if (!p.admin) {
      const mine = new Set((await workspacesFor(components, p)).filter((w) => !w.expired).map((w) => w.image))
      images = images.filter((i) => mine.has(i.name))
    }
    return c.json({ images: await Promise.all(images.map(imageView)) }, 200)
  })

  app.openapi(createRoute({
    method: 'get',
    path: '/images/{name}',
    summary: 'One image (admins, or users it is assigned to)',
    request: { params: z.object({ name: ImageNameSchema }) },
    responses: { 200: json(ImageSchema, 'the image'), ...common }
  }), async (c) => {
    const { name } = c.req.valid('param')
    await requireImageAccess(components, c.get('principal'), name)
    const img = await store.getImage(name)
    if (img === undefined) throw notFound(`no image ${name}`)
    return c.json(await imageView(img), 200)
  })

  app.openapi(createRoute({
    method: 'post',
    path: '/images/{name}/versions',
    summary: 'Upload a new version (admin): the raw or qcow2 image as a streamed body',
    request: {
      params: z.object({ name: ImageNameSchema }),
      query: z.object({ publish: z.enum(['true', 'false']).optional() }),
      body: { required: true, content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } }
    },
    responses: { 201: json(UploadResultSchema, 'uploaded'), ...common, 413: err('upload too large'), 415: err('not application/octet-stream') }
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
    request: { params: z.object({ name: ImageNameSchema }) },
    responses: { 200: json(z.object({ versions: z.array(VersionSchema) }), 'versions, ascending'), ...common }
  }), async (c) => {
    const { name } = c.req.valid('param')
    const p = c.get('principal')
    await requireImageAccess(components, p, name)
    let versions = await repository.listVersions(name)
    if (!p.admin) versions = versions.filter((v) => v.state === 'published')
    return c.json({ versions: versions.map(versionView) }, 200)
  })

  for (const action of ['publish', 'retire'] as const) {
    app.openapi(createRoute({
      method: 'post',
      path: `/images/{name}/versions/{n}/${action}`,
      summary: action === 'publish' ? 'Publish a finalized draft (admin)' : 'Retire a published version (admin)',
      request: { params: z.object({ name: ImageNameSchema, n: WriteVersionParamSchema }) },
      responses: { 200: json(VersionSchema, 'the version'), ...common, 409: err('state forbids it') }
    }), async (c) => {
      requireAdmin(c)
      const { name, n } = c.req.valid('param')
      const v = action === 'publish' ? await repository.publishVersion(name, Number(n)) : await repository.retireVersion(name, Number(n))
      return c.json(versionView(v), 200)
    })
  }

  app.openapi(createRoute({
    method: 'post',
    path: '/images/{name}/rollback',
    summary: 'Republish an older version\'s content under a new, higher number (admin)',
    request: {
      params: z.object({ name: ImageNameSchema }),
      body: { required: true, content: { 'application/json': { schema: z.object({ to: z.number().int().positive() }).strict() } } }
    },
    responses: { 201: json(VersionSchema, 'the new version'), ...common, 409: err('the version cannot be rolled back to') }
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
    request: { params: z.object({ name: ImageNameSchema, n: VersionParamSchema }) },
    responses: { 200: { description: 'manifest root bytes', content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } }, ...common }
  }), async (c) => {
    const { name, n } = c.req.valid('param')
    const p = c.get('principal')
    await requireImageAccess(components, p, name)
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
    responses: { 200: json(RepositoryKeysSchema, 'raw Ed25519 public keys, base64'), 401: err('no valid token') }
  }), async (c) => {
    return c.json({
      repository: { publicKey: exportPublicKey(keys.repository.publicKey), keyId: keyId(keys.repository.publicKey) },
      capability: { publicKey: exportPublicKey(keys.capability.publicKey), keyId: keyId(keys.capability.publicKey) }
    }, 200)
  })

  app.openapi(createRoute({
    method: 'post',
    path: '/gc',
    summary: 'Delete unreferenced chunk files and abandoned drafts (admin)',
    responses: { 200: json(GcResultSchema, 'what was freed'), 401: err('no valid token'), 403: err('not an admin') }
  }), async (c) => {
    requireAdmin(c)
    return c.json(await repository.gc({ signal: c.req.raw.signal }), 200)
  })

  return app
}
