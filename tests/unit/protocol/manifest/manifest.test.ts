import { createHash } from 'node:crypto'
import { readFileSync, readdirSync } from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { chunkId } from '../../../../protocol/store/chunk-id.ts'
import { MAX_PART_ENTRIES, createChunkListBuilder, readChunkList } from '../../../../protocol/manifest/chunk-list.ts'
import type { ChunkRef, ListPart } from '../../../../protocol/manifest/chunk-list.ts'
import { DEFAULT_CHUNKING, MAX_CHUNK_BYTES_CEILING } from '../../../../protocol/chunking/chunking-params.ts'
import {
  MAX_CHUNK_COUNT, MAX_IMAGE_NAME_BYTES, MAX_MANIFEST_PARTS, changedParts, decodeManifest, encodeManifest,
  manifestDigest, manifestToJSON, verifyManifest
} from '../../../../protocol/manifest/manifest.ts'
import type { Manifest, ManifestBody } from '../../../../protocol/manifest/manifest.ts'
import { generateSigningKey, importPrivateKeyPem, importPublicKey, keyId, signBytes } from '../../../../protocol/signing/signing.ts'
import { encodeVarint } from '../../../../protocol/wire/varint.ts'
import { throwsCode } from '../../../helpers/rejects.ts'

const key = generateSigningKey()
const other = generateSigningKey()
const sha = (s: string): string => createHash('sha256').update(s).digest('hex')
const NOW = Date.parse('2026-06-01T00:00:00Z')

function part (i: number, entries: number): { id: string, bytes: number, entries: number } {
  return { id: sha(`part${i}`), bytes: 4 + entries * 35, entries }
}

const BODY: ManifestBody = {
  image: 'win11-office_2024.1+lts',
  version: 7,
  totalBytes: 600 * 65536,
  chunking: { ...DEFAULT_CHUNKING },
  chunkCount: 600,
  createdMs: NOW - 1000,
  expiresMs: NOW + 86_400_000,
  parts: [part(0, 250), part(1, 300), part(2, 50)],
  imageSha256: sha('image')
}
const BYTES = encodeManifest(BODY, key.privateKey)
const ok = { publicKey: key.publicKey, nowMs: NOW }

test('round trip: decode gives the body back, with the signer\'s key id', () => {
  assert.equal(decodeManifest(BYTES), { ...BODY, keyId: keyId(key.publicKey) })
  assert.equal(verifyManifest(BYTES, ok), { ...BODY, keyId: keyId(key.publicKey) })
})

test('round trip without the optional image hash, and of an empty image', () => {
  const { imageSha256: _, ...noHash } = BODY
  const m = verifyManifest(encodeManifest(noHash, key.privateKey), ok)
  assert.is('imageSha256' in m, false)
  const empty: ManifestBody = { ...noHash, totalBytes: 0, chunkCount: 0, parts: [] }
  assert.equal(verifyManifest(encodeManifest(empty, key.privateKey), ok), { ...empty, keyId: keyId(key.publicKey) })
})

test('encoding is deterministic, and the root stays small', () => {
  assert.equal(encodeManifest(BODY, key.privateKey), BYTES)
  assert.ok(BYTES.length < 300, `${BYTES.length} bytes`)
})

// An independent writer of the documented wire format: fields are numbers (encoded as
// varints) or raw byte arrays, so each test can break exactly one thing.
type Field = number | number[]
interface Raw {
  magic: number[], format: number[], name: number[], version: Field, totalBytes: Field, min: Field, avg: Field, max: Field,
  chunkCount: Field, created: Field, expires: Field, keyId: number[], partCount: Field,
  parts: Array<{ id: number[], bytes: Field, entries: Field }>, flags: number[], sha: number[], sig: number[] | 'sign'
}
const v = (f: Field): number[] => Array.isArray(f) ? f : [...encodeVarint(f)]
const hex = (h: string): number[] => [...Buffer.from(h, 'hex')]
function rawOf (b: ManifestBody): Raw {
  const name = [...Buffer.from(b.image)]
  return {
    magic: [...Buffer.from('BCMF')], format: [1], name: [name.length, ...name], version: b.version, totalBytes: b.totalBytes,
    min: b.chunking.minBytes, avg: b.chunking.avgBytes, max: b.chunking.maxBytes, chunkCount: b.chunkCount,
    created: b.createdMs, expires: b.expiresMs, keyId: hex(keyId(key.publicKey)), partCount: b.parts.length,
    parts: b.parts.map((p) => ({ id: hex(p.id), bytes: p.bytes, entries: p.entries })),
    flags: [b.imageSha256 === undefined ? 0 : 1], sha: b.imageSha256 === undefined ? [] : hex(b.imageSha256), sig: 'sign'
  }
}
function write (r: Raw): Uint8Array {
  const signed = Uint8Array.from([
    ...r.magic, ...r.format, ...r.name, ...v(r.version), ...v(r.totalBytes), ...v(r.min), ...v(r.avg), ...v(r.max),
    ...v(r.chunkCount), ...v(r.created), ...v(r.expires), ...r.keyId, ...v(r.partCount),
    ...r.parts.flatMap((p) => [...p.id, ...v(p.bytes), ...v(p.entries)]), ...r.flags, ...r.sha
  ])
  const sig = r.sig === 'sign' ? signBytes(key.privateKey, signed) : Uint8Array.from(r.sig)
  return Uint8Array.from([...signed, ...sig])
}

