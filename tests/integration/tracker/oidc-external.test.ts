// A tracker configured with an external issuer: here another tracker's real provider on
// port 0. Discovery over plain http on loopback, keys from the issuer's remote JWKS, the
// role from configured admin groups, and /auth/config naming the external issuer.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { SignJWT, generateKeyPair, importJWK } from 'jose'
import type { CryptoKey } from 'jose'
import { startTestTracker } from '../../helpers/tracker.ts'
import type { TestTracker } from '../../helpers/tracker.ts'

let issuerSide: TestTracker
let tracker: TestTracker
let key: CryptoKey
let kid: string

test.before(async () => {
  issuerSide = await startTestTracker()
  tracker = await startTestTracker({
    config: {
      oidc: { issuer: `${issuerSide.url}/oidc`, audience: 'https://branchcast.example/api', clientId: 'branchcast-console', cliClientId: 'branchcast-cli', userClaim: 'preferred_username', groupsClaim: 'groups', adminGroups: ['ops'], readOnlyAdminGroups: ['audit'], algorithms: ['ES256'], clockSkewSeconds: 60, sessionTtlSeconds: 3600, accessTokenTtlSeconds: 600 }
    }
  })
  const jwk = JSON.parse(await readFile(join(issuerSide.dataDir, 'keys/oidc-signing.jwk.json'), 'utf8'))
  kid = jwk.kid
  key = await importJWK(jwk, 'ES256') as CryptoKey
})
test.after(async () => {
  await tracker.stop()
  await issuerSide.stop()
})

async function token (claims: Record<string, unknown>, signWith: CryptoKey = key, headerKid = kid): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return await new SignJWT({ iss: `${issuerSide.url}/oidc`, aud: 'https://branchcast.example/api', sub: 'opaque-id-1', iat: now, exp: now + 300, ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: headerKid }).sign(signWith)
}

async function me (bearer: string): Promise<{ status: number, body: any }> {
  const res = await fetch(`${tracker.url}/api/v1/me`, { headers: { authorization: `Bearer ${bearer}` } })
  return { status: res.status, body: await res.json() }
}

test('/auth/config names the external issuer; no provider is mounted here', async () => {
  const config = await (await fetch(`${tracker.url}/auth/config`)).json() as { issuer: string, embedded: boolean }
  assert.equal([config.issuer, config.embedded], [`${issuerSide.url}/oidc`, false])
  assert.is((await fetch(`${tracker.url}/oidc/.well-known/openid-configuration`)).status, 404)
})

test('keys from the remote JWKS; user from preferred_username; role from groups', async () => {
  const admin = await me(await token({ preferred_username: 'dana', groups: ['ops'] }))
  assert.is(admin.status, 200, JSON.stringify(admin.body))
  assert.equal([admin.body.user, admin.body.role], ['dana', 'admin'])
  const auditor = await me(await token({ preferred_username: 'eve', groups: ['audit'] }))
  assert.equal([auditor.body.user, auditor.body.role], ['eve', 'read-only-admin'])
  const user = await me(await token({ preferred_username: 'fay', groups: ['staff'], branchcast_role: 'admin' }))
  assert.equal([user.body.user, user.body.role], ['fay', 'user'], 'an unconfigured role claim grants nothing')
})

test('refusals against the remote key set: unknown kid, another key, the embedded audience', async () => {
  const other = (await generateKeyPair('ES256')).privateKey
  const unknownKid = await me(await token({ preferred_username: 'x' }, other, 'not-in-jwks'))
  assert.equal([unknownKid.status, unknownKid.body.error.code], [401, 'ERR_TOKEN_SIGNATURE'])
  const otherKey = await me(await token({ preferred_username: 'x' }, other))
  assert.equal([otherKey.status, otherKey.body.error.code], [401, 'ERR_TOKEN_SIGNATURE'])
  const wrongAud = await me(await token({ preferred_username: 'x', aud: issuerSide.url }))
  assert.equal([wrongAud.status, wrongAud.body.error.code], [401, 'ERR_TOKEN_AUDIENCE'])
})

test('an issuer that is down does not keep the tracker from starting: API tokens work, access tokens get 503', async () => {
  const down = await startTestTracker({ config: { oidc: { issuer: 'http://127.0.0.1:9/oidc', audience: 'x', clientId: 'c', cliClientId: 'd', userClaim: 'sub', groupsClaim: 'groups', adminGroups: [], readOnlyAdminGroups: [], algorithms: ['ES256'], clockSkewSeconds: 60, sessionTtlSeconds: 3600, accessTokenTtlSeconds: 600 } } })
  try {
    assert.is((await fetch(`${down.url}/api/v1/me`, { headers: { authorization: `Bearer ${down.adminToken}` } })).status, 200)
    const res = await fetch(`${down.url}/api/v1/me`, { headers: { authorization: `Bearer ${await token({ preferred_username: 'x' })}` } })
    assert.equal([res.status, ((await res.json()) as { error: { code: string } }).error.code], [503, 'ERR_UNAVAILABLE'])
  } finally {
    await down.stop()
  }
})

test.run()
