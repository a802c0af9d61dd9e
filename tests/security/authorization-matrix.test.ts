// The authorization matrix (issue 11): every route of the tracker's API, read from its own
// OpenAPI document, × every identity. A route missing from RULES fails the test, so a new
// route cannot ship unclassified. Allowed = neither 401 nor 403 nor 5xx (a 400/404/409 for
// the sample body or resource is fine); denied = 401 for no/expired/revoked tokens, 403 for
// a valid token without the right; never a 2xx.
//
// The read-only admin (MED-V's second admin role) reads everything an admin reads and is
// refused every write — every method but GET — whatever the route; `expected()` below is
// the one place that decides.
import { randomUUID } from 'node:crypto'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mintApiToken } from '../../tracker/identity/index.ts'
import { startTestTracker } from '../helpers/tracker.ts'
import type { TestTracker } from '../helpers/tracker.ts'
import { assignImage, call, haveOf, newPeerId, publishFakeVersion, withProof } from '../helpers/tracker-swarm.ts'

type Access = 'admin' | 'any' | 'assigned'
interface Rule {
  access: Access
  /** the concrete path to call (params filled in) */
  path?: string
  json?: (who: string) => Promise<unknown> | unknown
  body?: string
  headers?: () => Record<string, string>
}
interface Identity {
  name: string
  token: () => string | undefined
  /** 401 whatever the route */
  invalid?: boolean
  admin?: boolean
  /** the image 'win' is assigned to it */
  assigned?: boolean
  /** reads as an admin, writes nothing */
  readOnlyAdmin?: boolean
}

const CHUNKS = 8
let t: TestTracker
let version: number
let alicePeer: string
const tokens: Record<string, string> = {}

const RULES: Record<string, Rule> = {
  'POST /api/v1/tokens': { access: 'admin', json: () => ({ user: 'zed' }) },
  'GET /api/v1/tokens': { access: 'admin' },
  'DELETE /api/v1/tokens/{id}': { access: 'admin', path: '/api/v1/tokens/999999' },
  'POST /api/v1/policies': { access: 'admin', json: () => ({ name: `p-${randomUUID()}`, image: 'win' }) },
  'GET /api/v1/policies': { access: 'admin' },
  'GET /api/v1/policies/{name}': { access: 'admin', path: '/api/v1/policies/nope' },
  'PATCH /api/v1/policies/{name}': { access: 'admin', path: '/api/v1/policies/nope', json: () => ({ priority: 1 }) },
  'DELETE /api/v1/policies/{name}': { access: 'admin', path: '/api/v1/policies/nope' },
  'POST /api/v1/assignments': { access: 'admin', json: () => ({ policy: 'nope', user: 'zed' }) },
  'GET /api/v1/assignments': { access: 'admin' },
  'DELETE /api/v1/assignments': { access: 'admin', json: () => ({ policy: 'nope', user: 'zed' }) },
  'GET /api/v1/me': { access: 'any' },
  'GET /api/v1/me/workspaces': { access: 'any' },
  'POST /api/v1/images': { access: 'admin', json: () => ({ name: `img-${randomUUID().slice(0, 8)}` }) },
  'GET /api/v1/images': { access: 'any' },
  'GET /api/v1/images/{name}': { access: 'assigned', path: '/api/v1/images/win' },
  'POST /api/v1/images/{name}/versions': { access: 'admin', path: '/api/v1/images/nope/versions', body: 'x', headers: () => ({ 'content-type': 'application/octet-stream' }) },
  'GET /api/v1/images/{name}/versions': { access: 'assigned', path: '/api/v1/images/win/versions' },
  'POST /api/v1/images/{name}/versions/{n}/publish': { access: 'admin', path: '/api/v1/images/win/versions/99/publish' },
  'POST /api/v1/images/{name}/versions/{n}/retire': { access: 'admin', path: '/api/v1/images/win/versions/99/retire' },
  'DELETE /api/v1/images/{name}/versions/{n}': { access: 'admin', path: '/api/v1/images/win/versions/99' },
  'POST /api/v1/images/{name}/rollback': { access: 'admin', path: '/api/v1/images/win/rollback', json: () => ({ to: 99 }) },
  'PUT /api/v1/images/{name}/versions/{n}/boot-profile': { access: 'admin', path: '/api/v1/images/win/versions/99/boot-profile', json: () => ({ chunks: ['0'.repeat(64)] }) },
  'GET /api/v1/images/{name}/versions/{n}/boot-profile': { access: 'admin', path: '/api/v1/images/win/versions/1/boot-profile' },
  'GET /api/v1/images/{name}/versions/{n}/boot-profile/state': { access: 'assigned', path: '/api/v1/images/win/versions/99/boot-profile/state' },
  'POST /api/v1/images/{name}/versions/{n}/boot-profile/candidates': { access: 'assigned', path: '/api/v1/images/win/versions/99/boot-profile/candidates', json: () => ({ clientId: alicePeer, chunks: ['0'.repeat(64)], end: 'agent', durationMs: 1 }) },
  'GET /api/v1/images/{name}/versions/{n}/boot-profile/candidates': { access: 'admin', path: '/api/v1/images/win/versions/1/boot-profile/candidates' },
  'DELETE /api/v1/images/{name}/versions/{n}/boot-profile/candidates': { access: 'admin', path: '/api/v1/images/win/versions/99/boot-profile/candidates' },
  'GET /api/v1/images/{name}/versions/{n}/manifest': { access: 'assigned', path: '/api/v1/images/win/versions/1/manifest' },
  'GET /api/v1/repository': { access: 'any' },
  'POST /api/v1/gc': { access: 'admin' },
  // each identity announces its own node (a proven announce of alice's id would take it over)
  'POST /api/v1/swarm/announce': { access: 'assigned', json: async (who) => await withProof({ image: 'win', version, peerId: who === 'user' ? alicePeer : await newPeerId(), site: 's', addrs: [], ...haveOf(CHUNKS, [0]) }, Date.now()) },
  'POST /api/v1/swarm/leave': { access: 'assigned', json: () => ({ image: 'win', version, peerId: alicePeer }) },
  'POST /api/v1/events': { access: 'any', json: () => ({ events: [{ id: randomUUID(), type: 'session.started', at: Date.now(), payload: { image: 'win' } }] }), headers: () => ({ 'x-branchcast-client': `matrix-${randomUUID()}` }) },
  'GET /api/v1/events': { access: 'admin' },
  'GET /api/v1/clients': { access: 'admin' },
  'GET /api/v1/clients/{id}': { access: 'admin', path: '/api/v1/clients/nope' },
  'GET /api/v1/reports/{name}': { access: 'admin', path: '/api/v1/reports/status' },
  'POST /api/v1/images/{name}/origin-token': { access: 'assigned', path: '/api/v1/images/win/origin-token', json: () => ({ clientId: alicePeer }) }
}