test('the encoder writes exactly the documented wire format', () => {
  assert.equal(write(rawOf(BODY)), BYTES)
  assert.equal(verifyManifest(write(rawOf(BODY)), ok), decodeManifest(BYTES))
})

const R = (): Raw => rawOf(BODY)
const TWO_POW_53 = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10]
const MALFORMED: Array<[string, (r: Raw) => void]> = [
  ['bad magic', (r) => { r.magic = [...Buffer.from('BCMG')] }],
  ['unknown format version', (r) => { r.format = [2] }],
  ['empty image name', (r) => { r.name = [0] }],
  ['image name over the cap', (r) => { r.name = [MAX_IMAGE_NAME_BYTES + 1, ...Array(MAX_IMAGE_NAME_BYTES + 1).fill(0x61)] }],
  ['image name with a path', (r) => { r.name = [7, ...Buffer.from('../boot')] }],
  ['image name with a slash', (r) => { r.name = [3, ...Buffer.from('a/b')] }],
  ['image name not UTF-8', (r) => { r.name = [2, 0x61, 0xff] }],
  ['image name non-ASCII UTF-8', (r) => { r.name = [3, 0x61, 0xc3, 0xa9] }],
  ['version 0', (r) => { r.version = 0 }],
  ['version 2^53', (r) => { r.version = TWO_POW_53 }],
  ['non-minimal varint', (r) => { r.version = [0x87, 0x00] }],
  ['varint longer than 8 bytes', (r) => { r.totalBytes = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01] }],
  ['chunking min above avg', (r) => { r.min = 128 * 1024 }],
  ['chunking avg not a power of two', (r) => { r.avg = 65535 }],
  ['chunking max above the ceiling', (r) => { r.max = MAX_CHUNK_BYTES_CEILING * 2 }],
  ['chunkCount over the cap', (r) => { r.chunkCount = MAX_CHUNK_COUNT + 1 }],
  ['more chunks than bytes', (r) => { r.totalBytes = 599 }],
  ['more bytes than chunks × maxBytes', (r) => { r.totalBytes = 600 * 256 * 1024 + 1 }],
  ['expires at created', (r) => { r.expires = BODY.createdMs }],
  ['expires before created', (r) => { r.expires = BODY.createdMs - 1 }],
  ['part count 2^40', (r) => { r.partCount = 2 ** 40 }],
  ['part count over the cap', (r) => { r.partCount = MAX_MANIFEST_PARTS + 1 }],
  ['part count the bytes cannot hold', (r) => { r.partCount = 1000 }],
  ['part count one more than present', (r) => { r.partCount = 4 }],
  ['part count one fewer than present', (r) => { r.partCount = 2 }],
  ['part with zero entries', (r) => { r.parts[2].entries = 0 }],
  ['part over MAX_PART_ENTRIES', (r) => { r.parts[0].entries = MAX_PART_ENTRIES + 1 }],
  ['part bytes too few for its entries', (r) => { r.parts[0].bytes = 4 + 250 * 33 - 1 }],
  ['part bytes too many for its entries', (r) => { r.parts[0].bytes = 4 + 250 * 36 + 1 }],
  ['part entries do not sum to chunkCount', (r) => { r.chunkCount = 601 }],
  ['unknown flag bits', (r) => { r.flags = [3] }],
  ['image hash flagged but missing', (r) => { r.sha = [] }],
  ['image hash present but not flagged', (r) => { r.flags = [0] }],
  ['one trailing byte', (r) => { r.sig = [...signBytes(key.privateKey, new Uint8Array(1)), 0] }],
  ['signature one byte short', (r) => { r.sig = Array(63).fill(1) }],
  ['no signature', (r) => { r.sig = [] }]
]
for (const [name, breakIt] of MALFORMED) {
  test(`malformed: ${name} → ERR_MANIFEST_MALFORMED (decode and verify)`, () => {
    const r = R()
    breakIt(r)
    const bytes = write(r)
    throwsCode(() => decodeManifest(bytes), 'ERR_MANIFEST_MALFORMED')
    throwsCode(() => verifyManifest(bytes, ok), 'ERR_MANIFEST_MALFORMED')
  })
}

