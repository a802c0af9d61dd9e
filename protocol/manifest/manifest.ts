/**
 * The signed manifest: the small root that names an image version and its chunk-list parts.
 *
 * Wire format (all integers canonical unsigned LEB128 varints unless a width is given):
 *
 *   "BCMF"  magic, 4 bytes
 *   0x01    format version, 1 byte
 *   u8 N, N bytes   image name (ASCII subset of UTF-8, `IMAGE_NAME_RE`, 1..128 bytes)
 *   version         1..2^53-1, monotonically increasing per image
 *   totalBytes      image size
 *   minBytes avgBytes maxBytes   chunking parameters
 *   chunkCount
 *   createdMs expiresMs          Unix ms, expires > created
 *   16 bytes        signing key id (first 16 bytes of SHA-256 of the raw Ed25519 public key)
 *   partCount, then per part: 32-byte id, byte length, entry count
 *   u8 flags        bit 0: a 32-byte whole-image SHA-256 follows; other bits must be 0
 *   [32 bytes]      whole-image SHA-256
 *   64 bytes        Ed25519 signature over every byte before it
 *
 * Parsing is strict: caps on every count, consistency between counts and sizes, nothing
 * after the signature; any deviation is a ManifestMalformedError. One rule set (`checkBody`)
 * serves the encoder (TypeError: our caller's mistake) and the decoder (hostile input).
 */
import { createHash } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { isChunkId } from '../store/chunk-id.ts'
import type { ChunkId } from '../store/chunk-id.ts'
import { LIST_PART_MAGIC, MAX_ENTRY_BYTES, MAX_PART_BYTES, MAX_PART_ENTRIES, MIN_ENTRY_BYTES } from './chunk-list.ts'
import { validateChunkingParams } from '../chunking/chunking-params.ts'
import type { ChunkingParams } from '../chunking/chunking-params.ts'
import {
  ManifestExpiredError, ManifestMalformedError, ManifestRollbackError, ManifestTamperedError,
  ManifestWrongImageError, ManifestWrongKeyError
} from '../errors.ts'
import { KEY_ID_BYTES, SIGNATURE_BYTES, keyId as keyIdOf, signBytes, verifyBytes } from '../signing/signing.ts'
import { MAX_VARINT_BYTES, readVarint, varintLength, writeVarint } from '../wire/varint.ts'

export const MANIFEST_MAGIC: Readonly<Uint8Array> = Uint8Array.of(0x42, 0x43, 0x4d, 0x46) // "BCMF"
export const MANIFEST_FORMAT_VERSION = 1
/** Image names are path and URL components on the tracker, the origin and the node. */
export const MAX_IMAGE_NAME_BYTES = 128
export const IMAGE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/
/** 2^26 chunks: 4 TiB of image at 64 KiB. More is a hostile or broken manifest. */
export const MAX_CHUNK_COUNT = 1 << 26
/** Room for MAX_CHUNK_COUNT at the ~280 entries a part averages, with margin. */
export const MAX_MANIFEST_PARTS = 1 << 18
const ID_BYTES = 32
const HAS_IMAGE_SHA256 = 0x01
const MAX_PART_RECORD_BYTES = ID_BYTES + varintLength(MAX_PART_BYTES) + varintLength(MAX_PART_ENTRIES)
/** The largest root a reader accepts (~9.4 MiB): cap the HTTP read of a manifest at this. */
export const MAX_MANIFEST_BYTES = MANIFEST_MAGIC.length + 1 + 1 + MAX_IMAGE_NAME_BYTES + 10 * MAX_VARINT_BYTES +
  KEY_ID_BYTES + MAX_MANIFEST_PARTS * MAX_PART_RECORD_BYTES + 1 + 32 + SIGNATURE_BYTES

/** A part of the chunk list as the manifest names it: store id, its byte length and entry count. */
export interface ManifestPart {
  id: ChunkId
  bytes: number
  entries: number
}

export interface Manifest {
  image: string
  version: number
  totalBytes: number
  chunking: ChunkingParams
  chunkCount: number
  createdMs: number
  expiresMs: number
  /** 32 lowercase hex digits; see `keyId` in signing.ts */
  keyId: string
  parts: ManifestPart[]
  /** Lowercase hex SHA-256 of the whole image, when the builder supplied it. */
  imageSha256?: string
}

export type ManifestBody = Omit<Manifest, 'keyId'>

