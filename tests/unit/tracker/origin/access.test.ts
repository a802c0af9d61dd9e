import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { verifyCapability } from '../../../../protocol/signing/capability.ts'
import { generateSigningKey } from '../../../../protocol/signing/signing.ts'
import { createPublicKey } from 'node:crypto'
import { issueOriginAccess } from '../../../../tracker/origin/access.ts'
import { signOriginLink } from '../../../../tracker/origin/secure-link.ts'
import type { TrackerConfig } from '../../../../tracker/config.ts'
import type { TrackerKeys } from '../../../../tracker/keys.ts'

const test = suite('origin: issuing access')

const { privateKey } = generateSigningKey()
const keys = { capability: { privateKey, publicKey: createPublicKey(privateKey) }, originLinkSecret: 'a-secret-of-enough-length' } as TrackerKeys
const config = { host: '127.0.0.1', port: 8470, publicUrl: 'http://tracker.example:8470/', capabilityTtlSeconds: 3600 } as TrackerConfig
const NOW = 1_700_000_000_123

test('built-in: a capability token for the origin, bound to client and image, expiring on a whole second', () => {
  const access = issueOriginAccess({ config, keys, now: () => NOW }, { clientId: 'node-1', image: 'win10' })
  assert.is(access.kind, 'builtin')
  assert.is(access.originUrl, 'http://tracker.example:8470/origin')
  assert.is(access.query, undefined)
  assert.is(access.expiresAtMs, 1_700_003_600_000)
  const claims = verifyCapability(access.token, { publicKey: keys.capability.publicKey, nowMs: NOW, aud: 'origin', sub: 'node-1', img: 'win10' })
  assert.is(claims.exp, access.expiresAtMs)
})

test('external origin: the same token plus the signed-URL query expiring at the same instant', () => {
  const access = issueOriginAccess({ config: { ...config, originUrl: 'https://origin.example/store/' }, keys, now: () => NOW }, { clientId: 'node-1', image: 'win10' })
  assert.is(access.kind, 'nginx')
  assert.is(access.originUrl, 'https://origin.example/store')
  assert.equal(access.query, signOriginLink({ secret: keys.originLinkSecret, clientId: 'node-1', image: 'win10', expiresAtSec: 1_700_003_600 }))
  assert.is(Number(access.query!.e) * 1000, access.expiresAtMs)
})

test('names a token cannot carry are a TypeError', () => {
  assert.throws(() => issueOriginAccess({ config, keys, now: () => NOW }, { clientId: 'a b', image: 'win10' }), TypeError)
})

test.run()
