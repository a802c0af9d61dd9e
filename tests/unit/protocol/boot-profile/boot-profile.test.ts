// The signed boot profile: a round trip, and every way a profile for something else, or
// changed after signing, is refused with its code.
import { createHash, generateKeyPairSync } from 'node:crypto'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  BOOT_PROFILE_CONTEXT, MAX_BOOT_PROFILE_BYTES, MAX_BOOT_PROFILE_CHUNKS, WORKSPACE_DOCUMENT_CONTEXT, bootProfilePath, encodeBootProfile,
  normaliseProfileChunks, signDocument, verifyBootProfile
} from '../../../../protocol/index.ts'
import type { BootProfile } from '../../../../protocol/index.ts'

const keys = generateKeyPairSync('ed25519')
const other = generateKeyPairSync('ed25519')
const hex = (s: string): string => createHash('sha256').update(s).digest('hex')
const digest = hex('manifest v1')
const profile: BootProfile = { format: 1, image: 'desktop', version: 1, manifestDigest: digest, chunks: [hex('c'), hex('a'), hex('b')], signedAtMs: 1 }
const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const dec = (b: Uint8Array): string => new TextDecoder().decode(b)

function code (fn: () => unknown): string | undefined {
  try { fn() } catch (err) { return (err as { code?: string }).code ?? (err as Error).name }
  return undefined
}

test('a signed profile verifies and keeps its order', () => {
  const got = verifyBootProfile(encodeBootProfile(profile, keys.privateKey), { publicKey: keys.publicKey, manifestDigest: digest })
  assert.equal(got.chunks, profile.chunks)
  assert.is(got.manifestDigest, digest)
  assert.is(bootProfilePath(digest), `boot-profiles/${digest.slice(0, 2)}/${digest}`)
})

const stored = dec(encodeBootProfile(profile, keys.privateKey))
const doc = JSON.parse(stored) as { payload: string, signature: string, keyId: string }
const refusals: Array<[string, () => Uint8Array, string, string?]> = [
  ['for another manifest (another version)', () => encodeBootProfile({ ...profile, manifestDigest: hex('manifest v2') }, keys.privateKey), 'ERR_BOOT_PROFILE_TAMPERED'],
  ['signed by another key', () => encodeBootProfile(profile, other.privateKey), 'ERR_BOOT_PROFILE_TAMPERED'],
  ['payload changed after signing (order swapped)', () => enc(JSON.stringify({ ...doc, payload: doc.payload.replace(profile.chunks[0]!, 'X').replace(profile.chunks[1]!, profile.chunks[0]!).replace('X', profile.chunks[1]!) })), 'ERR_BOOT_PROFILE_TAMPERED'],
  ['signature changed', () => enc(JSON.stringify({ ...doc, signature: Buffer.alloc(64, 1).toString('base64') })), 'ERR_BOOT_PROFILE_TAMPERED'],
  ['the same payload signed as a workspace document', () => enc(JSON.stringify(signDocument(keys.privateKey, WORKSPACE_DOCUMENT_CONTEXT, doc.payload))), 'ERR_BOOT_PROFILE_TAMPERED'],
  ['not JSON', () => enc('nope'), 'ERR_BOOT_PROFILE_MALFORMED'],
  ['truncated', () => enc(stored.slice(0, -5)), 'ERR_BOOT_PROFILE_MALFORMED'],
  ['over the byte cap', () => new Uint8Array(MAX_BOOT_PROFILE_BYTES + 1), 'ERR_BOOT_PROFILE_MALFORMED'],
  ['signed but repeating a chunk', () => enc(JSON.stringify(signDocument(keys.privateKey, BOOT_PROFILE_CONTEXT, JSON.stringify({ ...profile, chunks: [hex('a'), hex('a')] })))), 'ERR_BOOT_PROFILE_MALFORMED']
]
for (const [name, bytes, want] of refusals) {
  test(`refused: ${name}`, () => {
    assert.is(code(() => verifyBootProfile(bytes(), { publicKey: keys.publicKey, manifestDigest: digest })), want)
  })
}

test('chunk lists are deduplicated in first-seen order and bounded; bad ids are TypeErrors', () => {
  assert.equal(normaliseProfileChunks([hex('b'), hex('a'), hex('b')]), [hex('b'), hex('a')])
  const many = Array.from({ length: MAX_BOOT_PROFILE_CHUNKS + 10 }, (_, i) => hex(String(i)))
  assert.is(normaliseProfileChunks(many).length, MAX_BOOT_PROFILE_CHUNKS)
  assert.is(code(() => normaliseProfileChunks(['../../etc/passwd'])), 'TypeError')
  assert.is(code(() => encodeBootProfile({ ...profile, chunks: [hex('a'), hex('a')] }, keys.privateKey)), 'TypeError')
})

test.run()
