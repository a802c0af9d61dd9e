/**
 * Publishing a version's boot profile (`PUT /api/v1/images/{name}/versions/{n}/boot-profile`,
 * admin): the chunk ids a recorded boot read, in first-read order. The tracker checks every
 * id is a chunk of that version, signs the profile with the repository key
 * (`protocol/boot-profile/`) and stores it next to the chunks, where both origins serve it.
 */
import { z } from 'zod'
import { MAX_BOOT_PROFILE_CHUNKS } from '../boot-profile/boot-profile.ts'

export const BootProfileBodySchema = z.object({
  chunks: z.array(z.string().regex(/^[0-9a-f]{64}$/, 'chunk ids: 64 lowercase hex')).min(1).max(MAX_BOOT_PROFILE_CHUNKS)
    .meta({ description: 'chunk ids in first-read order (repeats are dropped, the first kept)' })
}).strict()
export type BootProfileBody = z.infer<typeof BootProfileBodySchema>

export const BootProfileResultSchema = z.object({
  image: z.string(),
  version: z.number().int(),
  manifestDigest: z.string(),
  chunks: z.number().int().meta({ description: 'distinct chunks in the signed profile' }),
  bytes: z.number().int().meta({ description: 'image bytes those chunks hold' }),
  path: z.string().meta({ description: 'where origins serve it, relative to the origin URL: boot-profiles/<2 hex>/<manifest digest>' })
}).meta({ id: 'BootProfileResult' })
export type BootProfileResult = z.infer<typeof BootProfileResultSchema>

/** A profile body of MAX_BOOT_PROFILE_CHUNKS ids, quoted, with commas and the envelope. */
export const MAX_BOOT_PROFILE_BODY_BYTES = MAX_BOOT_PROFILE_CHUNKS * 67 + 1024
