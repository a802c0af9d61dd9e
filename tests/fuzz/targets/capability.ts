/**
 * Capability tokens (protocol/signing/capability.ts `verifyCapability`), two ways: the
 * token text as a peer or client sends it (nothing but the tokens we signed may verify:
 * another spelling that verifies is a malleable signature), and the claims behind the
 * signature, signed here with the test key, so that the claims parser sees hostile JSON
 * too — a parser only the tracker's own signature protects should still fail cleanly.
 */
import { signCapability, verifyCapability } from '../../../protocol/signing/capability.ts'
import type { CapabilityClaims, VerifyCapabilityOptions } from '../../../protocol/signing/capability.ts'
import { signBytes } from '../../../protocol/signing/signing.ts'
import { check, refusal } from '../target.ts'
import type { FuzzTarget } from '../target.ts'
import { NOW_MS, privateKey, publicKey, text } from './fixtures.ts'

const OPTIONS: VerifyCapabilityOptions = { publicKey, nowMs: NOW_MS, aud: 'peer' }
const PEER = '12D3KooWRBhwfeP2Y4TCx1SM6s9rUoHhR5STiGwxBhgFRcw3UERE'

const CLAIMS: Array<Omit<CapabilityClaims, 'v'>> = [
  { aud: 'peer', sub: PEER, img: 'desktop', iat: NOW_MS - 1000, exp: NOW_MS + 3_600_000 },
  { aud: 'peer', sub: 'p', img: 'i', iat: 0, exp: 2 ** 53 - 1 },
  { aud: 'origin', sub: 'client-7', img: 'win11-office_2024.1+lts', iat: NOW_MS, exp: NOW_MS + 1 },
  { aud: 'peer', sub: 'x'.repeat(256), img: 'a/b:c@d+e=f.g_h-i', iat: NOW_MS - 60_000, exp: NOW_MS - 29_999 }
]
const TOKENS = CLAIMS.map((c) => signCapability(c, privateKey))
const SIGNED = new Set(TOKENS)

export const capabilityTarget: FuzzTarget = {
  name: 'capability',
  decoder: 'verifyCapability, token text (protocol/signing/capability.ts)',
  maxInputBytes: 4096,
  seeds: () => TOKENS.map(text),
  dictionary: () => ['.', '=', '==', '-', '_', '+', '/', ' ', '%', 'A', 'Q', 'w'].map(text),
  run (input) {
    const token = Buffer.from(input).toString('utf8')
    try {
      verifyCapability(token, OPTIONS)
    } catch (err) {
      return refusal(err)
    }
    check(SIGNED.has(token), 'a token nobody signed verifies')
    return 'ok'
  }
}

export const capabilityClaimsTarget: FuzzTarget = {
  name: 'capability-claims',
  decoder: 'verifyCapability, signed claims (protocol/signing/capability.ts)',
  maxInputBytes: 2048,
  seeds: () => TOKENS.map((t) => new Uint8Array(Buffer.from(t.split('.')[0]!, 'base64url'))),
  dictionary: () => ['"v":1', '"aud":"peer"', '"aud":"origin"', '"sub":', '"img":', '"iat":', '"exp":', '"__proto__":', '{', '}', '[', ']', ',', ':', 'null',
    'true', '"', '\\u0000', '\\ud800', '1e400', '-0', '9007199254740993'].map(text),
  run (input) {
    const body = Buffer.from(input).toString('base64url')
    const token = `${body}.${Buffer.from(signBytes(privateKey, Buffer.from(body))).toString('base64url')}`
    let claims
    try {
      claims = verifyCapability(token, OPTIONS)
    } catch (err) {
      return refusal(err)
    }
    check(claims.v === 1 && claims.aud === 'peer' && typeof claims.sub === 'string' && typeof claims.img === 'string', 'claims of the wrong shape verify')
    check(Number.isSafeInteger(claims.iat) && Number.isSafeInteger(claims.exp) && NOW_MS < claims.exp + 30_000, 'claims with bad times verify')
    return 'ok'
  }
}