export interface VerifyManifestOptions {
  /** The pinned repository key. */
  publicKey: KeyObject
  nowMs: number
  /** The highest version this node accepted for the image; lower is a rollback, equal is fine. */
  lastAcceptedVersion?: number
  /** The image the caller asked for; another name is refused. */
  image?: string
}

/** Encodes and signs; `keyId` comes from the key. Throws TypeError for a body that breaks a rule. */
export function encodeManifest (body: ManifestBody, privateKey: KeyObject): Uint8Array {
  const m: Manifest = { ...body, keyId: keyIdOf(privateKey) }
  checkBody(m, (msg) => new TypeError(`manifest: ${msg}`))
  const name = Buffer.from(m.image, 'utf8')
  const ints = [m.version, m.totalBytes, m.chunking.minBytes, m.chunking.avgBytes, m.chunking.maxBytes, m.chunkCount, m.createdMs, m.expiresMs]
  let size = MANIFEST_MAGIC.length + 1 + 1 + name.length + KEY_ID_BYTES + varintLength(m.parts.length) + 1 + SIGNATURE_BYTES
  for (const n of ints) size += varintLength(n)
  for (const p of m.parts) size += ID_BYTES + varintLength(p.bytes) + varintLength(p.entries)
  if (m.imageSha256 !== undefined) size += 32

  const buf = new Uint8Array(size)
  buf.set(MANIFEST_MAGIC, 0)
  let pos = MANIFEST_MAGIC.length
  buf[pos++] = MANIFEST_FORMAT_VERSION
  buf[pos++] = name.length
  buf.set(name, pos)
  pos += name.length
  for (const n of ints) pos = writeVarint(buf, pos, n)
  buf.set(Buffer.from(m.keyId, 'hex'), pos)
  pos += KEY_ID_BYTES
  pos = writeVarint(buf, pos, m.parts.length)
  for (const p of m.parts) {
    buf.set(Buffer.from(p.id, 'hex'), pos)
    pos = writeVarint(buf, pos + ID_BYTES, p.bytes)
    pos = writeVarint(buf, pos, p.entries)
  }
  buf[pos++] = m.imageSha256 === undefined ? 0 : HAS_IMAGE_SHA256
  if (m.imageSha256 !== undefined) {
    buf.set(Buffer.from(m.imageSha256, 'hex'), pos)
    pos += 32
  }
  buf.set(signBytes(privateKey, buf.subarray(0, pos)), pos)
  return buf
}

/** Parses without checking the signature (for inspection; nodes use `verifyManifest`). */
export function decodeManifest (bytes: Uint8Array): Manifest {
  return parse(bytes).manifest
}

/**
 * Parses and verifies, in this order: well-formed (ERR_MANIFEST_MALFORMED), signed by the
 * pinned key's id (ERR_MANIFEST_WRONG_KEY), signature (ERR_MANIFEST_TAMPERED), image name
 * (ERR_MANIFEST_WRONG_IMAGE), not expired (ERR_MANIFEST_EXPIRED), not older than the last
 * accepted version (ERR_MANIFEST_ROLLBACK). Returns the manifest only when all pass.
 */
export function verifyManifest (bytes: Uint8Array, opts: VerifyManifestOptions): Manifest {
  if (!Number.isSafeInteger(opts?.nowMs)) throw new TypeError('nowMs must be a safe integer')
  if (opts.lastAcceptedVersion !== undefined && !Number.isSafeInteger(opts.lastAcceptedVersion)) throw new TypeError('lastAcceptedVersion must be a safe integer')
  const expectedKeyId = keyIdOf(opts.publicKey)
  const { manifest, signedBytes } = parse(bytes)
  if (manifest.keyId !== expectedKeyId) throw new ManifestWrongKeyError(`manifest is signed by key ${manifest.keyId}, pinned key is ${expectedKeyId}`)
  if (!verifyBytes(opts.publicKey, bytes.subarray(0, signedBytes), bytes.subarray(signedBytes))) throw new ManifestTamperedError()
  if (opts.image !== undefined && manifest.image !== opts.image) throw new ManifestWrongImageError(`manifest is for image ${JSON.stringify(manifest.image)}, expected ${JSON.stringify(opts.image)}`)
  if (opts.nowMs >= manifest.expiresMs) throw new ManifestExpiredError(`manifest expired at ${new Date(manifest.expiresMs).toISOString()}`)
  if (opts.lastAcceptedVersion !== undefined && manifest.version < opts.lastAcceptedVersion) {
    throw new ManifestRollbackError(`manifest version ${manifest.version} is lower than the accepted ${opts.lastAcceptedVersion}`)
  }
  return manifest
}

