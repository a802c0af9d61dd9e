/**
 * What the targets share: the checked-in TEST-ONLY signing key of the manifest fixtures
 * (so the fixtures are valid seeds and every seed is the same on every run), a fixed clock
 * inside their validity, and the fixture files themselves.
 */
import { readFileSync, readdirSync } from 'node:fs'
import { importPrivateKeyPem, importPublicKey } from '../../../protocol/signing/signing.ts'

const FIXTURES = new URL('../../fixtures/manifest/', import.meta.url)

export const privateKey = importPrivateKeyPem(readFileSync(new URL('TEST-ONLY-signing-key.pem', FIXTURES), 'utf8'))
export const publicKey = importPublicKey(readFileSync(new URL('TEST-ONLY-signing-key.pub', FIXTURES), 'utf8'))
/** Inside every fixture's validity (the shortest runs 2026-01-01 to 2026-01-02). */
export const NOW_MS = Date.parse('2026-01-01T12:00:00Z')

/** The fixture files that start with `magic` (manifest roots "BCMF", list parts "BCL\x01"). */
export function fixtureFiles (magic: string): Uint8Array[] {
  return readdirSync(FIXTURES).filter((f) => f.endsWith('.bin')).sort()
    .map((f) => new Uint8Array(readFileSync(new URL(f, FIXTURES))))
    .filter((b) => Buffer.from(b.subarray(0, magic.length)).toString('latin1') === magic)
}

export const text = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'))