test('malformed: every truncation of a manifest → ERR_MANIFEST_MALFORMED', () => {
  for (let n = 0; n < BYTES.length; n++) throwsCode(() => verifyManifest(BYTES.subarray(0, n), ok), 'ERR_MANIFEST_MALFORMED')
})

test('malformed: trailing bytes of any length → ERR_MANIFEST_MALFORMED', () => {
  for (const extra of [1, 2, 64, 1000]) {
    throwsCode(() => decodeManifest(Uint8Array.from([...BYTES, ...new Uint8Array(extra)])), 'ERR_MANIFEST_MALFORMED')
  }
})

test('tampered: every single-bit flip in the signed bytes is refused; in the key id as wrong key, elsewhere as tampered or malformed', () => {
  const signedBytes = BYTES.length - 64
  const keyIdAt = Buffer.from(BYTES).indexOf(Buffer.from(keyId(key.publicKey), 'hex'))
  const codes = new Map<string, number>()
  for (let bit = 0; bit < signedBytes * 8; bit++) {
    const bad = BYTES.slice()
    bad[bit >> 3] ^= 1 << (bit & 7)
    let code = 'accepted'
    try { verifyManifest(bad, ok) } catch (err) { code = (err as { code: string }).code }
    const byte = bit >> 3
    if (byte >= keyIdAt && byte < keyIdAt + 16) assert.is(code, 'ERR_MANIFEST_WRONG_KEY', `bit ${bit}`)
    else assert.ok(code === 'ERR_MANIFEST_TAMPERED' || code === 'ERR_MANIFEST_MALFORMED', `bit ${bit}: ${code}`)
    codes.set(code, (codes.get(code) ?? 0) + 1)
  }
  // Part ids and the image hash alone are 128 of the signed bytes: flips there parse fine and must fail the signature.
  assert.ok((codes.get('ERR_MANIFEST_TAMPERED') ?? 0) >= 128 * 8, JSON.stringify([...codes]))
})

test('tampered: every single-bit flip in the signature → ERR_MANIFEST_TAMPERED', () => {
  for (let bit = (BYTES.length - 64) * 8; bit < BYTES.length * 8; bit++) {
    const bad = BYTES.slice()
    bad[bit >> 3] ^= 1 << (bit & 7)
    throwsCode(() => verifyManifest(bad, ok), 'ERR_MANIFEST_TAMPERED')
  }
})

test('tampered: another key\'s signature under the pinned key id → ERR_MANIFEST_TAMPERED', () => {
  const r = R()
  const signed = write(r).subarray(0, BYTES.length - 64)
  r.sig = [...signBytes(other.privateKey, signed)]
  throwsCode(() => verifyManifest(write(r), ok), 'ERR_MANIFEST_TAMPERED')
})

test('wrong key: a manifest signed by another key → ERR_MANIFEST_WRONG_KEY', () => {
  throwsCode(() => verifyManifest(encodeManifest(BODY, other.privateKey), ok), 'ERR_MANIFEST_WRONG_KEY')
  throwsCode(() => verifyManifest(BYTES, { ...ok, publicKey: other.publicKey }), 'ERR_MANIFEST_WRONG_KEY')
})

test('wrong image: a valid manifest for another image → ERR_MANIFEST_WRONG_IMAGE', () => {
  throwsCode(() => verifyManifest(BYTES, { ...ok, image: 'win10' }), 'ERR_MANIFEST_WRONG_IMAGE')
  assert.is(verifyManifest(BYTES, { ...ok, image: BODY.image }).image, BODY.image)
})