/**
 * Parts `next` needs that `prev` does not have (in `next`'s order, each id once): with
 * content-defined parts, an update fetches only these. No `prev` → every part.
 */
export function changedParts (prev: Manifest | undefined, next: Manifest): ManifestPart[] {
  const have = new Set(prev?.parts.map((p) => p.id))
  const out: ManifestPart[] = []
  for (const p of next.parts) {
    if (have.has(p.id)) continue
    have.add(p.id)
    out.push(p)
  }
  return out
}

export interface ManifestJSON {
  format: string
  image: string
  version: number
  totalBytes: number
  chunking: ChunkingParams
  chunkCount: number
  created: string
  expires: string
  keyId: string
  parts: ManifestPart[]
  imageSha256?: string
}

/** A view for humans and logs (ids hex, dates ISO 8601). Not a wire format: nothing parses it back. */
export function manifestToJSON (m: Manifest): ManifestJSON {
  const json: ManifestJSON = {
    format: `branchcast-manifest/${MANIFEST_FORMAT_VERSION}`,
    image: m.image,
    version: m.version,
    totalBytes: m.totalBytes,
    chunking: { minBytes: m.chunking.minBytes, avgBytes: m.chunking.avgBytes, maxBytes: m.chunking.maxBytes },
    chunkCount: m.chunkCount,
    created: new Date(m.createdMs).toISOString(),
    expires: new Date(m.expiresMs).toISOString(),
    keyId: m.keyId,
    parts: m.parts.map((p) => ({ id: p.id, bytes: p.bytes, entries: p.entries }))
  }
  if (m.imageSha256 !== undefined) json.imageSha256 = m.imageSha256
  return json
}

/** SHA-256 of the root bytes, hex: a stable name for a manifest (fixtures, caches, logs). */
export function manifestDigest (bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

function parse (bytes: Uint8Array): { manifest: Manifest, signedBytes: number } {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('manifest bytes must be a Uint8Array')
  const fail = (msg: string, cause?: unknown): ManifestMalformedError => new ManifestMalformedError(`manifest: ${msg}`, { cause })
  if (bytes.length > MAX_MANIFEST_BYTES) throw fail(`${bytes.length} bytes exceeds the ${MAX_MANIFEST_BYTES}-byte cap`)
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let pos = 0
  const take = (n: number): number => {
    if (pos + n > bytes.length) throw new RangeError(`ends at byte ${bytes.length}, needed ${pos + n}`)
    const at = pos
    pos += n
    return at
  }
  const uint = (): number => {
    const [value, next] = readVarint(bytes, pos)
    pos = next
    return value
  }
  let m: Manifest
  try {
    for (let i = 0; i < MANIFEST_MAGIC.length; i++) {
      if (bytes[take(1)] !== MANIFEST_MAGIC[i]) throw fail('bad magic: not a Branchcast manifest')
    }
    const format = bytes[take(1)]
    if (format !== MANIFEST_FORMAT_VERSION) throw fail(`unknown format version ${format}`)
    const nameBytes = bytes[take(1)]
    if (nameBytes < 1 || nameBytes > MAX_IMAGE_NAME_BYTES) throw fail(`image name of ${nameBytes} bytes`)
    let image: string
    try {
      image = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(take(nameBytes), pos))
    } catch (err) {
      throw fail('image name is not UTF-8', err)
    }
    const version = uint()
    const totalBytes = uint()
    const chunking = { minBytes: uint(), avgBytes: uint(), maxBytes: uint() }
    const chunkCount = uint()
    const createdMs = uint()
    const expiresMs = uint()
    const keyIdAt = take(KEY_ID_BYTES)
    const keyId = view.toString('hex', keyIdAt, keyIdAt + KEY_ID_BYTES)
    const partCount = uint()
    // Refuse before allocating: a count the remaining bytes cannot possibly hold.
    if (partCount > MAX_MANIFEST_PARTS) throw fail(`${partCount} parts exceeds ${MAX_MANIFEST_PARTS}`)
    if (partCount * (ID_BYTES + 2) > bytes.length - pos) throw fail(`${partCount} parts cannot fit in ${bytes.length - pos} bytes`)
    const parts: ManifestPart[] = new Array(partCount)
    for (let i = 0; i < partCount; i++) {
      const at = take(ID_BYTES)
      parts[i] = { id: view.toString('hex', at, at + ID_BYTES), bytes: uint(), entries: uint() }
    }
    const flags = bytes[take(1)]
    if ((flags & ~HAS_IMAGE_SHA256) !== 0) throw fail(`unknown flags 0x${flags.toString(16)}`)
    m = { image, version, totalBytes, chunking, chunkCount, createdMs, expiresMs, keyId, parts }
    if ((flags & HAS_IMAGE_SHA256) !== 0) {
      const at = take(32)
      m.imageSha256 = view.toString('hex', at, at + 32)
    }
  } catch (err) {
    if (err instanceof RangeError) throw fail(err.message, err)
    throw err
  }
  const signedBytes = pos
  if (bytes.length - signedBytes < SIGNATURE_BYTES) throw fail(`signature truncated to ${bytes.length - signedBytes} bytes`)
  if (bytes.length - signedBytes > SIGNATURE_BYTES) throw fail(`${bytes.length - signedBytes - SIGNATURE_BYTES} trailing bytes after the signature`)
  checkBody(m, fail)
  return { manifest: m, signedBytes }
}

