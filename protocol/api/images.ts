/**
 * The image repository's API: images, their versions and lifecycle, uploads, signed
 * manifests, chunk GC, and the public keys a node pins at enrollment. The tracker's
 * routes validate and document with these; the CLIs and the node parse answers with them.
 */
import { z } from 'zod'
import { ImageNameSchema } from './common.ts'

/** Image descriptions are shown in the console and CLI listings, not documents. */
export const MAX_IMAGE_DESCRIPTION_CHARS = 1_000

/** `{name}` in the path of an image route. */
export const ImageParamsSchema = z.object({
  name: ImageNameSchema.meta({ param: { name: 'name', in: 'path' }, example: 'win10-office' })
})

/** `{name}` and `{n}` where reading: a version number, or `latest` (the highest published version). */
export const VersionParamsSchema = z.object({
  name: ImageParamsSchema.shape.name,
  n: z.string().regex(/^([1-9][0-9]{0,15}|latest)$/, 'a version number or "latest"')
    .meta({ param: { name: 'n', in: 'path' }, example: '3' })
})

/** `{name}` and `{n}` where writing: a version number only. */
export const WriteVersionParamsSchema = z.object({
  name: ImageParamsSchema.shape.name,
  n: z.string().regex(/^[1-9][0-9]{0,15}$/, 'a version number')
    .meta({ param: { name: 'n', in: 'path' }, example: '3' })
})

export const VersionStateSchema = z.enum(['draft', 'published', 'retired'])
export type VersionState = z.infer<typeof VersionStateSchema>

export const CreateImageBodySchema = z.object({
  name: ImageNameSchema,
  description: z.string().max(MAX_IMAGE_DESCRIPTION_CHARS).optional()
}).strict()
export type CreateImageBody = z.infer<typeof CreateImageBodySchema>

export const ImageSchema = z.object({
  name: z.string(),
  description: z.string(),
  createdAt: z.string(),
  /** highest published version, null when none */
  latestVersion: z.number().int().nullable()
}).meta({ id: 'Image' })
export type Image = z.infer<typeof ImageSchema>

export const ImageListSchema = z.object({ images: z.array(ImageSchema) })

export const ImageVersionSchema = z.object({
  image: z.string(),
  version: z.number().int(),
  state: VersionStateSchema,
  manifestId: z.string().nullable(),
  totalBytes: z.number().int(),
  chunkCount: z.number().int(),
  newBytes: z.number().int(),
  /** the version a rollback copied, null otherwise */
  sourceOf: z.number().int().nullable(),
  createdAt: z.string(),
  publishedAt: z.string().nullable(),
  retiredAt: z.string().nullable(),
  expiresAt: z.string().nullable(),
  createdBy: z.string()
}).meta({ id: 'ImageVersion' })
export type ImageVersion = z.infer<typeof ImageVersionSchema>

/** What `DELETE /images/{name}/versions/{n}` deleted: a finalized draft (its chunk files stay for GC). */
export const DeletedVersionSchema = z.object({ image: z.string(), deleted: z.number().int() }).meta({ id: 'DeletedVersion' })
export type DeletedVersion = z.infer<typeof DeletedVersionSchema>

/** Versions of an image, ascending. */
export const ImageVersionListSchema = z.object({ versions: z.array(ImageVersionSchema) })

/** `?publish=true` publishes the uploaded version at once; default: a finalized draft. */
export const UploadQuerySchema = z.object({ publish: z.enum(['true', 'false']).optional() })

export const UploadResultSchema = z.object({
  image: z.string(),
  version: z.number().int(),
  state: VersionStateSchema,
  manifestId: z.string(),
  totalBytes: z.number().int(),
  chunkCount: z.number().int(),
  /** bytes of chunks this upload added to the store */
  newBytes: z.number().int(),
  /** bytes of chunks the store already held */
  storedBytes: z.number().int(),
  /** bytes written to disk for the new chunks (after compression) */
  diskBytes: z.number().int(),
  /** whole-image SHA-256, hex (also signed into the manifest) */
  imageSha256: z.string(),
  durationMs: z.number().int()
}).meta({ id: 'UploadResult' })
/** What the tracker answers for an upload: the new version, what it cost. */
export type UploadResult = z.infer<typeof UploadResultSchema>

/** Republish version `to`'s content under a new, higher number. */
export const RollbackBodySchema = z.object({ to: z.number().int().positive() }).strict()
export type RollbackBody = z.infer<typeof RollbackBodySchema>

export const GcResultSchema = z.object({
  /** chunk files looked at */
  scannedChunks: z.number().int(),
  deletedChunks: z.number().int(),
  freedBytes: z.number().int(),
  /** chunk files left alone because modified at or after the horizon (a running publish may name them) */
  keptRecent: z.number().int(),
  /** ids of abandoned drafts deleted (their upload crashed) */
  deletedDrafts: z.array(z.number().int()),
  horizonMs: z.number(),
  durationMs: z.number().int()
}).meta({ id: 'GcResult' })
export type GcResult = z.infer<typeof GcResultSchema>

const PublicKeySchema = z.object({
  /** raw Ed25519 public key, base64 */
  publicKey: z.string(),
  keyId: z.string()
})

/** `GET /api/v1/repository`: the keys a node pins at enrollment. */
export const RepositoryKeysSchema = z.object({
  /** signs manifests */
  repository: PublicKeySchema,
  /** signs origin and peer capability tokens */
  capability: PublicKeySchema
}).meta({ id: 'RepositoryKeys' })
export type RepositoryKeys = z.infer<typeof RepositoryKeysSchema>
