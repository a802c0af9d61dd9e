/**
 * The boot profile of an image version: the chunks a guest read while booting, in the
 * order it first read them, until it was up (instant start, issue 15). A pull that has one
 * fetches those chunks first, so a guest started on the image while it arrives rarely
 * waits for a read.
 *
 * Signed by the repository key like the workspace document (`signing/signed-document.ts`)
 * under its own context line, so the signature cannot pass for a manifest, a workspace
 * document or anything else, and names the digest of the manifest it belongs to: a profile
 * of another version (or image) is refused by a node that checks it against the manifest
 * it verified. Stored next to the chunks as `boot-profiles/<2 hex>/<manifest digest>`, so
 * the built-in origin and a static one (nginx, IIS) serve it the same way.
 *
 * A profile is advice about order only: every chunk it names is fetched and verified
 * like any other; a chunk id the version does not have is refused when it is signed.
 */
import type { KeyObject } from 'node:crypto'
import { z } from 'zod'
import { BootProfileMalformedError, BootProfileTamperedError } from '../errors.ts'
import { SignedDocumentError, openSignedDocument, signDocument } from '../signing/signed-document.ts'
import type { SignedDocument } from '../signing/signed-document.ts'
import { isChunkId } from '../store/chunk-id.ts'
import type { ChunkId } from '../store/chunk-id.ts'

/** The context line the signature covers: a boot profile's signature is good for nothing else. */
export const BOOT_PROFILE_CONTEXT = 'branchcast boot-profile v1'
export const BOOT_PROFILE_FORMAT_VERSION = 1
/**
 * Most chunks a profile names: 16 Ki chunks is ~1 GiB of boot reads at 64 KiB chunks,
 * well above a desktop's (an Xfce boot reads ~280 MB); a recorder stops adding there.
 */
export const MAX_BOOT_PROFILE_CHUNKS = 16_384
/** Largest stored profile (signed JSON): every chunk id quoted, plus the envelope. Cap HTTP reads at this. */
export const MAX_BOOT_PROFILE_BYTES = MAX_BOOT_PROFILE_CHUNKS * 67 + 4096

const ChunkIdSchema = z.string().regex(/^[0-9a-f]{64}$/)

/** The signed payload. */
export const BootProfileSchema = z.object({
  format: z.literal(BOOT_PROFILE_FORMAT_VERSION),
  image: z.string().min(1).max(128),
  version: z.number().int().positive(),
  /** SHA-256 of the signed manifest root the profile belongs to */
  manifestDigest: ChunkIdSchema,
  /** chunk ids in first-read order, distinct */
  chunks: z.array(ChunkIdSchema).max(MAX_BOOT_PROFILE_CHUNKS),
  /** when the profile was signed (information only) */
  signedAtMs: z.number().int().nonnegative()
}).strict()
export type BootProfile = z.infer<typeof BootProfileSchema>

/** What a node stores and the origin serves: the signed JSON document. */
const StoredSchema = z.object({ payload: z.string(), signature: z.string().max(200), keyId: z.string().max(200) }).strict()

/** Relative path of a version's boot profile in the store: `boot-profiles/<2 hex>/<manifest digest>`. */
export function bootProfilePath (manifestDigest: string): string {
  if (!isChunkId(manifestDigest)) throw new TypeError('not a manifest digest')
  return `boot-profiles/${manifestDigest.slice(0, 2)}/${manifestDigest}`
}

/** The chunk ids, distinct and in order, cut to `MAX_BOOT_PROFILE_CHUNKS`; a malformed id is a TypeError. */
export function normaliseProfileChunks (chunks: Iterable<ChunkId>): ChunkId[] {
  const out: ChunkId[] = []
  const seen = new Set<string>()
  for (const id of chunks) {
    if (!isChunkId(id)) throw new TypeError('boot profile: not a chunk id')
    if (seen.has(id)) continue
    seen.add(id)
    out.push(id)
    if (out.length >= MAX_BOOT_PROFILE_CHUNKS) break
  }
  return out
}

/** Signs a profile with the repository key; returns the bytes to store (UTF-8 JSON). */
export function encodeBootProfile (profile: BootProfile, privateKey: KeyObject): Uint8Array {
  const parsed = BootProfileSchema.safeParse(profile)
  if (!parsed.success) throw new TypeError(`boot profile: ${parsed.error.issues[0]?.message ?? 'invalid'}`)
  if (new Set(profile.chunks).size !== profile.chunks.length) throw new TypeError('boot profile: chunk ids repeat')
  const doc: SignedDocument = signDocument(privateKey, BOOT_PROFILE_CONTEXT, JSON.stringify(parsed.data))
  return new TextEncoder().encode(JSON.stringify(doc))
}

export interface VerifyBootProfileOptions {
  /** the pinned repository key */
  publicKey: KeyObject
  /** digest of the manifest the node verified: a profile for any other is refused */
  manifestDigest: string
}

/**
 * Parses and verifies stored profile bytes: bounded and well-formed
 * (ERR_BOOT_PROFILE_MALFORMED), then signed by the pinned key under the profile context and
 * for the expected manifest (ERR_BOOT_PROFILE_TAMPERED).
 */
export function verifyBootProfile (bytes: Uint8Array, opts: VerifyBootProfileOptions): BootProfile {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('boot profile bytes must be a Uint8Array')
  if (bytes.byteLength > MAX_BOOT_PROFILE_BYTES) throw new BootProfileMalformedError(`boot profile of ${bytes.byteLength} bytes exceeds ${MAX_BOOT_PROFILE_BYTES}`)
  let stored: z.infer<typeof StoredSchema>
  try {
    stored = StoredSchema.parse(JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)))
  } catch (err) {
    throw new BootProfileMalformedError('boot profile is not a signed document', { cause: err })
  }
  let payload: string
  try {
    payload = openSignedDocument(opts.publicKey, BOOT_PROFILE_CONTEXT, stored)
  } catch (err) {
    if (err instanceof SignedDocumentError) throw new BootProfileTamperedError(`boot profile: ${err.message}`, { cause: err })
    throw err
  }
  let profile: BootProfile
  try {
    profile = BootProfileSchema.parse(JSON.parse(payload))
  } catch (err) {
    // signed by our key yet malformed: a newer format, or a bug on the signing side
    throw new BootProfileMalformedError('boot profile payload does not parse', { cause: err })
  }
  if (profile.manifestDigest !== opts.manifestDigest) throw new BootProfileTamperedError(`boot profile is for manifest ${profile.manifestDigest}, not ${opts.manifestDigest}`)
  if (new Set(profile.chunks).size !== profile.chunks.length) throw new BootProfileMalformedError('boot profile names a chunk twice')
  return profile
}
