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

/**
 * Recorded boots (`POST /api/v1/images/{name}/versions/{n}/boot-profile/candidates`, a
 * user the image is assigned to): a node that booted the version lazily hands in the chunk
 * ids its guest read until it was up. The tracker keeps one candidate per user and version
 * and publishes a profile by itself once a quorum of users agree
 * (`tracker/repository/boot-profile-merge.ts`); an admin's profile always wins.
 */
export const BootProfileCandidateBodySchema = z.object({
  /** the submitting node's libp2p peer id: it must be registered to the caller (it announced) */
  clientId: z.string().min(1).max(128),
  chunks: BootProfileBodySchema.shape.chunks,
  /** how the recording ended: the guest agent answered, reads went quiet, the window or a cap was reached */
  end: z.enum(['agent', 'quiet', 'window', 'full']),
  /** from the first read to the end of the recording */
  durationMs: z.number().int().nonnegative().max(24 * 3600_000)
}).strict()
export type BootProfileCandidateBody = z.infer<typeof BootProfileCandidateBodySchema>

/** Who decided a version's published profile: an admin (`profile publish`) or agreeing recordings. */
export const BootProfileSourceSchema = z.enum(['admin', 'auto'])
export type BootProfileSource = z.infer<typeof BootProfileSourceSchema>

/** Where a version's profile stands: what a node asks before it hands in a recording. */
export const BootProfileStateSchema = z.object({
  image: z.string(),
  version: z.number().int(),
  /** the published profile's source; absent while none is published */
  published: BootProfileSourceSchema.optional(),
  /** candidates held (recordings not yet merged) */
  candidates: z.number().int(),
  /** distinct users' recordings needed before the tracker publishes one by itself */
  quorum: z.number().int(),
  /** the caller's own recording is among the candidates */
  submitted: z.boolean(),
  /** a recording from the caller would be taken: nothing published and none of theirs held */
  wanted: z.boolean()
}).meta({ id: 'BootProfileState' })
export type BootProfileState = z.infer<typeof BootProfileStateSchema>

export const BootProfileSubmitResultSchema = z.object({
  image: z.string(),
  version: z.number().int(),
  /** distinct chunks of the recording kept (repeats dropped) */
  chunks: z.number().int(),
  /** candidates held after this one (0 once they were merged into a published profile) */
  candidates: z.number().int(),
  quorum: z.number().int(),
  /** this recording completed the quorum and the merged profile is now published */
  published: BootProfileResultSchema.optional()
}).meta({ id: 'BootProfileSubmitResult' })
export type BootProfileSubmitResult = z.infer<typeof BootProfileSubmitResultSchema>

/** One held recording, as an admin sees it. */
export const BootProfileCandidateSchema = z.object({
  user: z.string(),
  clientId: z.string(),
  chunks: z.number().int(),
  end: z.string(),
  durationMs: z.number().int(),
  submittedAtMs: z.number().int()
}).meta({ id: 'BootProfileCandidate' })
export type BootProfileCandidate = z.infer<typeof BootProfileCandidateSchema>

export const BootProfileCandidateListSchema = z.object({
  image: z.string(),
  version: z.number().int(),
  published: BootProfileSourceSchema.optional(),
  quorum: z.number().int(),
  candidates: z.array(BootProfileCandidateSchema)
}).meta({ id: 'BootProfileCandidateList' })
export type BootProfileCandidateList = z.infer<typeof BootProfileCandidateListSchema>
