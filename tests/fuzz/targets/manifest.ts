/**
 * The signed manifest root (protocol/manifest/manifest.ts). Hostile bytes go to the parser
 * as they are; an input it accepts is then re-signed with the test key, so that the checks
 * behind the signature (key id, image, expiry) run on mutated manifests too, and whatever
 * verifies must be the one byte string the encoder writes for it.
 */
import { createHash } from 'node:crypto'
import { DEFAULT_CHUNKING } from '../../../protocol/chunking/chunking-params.ts'
import { LIST_PART_MAGIC, MAX_ENTRY_BYTES, MAX_PART_ENTRIES, MIN_ENTRY_BYTES } from '../../../protocol/manifest/chunk-list.ts'
import { MANIFEST_MAGIC, MAX_IMAGE_NAME_BYTES, decodeManifest, encodeManifest, verifyManifest } from '../../../protocol/manifest/manifest.ts'
import type { ManifestBody } from '../../../protocol/manifest/manifest.ts'
import { SIGNATURE_BYTES, signBytes } from '../../../protocol/signing/signing.ts'
import { encodeVarint } from '../../../protocol/wire/varint.ts'
import { check, refusal } from '../target.ts'
import type { FuzzTarget } from '../target.ts'
import { NOW_MS, fixtureFiles, privateKey, publicKey, text } from './fixtures.ts'

const sha = (s: string): string => createHash('sha256').update(s).digest('hex')

function body (parts: Array<[entries: number, entryBytes: number]>, over: Partial<ManifestBody> = {}): ManifestBody {
  const chunkCount = parts.reduce((n, [entries]) => n + entries, 0)
  return {
    image: 'fuzz-image',
    version: 1,
    totalBytes: chunkCount * 1000,
    chunking: { ...DEFAULT_CHUNKING },
    chunkCount,
    createdMs: NOW_MS - 1000,
    expiresMs: NOW_MS + 86_400_000,
    parts: parts.map(([entries, entryBytes], i) => ({ id: sha(`part ${i}`), bytes: LIST_PART_MAGIC.length + entries * entryBytes, entries })),
    ...over
  }
}

const BODIES: ManifestBody[] = [
  body([]),
  { ...body([[1, MIN_ENTRY_BYTES]]), totalBytes: 1 },
  { ...body([[250, 35], [300, 35], [50, 36]]), imageSha256: sha('image') },
  body(Array.from({ length: 40 }, (_, i): [number, number] => [1 + i * 25, 34 + (i % 3)])),
  { ...body([[MAX_PART_ENTRIES, MAX_ENTRY_BYTES]]), image: 'a'.repeat(MAX_IMAGE_NAME_BYTES), version: 2 ** 53 - 1, createdMs: 0, expiresMs: 2 ** 53 - 1 }
]

export const manifestTarget: FuzzTarget = {
  name: 'manifest',
  decoder: 'decodeManifest / verifyManifest (protocol/manifest/manifest.ts)',
  seeds: () => [...fixtureFiles('BCMF'), ...BODIES.map((b) => encodeManifest(b, privateKey))],
  dictionary: () => [MANIFEST_MAGIC, LIST_PART_MAGIC, Uint8Array.of(1), Uint8Array.of(0), new Uint8Array(SIGNATURE_BYTES), new Uint8Array(32).fill(0xff),
    encodeVarint(2 ** 26), encodeVarint(2 ** 18), encodeVarint(2 ** 53 - 1), text('\uFEFF'), text('é'), text('..'), text('/')],
  run (input) {
    let parsed
    try {
      parsed = decodeManifest(input)
    } catch (err) {
      return refusal(err)
    }
    const signedBytes = input.length - SIGNATURE_BYTES
    const resigned = new Uint8Array(input.length)
    resigned.set(input.subarray(0, signedBytes))
    resigned.set(signBytes(privateKey, input.subarray(0, signedBytes)), signedBytes)
    let manifest
    try {
      manifest = verifyManifest(resigned, { publicKey, nowMs: NOW_MS })
    } catch (err) {
      return refusal(err)
    }
    check(JSON.stringify(manifest) === JSON.stringify(parsed), 'verify and decode read the same bytes differently')
    const { keyId: _, ...unsigned } = manifest
    check(Buffer.from(encodeManifest(unsigned, privateKey)).equals(resigned), 'a manifest verifies from bytes its encoder would not write')
    return 'ok'
  }
}