test('expired: now at or after expiresMs → ERR_MANIFEST_EXPIRED; a millisecond before is fine', () => {
  throwsCode(() => verifyManifest(BYTES, { ...ok, nowMs: BODY.expiresMs }), 'ERR_MANIFEST_EXPIRED')
  throwsCode(() => verifyManifest(BYTES, { ...ok, nowMs: BODY.expiresMs + 365 * 86_400_000 }), 'ERR_MANIFEST_EXPIRED')
  assert.is(verifyManifest(BYTES, { ...ok, nowMs: BODY.expiresMs - 1 }).version, BODY.version)
})

test('rollback: a version below the last accepted → ERR_MANIFEST_ROLLBACK; equal or higher is fine', () => {
  throwsCode(() => verifyManifest(BYTES, { ...ok, lastAcceptedVersion: BODY.version + 1 }), 'ERR_MANIFEST_ROLLBACK')
  assert.is(verifyManifest(BYTES, { ...ok, lastAcceptedVersion: BODY.version }).version, BODY.version)
  assert.is(verifyManifest(BYTES, { ...ok, lastAcceptedVersion: 1 }).version, BODY.version)
})

test('checks run in order: key id, signature, image, expiry, rollback', () => {
  const late = { ...ok, nowMs: BODY.expiresMs, lastAcceptedVersion: 99, image: 'other' }
  throwsCode(() => verifyManifest(encodeManifest(BODY, other.privateKey), late), 'ERR_MANIFEST_WRONG_KEY')
  const flipped = BYTES.slice()
  flipped[BYTES.length - 70] ^= 1 // inside the image hash: parses, signature fails
  throwsCode(() => verifyManifest(flipped, late), 'ERR_MANIFEST_TAMPERED')
  throwsCode(() => verifyManifest(BYTES, late), 'ERR_MANIFEST_WRONG_IMAGE')
  throwsCode(() => verifyManifest(BYTES, { ...late, image: undefined }), 'ERR_MANIFEST_EXPIRED')
  throwsCode(() => verifyManifest(BYTES, { ...late, image: undefined, nowMs: NOW }), 'ERR_MANIFEST_ROLLBACK')
})

test('verify options are the caller\'s to get right: TypeError', () => {
  assert.throws(() => verifyManifest(BYTES, { ...ok, nowMs: Number.NaN }), TypeError)
  assert.throws(() => verifyManifest(BYTES, { ...ok, publicKey: key.privateKey }), TypeError)
  assert.throws(() => verifyManifest('x' as unknown as Uint8Array, ok), TypeError)
})

const BAD_BODIES: Array<[string, Partial<ManifestBody>]> = [
  ['name with a space', { image: 'win 11' }],
  ['name starting with a dot', { image: '.hidden' }],
  ['version 0', { version: 0 }],
  ['version 1.5', { version: 1.5 }],
  ['negative size', { totalBytes: -1 }],
  ['upper-case part id', { parts: [{ ...part(0, 600), id: sha('x').toUpperCase() }] }],
  ['entries not summing to chunkCount', { parts: [part(0, 599)] }],
  ['image hash not hex', { imageSha256: 'xyz' }],
  ['expires before created', { expiresMs: BODY.createdMs }],
  ['bad chunking', { chunking: { minBytes: 1, avgBytes: 2, maxBytes: 3 } }]
]
for (const [name, change] of BAD_BODIES) {
  test(`encode refuses ${name} with TypeError`, () => {
    assert.throws(() => encodeManifest({ ...BODY, ...change }, key.privateKey), TypeError)
  })
}

test('encode wants an Ed25519 private key', () => {
  assert.throws(() => encodeManifest(BODY, key.publicKey), TypeError)
})

test('changedParts: parts the new version names and the old does not, in order, once each', () => {
  const prev = decodeManifest(BYTES)
  const next: Manifest = { ...prev, parts: [part(0, 250), part(9, 100), part(9, 100), part(2, 50), part(8, 200)] }
  assert.equal(changedParts(prev, next), [part(9, 100), part(8, 200)])
  assert.equal(changedParts(prev, prev), [])
  assert.equal(changedParts(undefined, prev), prev.parts)
})

test('JSON view: hex ids, ISO dates, image hash only when present', () => {
  const json = manifestToJSON(decodeManifest(BYTES))
  assert.is(json.created, new Date(BODY.createdMs).toISOString())
  assert.is(json.expires, new Date(BODY.expiresMs).toISOString())
  assert.is(json.keyId, keyId(key.publicKey))
  assert.is(json.imageSha256, BODY.imageSha256)
  assert.equal(json.parts, BODY.parts)
  assert.equal(JSON.parse(JSON.stringify(json)), json)
  const { imageSha256: _, ...noHash } = BODY
  assert.is('imageSha256' in manifestToJSON(decodeManifest(encodeManifest(noHash, key.privateKey))), false)
})

