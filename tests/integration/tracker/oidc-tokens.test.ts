// OpenID Connect access tokens at the API: accepted when the issuer's key signed them for
// this tracker, refused with their own code otherwise (tokens forged with jose); and the
// read-only admin role, table-driven over every route of the app: each write 403, each
// admin read answered.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { SignJWT, UnsecuredJWT, exportJWK, generateKeyPair, importJWK } from 'jose'
import type { JWTPayload, CryptoKey } from 'jose'
import { startTestTracker } from '../../helpers/tracker.ts'
import type { TestTracker } from '../../helpers/tracker.ts'
import { createApp } from '../../../tracker/app.ts'

let clock = Date.now()
let t: TestTracker
let key: CryptoKey
let kid: string
let publicPem: string

test.before(async () => {
  t = await startTestTracker({ now: () => clock })
  const jwk = JSON.parse(await readFile(join(t.dataDir, 'keys/oidc-signing.jwk.json'), 'utf8'))
  kid = jwk.kid
  key = await importJWK(jwk, 'ES256') as CryptoKey
  const { createPublicKey } = await import('node:crypto')
  publicPem = createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString()
})
test.after(async () => { await t.stop() })

const nowS = (): number => Math.floor(clock / 1000)

/** Claims the embedded provider would issue, with `over` applied (undefined removes a claim). */
function claims (over: Record<string, unknown> = {}): JWTPayload {
  const base: Record<string, unknown> = { iss: `${t.url}/oidc`, aud: t.url, sub: 'carol', iat: nowS(), exp: nowS() + 600, groups: ['sales'], scope: 'api', client_id: 'branchcast-cli', ...over }
  return Object.fromEntries(Object.entries(base).filter(([, v]) => v !== undefined))
}

async function signed (over: Record<string, unknown> = {}, signKey: CryptoKey = key, header: Record<string, unknown> = {}): Promise<string> {
  return await new SignJWT(claims(over)).setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt', ...header }).sign(signKey)
}

async function call (token: string, method = 'GET', path = '/api/v1/me'): Promise<{ status: number, code?: string, message?: string, body: any, wwwAuth: string | null }> {
  const res = await fetch(t.url + path, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: method === 'GET' || method === 'HEAD' ? undefined : '{}' })
  // a server-sent-events stream (the console's live dashboard) never ends: answered is enough
  if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) { await res.body?.cancel(); return { status: res.status, body: undefined, wwwAuth: res.headers.get('www-authenticate') } }
  const text = await res.text()
  let body: any
  try { body = JSON.parse(text) } catch {}
  return { status: res.status, code: body?.error?.code, message: body?.error?.message, body, wwwAuth: res.headers.get('www-authenticate') }
}

test('a token the issuer signed for this tracker is accepted like an API token', async () => {
  const me = await call(await signed())
  assert.is(me.status, 200, JSON.stringify(me.body))
  assert.equal([me.body.user, me.body.groups, me.body.role, me.body.via, me.body.token], ['carol', ['sales'], 'user', 'access-token', null])
  // a user is a user: admin routes refuse it exactly as for an API token
  assert.equal([(await call(await signed(), 'GET', '/api/v1/tokens')).status, (await call(await signed(), 'GET', '/api/v1/tokens')).code], [403, 'ERR_FORBIDDEN'])
})

test('clock skew: an access token expired less than the skew (60 s) ago still passes', async () => {
  assert.is((await call(await signed({ exp: nowS() - 30 }))).status, 200)
})

const otherKey = async (): Promise<CryptoKey> => (await generateKeyPair('ES256')).privateKey