const IDENTITIES: Identity[] = [
  { name: 'anonymous', token: () => undefined, invalid: true },
  { name: 'expired', token: () => tokens.expired, invalid: true },
  { name: 'revoked', token: () => tokens.revoked, invalid: true },
  { name: 'other user', token: () => tokens.bob },
  { name: 'user', token: () => tokens.alice, assigned: true },
  { name: 'read-only admin', token: () => tokens.readonly, readOnlyAdmin: true },
  { name: 'admin', token: () => t.adminToken, admin: true, assigned: true }
]

function expected (method: string, rule: Rule, who: Identity): 'allow' | 401 | 403 {
  if (who.invalid === true) return 401
  if (who.readOnlyAdmin === true) return method === 'GET' ? 'allow' : 403
  if (who.admin === true) return 'allow'
  if (rule.access === 'admin') return 403
  if (rule.access === 'assigned' && who.assigned !== true) return 403
  return 'allow'
}

test.before(async () => {
  t = await startTestTracker()
  const { store } = t.tracker.components
  version = (await publishFakeVersion(store, { image: 'win', chunkCount: CHUNKS, nowMs: Date.now() })).number
  await assignImage(store, { image: 'win', user: 'alice', nowMs: Date.now() })
  tokens.alice = await t.tokenFor('alice')
  tokens.bob = await t.tokenFor('bob')
  tokens.readonly = await t.tokenFor('auditor', { role: 'read-only-admin' })
  const nowMs = Date.now()
  tokens.expired = (await mintApiToken(store, { user: 'alice', groups: [], isAdmin: true, kind: 'user', label: 'expired', expiresAtMs: nowMs - 1000, nowMs: nowMs - 60_000 })).token
  const revoked = await mintApiToken(store, { user: 'alice', groups: [], isAdmin: true, kind: 'user', label: 'revoked', nowMs })
  await store.revokeToken(revoked.record.id, nowMs)
  tokens.revoked = revoked.token
  alicePeer = await newPeerId()
  // alice's node is registered, so leave and origin-token name her own peer id
  const r = await call(t.url, 'POST', '/api/v1/swarm/announce', { token: tokens.alice, json: await RULES['POST /api/v1/swarm/announce']!.json!('user') })
  assert.is(r.status, 200, JSON.stringify(r.body))
})
test.after(async () => { await t?.stop() })

test('every route in the OpenAPI document has a rule, and every rule a route', async () => {
  const doc = (await call(t.url, 'GET', '/api/v1/openapi.json', { token: t.adminToken })).body as { paths: Record<string, Record<string, unknown>> }
  const routes = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`))
  assert.equal(routes.filter((r) => RULES[r] === undefined), [], 'routes without a rule')
  assert.equal(Object.keys(RULES).filter((r) => !routes.includes(r)), [], 'rules without a route')
})

for (const [route, rule] of Object.entries(RULES)) {
  test(`${route} × ${IDENTITIES.map((i) => i.name).join(', ')}`, async () => {
    const [method, template] = route.split(' ') as [string, string]
    for (const who of IDENTITIES) {
      const json = rule.json === undefined ? undefined : await rule.json(who.name)
      const r = await call(t.url, method, rule.path ?? template, { token: who.token(), json, body: rule.body, headers: rule.headers?.() })
      const want = expected(method, rule, who)
      const what = `${route} as ${who.name}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`
      if (want === 'allow') {
        assert.ok(r.status !== 401 && r.status !== 403 && r.status < 500, what)
      } else {
        assert.is(r.status, want, what)
      }
    }
  })
}

test('capability tokens outlive a revocation by at most 10 minutes (finding 12)', async () => {
  const r = await call(t.url, 'POST', '/api/v1/images/win/origin-token', { token: tokens.alice, json: { clientId: alicePeer } })
  assert.is(r.status, 200)
  assert.ok(r.body.expiresAtMs - Date.now() <= 600_000, `origin token valid for ${r.body.expiresAtMs - Date.now()} ms`)
})

test.run()