function build (refs: ChunkRef[]): ListPart[] {
  const b = createChunkListBuilder()
  const out: ListPart[] = []
  for (const r of refs) { const p = b.add(r); if (p !== undefined) out.push(p) }
  const last = b.finish()
  return last === undefined ? out : [...out, last]
}
function bodyOf (refs: ChunkRef[], parts: ListPart[], version: number): ManifestBody {
  return {
    ...BODY, version, imageSha256: undefined, chunkCount: refs.length, totalBytes: refs.reduce((s, r) => s + r.length, 0),
    parts: parts.map((p) => ({ id: p.id, bytes: p.bytes.length, entries: p.entries }))
  }
}

test('end to end: build, sign, verify, read back; an update needs only the changed parts', async () => {
  const refs = Array.from({ length: 30_000 }, (_, i) => ({ id: sha(`c${i}`), length: 16384 + ((i * 7919) % 98304) }))
  const parts = build(refs)
  const { imageSha256: _a, ...b1 } = bodyOf(refs, parts, 1)
  const v1 = verifyManifest(encodeManifest(b1, key.privateKey), ok)
  const store = new Map(parts.map((p) => [p.id, p.bytes]))
  const fetch = async (id: string): Promise<Uint8Array> => store.get(id) as Uint8Array
  let n = 0
  for await (const r of readChunkList(v1, fetch)) assert.is(r.id, refs[n++].id)
  assert.is(n, refs.length)

  const edited = [...refs.slice(0, 15_000), { id: sha('new'), length: 1000 }, ...refs.slice(15_002)]
  const parts2 = build(edited)
  const { imageSha256: _b, ...b2 } = bodyOf(edited, parts2, 2)
  const v2 = verifyManifest(encodeManifest(b2, key.privateKey), { ...ok, lastAcceptedVersion: 1 })
  const changed = changedParts(v1, v2)
  assert.ok(changed.length >= 1 && changed.length <= 2, `${changed.length} of ${v2.parts.length} parts changed`)
  for (const p of parts2) store.set(p.id, p.bytes)
  let total = 0
  for await (const r of readChunkList(v2, fetch)) total += r.length
  assert.is(total, v2.totalBytes)
})

// Wire-format fixtures: files named by their SHA-256; roots re-encode byte for byte with the TEST-ONLY key.
const FIXTURES = new URL('../../../fixtures/manifest/', import.meta.url)
const fixtureKey = importPrivateKeyPem(readFileSync(new URL('TEST-ONLY-signing-key.pem', FIXTURES), 'utf8'))
const fixturePub = importPublicKey(readFileSync(new URL('TEST-ONLY-signing-key.pub', FIXTURES), 'utf8'))
const bins = readdirSync(FIXTURES).filter((f) => f.endsWith('.bin'))
const roots = bins.filter((f) => readFileSync(new URL(f, FIXTURES)).subarray(0, 4).toString() === 'BCMF')

test('fixtures: every file is named by its SHA-256, and there are roots to test', () => {
  assert.ok(roots.length >= 2, `${roots.length} roots`)
  for (const f of bins) assert.is(`${chunkId(readFileSync(new URL(f, FIXTURES)))}.bin`, f)
})

for (const f of roots) {
  test(`fixture ${f.slice(0, 12)}…: verifies, matches its JSON, re-encodes to the same bytes, reads its chunk list`, async () => {
    const bytes = new Uint8Array(readFileSync(new URL(f, FIXTURES)))
    const m = verifyManifest(bytes, { publicKey: fixturePub, nowMs: Date.parse('2026-01-01T00:00:00Z') })
    assert.is(manifestDigest(bytes), f.slice(0, 64))
    assert.equal(manifestToJSON(m), JSON.parse(readFileSync(new URL(f.replace('.bin', '.json'), FIXTURES), 'utf8')))
    const { keyId: _, ...body } = m
    assert.equal(encodeManifest(body, fixtureKey), bytes)
    let total = 0
    for await (const r of readChunkList(m, async (id) => new Uint8Array(readFileSync(new URL(`${id}.bin`, FIXTURES))))) total += r.length
    assert.is(total, m.totalBytes)
  })
}

test.run()