const REFUSALS: Array<[string, () => Promise<string>, string]> = [
  ['expired', async () => await signed({ iat: nowS() - 3600, exp: nowS() - 120 }), 'ERR_TOKEN_EXPIRED'],
  ['not valid yet', async () => await signed({ nbf: nowS() + 600 }), 'ERR_TOKEN_NOT_YET_VALID'],
  ['wrong audience', async () => await signed({ aud: 'https://other.example' }), 'ERR_TOKEN_AUDIENCE'],
  ['wrong issuer', async () => await signed({ iss: 'https://evil.example/oidc' }), 'ERR_TOKEN_ISSUER'],
  ['alg: none', async () => new UnsecuredJWT(claims()).encode(), 'ERR_TOKEN_ALG'],
  ['HS256 keyed with the public key', async () => await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid }).sign(new TextEncoder().encode(publicPem)), 'ERR_TOKEN_ALG'],
  ['signed by another key, same kid', async () => await signed({}, await otherKey()), 'ERR_TOKEN_SIGNATURE'],
  ['signed by another key, its own kid', async () => await signed({}, await otherKey(), { kid: 'forged' }), 'ERR_TOKEN_SIGNATURE'],
  ['signature cut off', async () => (await signed()).replace(/\.[^.]+$/, '.'), 'ERR_TOKEN_SIGNATURE'],
  ['no user claim', async () => await signed({ sub: undefined }), 'ERR_TOKEN_CLAIMS'],
  ['groups not strings', async () => await signed({ groups: [1, 2] }), 'ERR_TOKEN_CLAIMS'],
  ['no expiry', async () => await signed({ exp: undefined }), 'ERR_TOKEN_CLAIMS'],
  ['a header that is not JSON', async () => 'bm90IGpzb24.e30.c2ln', 'ERR_TOKEN_MALFORMED']
]

for (const [name, make, code] of REFUSALS) {
  test(`refused, ${code}: ${name}`, async () => {
    const res = await call(await make())
    assert.equal([res.status, res.code], [401, code], res.message)
    assert.match(res.wwwAuth ?? '', /error="invalid_token"/)
  })
}

test('an expired token is refused once the tracker\'s clock passes it (skew included)', async () => {
  const token = await signed()
  clock += 11 * 60_000
  try {
    assert.equal([(await call(token)).status, (await call(token)).code], [401, 'ERR_TOKEN_EXPIRED'])
  } finally {
    clock -= 11 * 60_000
  }
})

// ---- read-only admin: every route of the app, from its own route table ----

interface Route { method: string, path: string }

function apiRoutes (): Route[] {
  const app = createApp(t.tracker.components)
  const seen = new Set<string>()
  return app.routes
    .filter((r) => r.method !== 'ALL' && r.path.startsWith('/api/v1/'))
    .map((r) => ({ method: r.method, path: r.path.replace(/:n\b/g, '1').replace(/:id\b/g, '1').replace(/:[a-zA-Z]+/g, 'ro-probe') }))
    .filter((r) => { const k = `${r.method} ${r.path}`; if (seen.has(k)) return false; seen.add(k); return true })
}

test('the route table is what we think it is (writes and reads both found)', async () => {
  const routes = apiRoutes()
  assert.ok(routes.filter((r) => r.method !== 'GET').length >= 15, 'write routes')
  assert.ok(routes.some((r) => r.method === 'GET' && r.path === '/api/v1/tokens'))
})

test('read-only admin (access token and API token): every write route 403, every read route answered (200/400/404)', async () => {
  const viaAccessToken = await signed({ sub: 'auditor', branchcast_role: 'read-only-admin' })
  const viaApiToken = await t.tokenFor('auditor', { role: 'read-only-admin' })
  const fullAdmin = await signed({ sub: 'boss', branchcast_role: 'admin' })
  for (const token of [viaAccessToken, viaApiToken]) {
    for (const r of apiRoutes()) {
      const res = await call(token, r.method, r.path)
      if (r.method === 'GET') {
        // allowed: answered, not refused (a probe name may be unknown, 404, or not a report name, 400)
        assert.ok(res.status === 200 || res.status === 404 || res.status === 400, `${r.method} ${r.path}: ${res.status} ${res.code ?? ''}`)
      } else {
        assert.equal([r.method, r.path, res.status, res.code, res.message], [r.method, r.path, 403, 'ERR_FORBIDDEN', 'read-only admin'])
      }
    }
  }
  // the same table with a full admin gets past authorisation on every write (no 401/403)
  for (const r of apiRoutes().filter((x) => x.method !== 'GET')) {
    const res = await call(fullAdmin, r.method, r.path)
    assert.ok(res.status !== 401 && res.status !== 403, `${r.method} ${r.path} for an admin: ${res.status} ${res.code ?? ''}`)
  }
})

test('nothing was written by the read-only admin', async () => {
  // (the full admin above revoked token 1, the helper's admin token: use a fresh one)
  const admin = await t.tokenFor('admin-2', { admin: true })
  const tokens = await call(admin, 'GET', '/api/v1/tokens')
  assert.ok(tokens.body.tokens.every((x: { user: string }) => x.user !== 'ro-probe'))
})

test.run()