/** The rules every manifest obeys, whoever made it. `fail` picks the error type. */
function checkBody (m: Manifest, fail: (msg: string) => Error): void {
  if (typeof m.image !== 'string' || Buffer.byteLength(m.image) > MAX_IMAGE_NAME_BYTES || !IMAGE_NAME_RE.test(m.image)) {
    throw fail(`image name ${JSON.stringify(m.image)}: 1..${MAX_IMAGE_NAME_BYTES} of [A-Za-z0-9._+-], starting with a letter or digit`)
  }
  if (!Number.isSafeInteger(m.version) || m.version < 1) throw fail(`version ${m.version} is not a positive integer`)
  if (!Number.isSafeInteger(m.totalBytes) || m.totalBytes < 0) throw fail(`totalBytes ${m.totalBytes}`)
  try {
    validateChunkingParams(m.chunking)
  } catch (err) {
    throw fail((err as Error).message)
  }
  if (!Number.isSafeInteger(m.chunkCount) || m.chunkCount < 0 || m.chunkCount > MAX_CHUNK_COUNT) throw fail(`chunkCount ${m.chunkCount} outside 0..${MAX_CHUNK_COUNT}`)
  // Every chunk has 1..maxBytes bytes.
  if (m.chunkCount > m.totalBytes || m.totalBytes > m.chunkCount * m.chunking.maxBytes) {
    throw fail(`${m.chunkCount} chunks of 1..${m.chunking.maxBytes} bytes cannot make ${m.totalBytes} bytes`)
  }
  if (!Number.isSafeInteger(m.createdMs) || m.createdMs < 0) throw fail(`createdMs ${m.createdMs}`)
  if (!Number.isSafeInteger(m.expiresMs) || m.expiresMs <= m.createdMs) throw fail(`expiresMs ${m.expiresMs} is not after createdMs ${m.createdMs}`)
  if (typeof m.keyId !== 'string' || !/^[0-9a-f]{32}$/.test(m.keyId)) throw fail('keyId is not 32 lowercase hex digits')
  if (!Array.isArray(m.parts) || m.parts.length > MAX_MANIFEST_PARTS) throw fail(`parts: at most ${MAX_MANIFEST_PARTS}`)
  let entries = 0
  for (const [i, p] of m.parts.entries()) {
    if (!isChunkId(p?.id)) throw fail(`part ${i}: id is not a chunk id`)
    if (!Number.isSafeInteger(p.entries) || p.entries < 1 || p.entries > MAX_PART_ENTRIES) throw fail(`part ${i}: ${p.entries} entries outside 1..${MAX_PART_ENTRIES}`)
    const min = LIST_PART_MAGIC.length + p.entries * MIN_ENTRY_BYTES
    const max = LIST_PART_MAGIC.length + p.entries * MAX_ENTRY_BYTES
    if (!Number.isSafeInteger(p.bytes) || p.bytes < min || p.bytes > max) throw fail(`part ${i}: ${p.bytes} bytes cannot hold ${p.entries} entries`)
    entries += p.entries
  }
  if (entries !== m.chunkCount) throw fail(`parts hold ${entries} entries, chunkCount is ${m.chunkCount}`)
  if (m.imageSha256 !== undefined && !isChunkId(m.imageSha256)) throw fail('imageSha256 is not 64 lowercase hex digits')
}
