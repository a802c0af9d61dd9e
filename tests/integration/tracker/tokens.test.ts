// API tokens over real HTTP: who may call each route, expiry / revocation / forgery, the
// plaintext shown once, throttled last-use, and `branchcast token` as a child process.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { rm } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { startTestTracker } from '../../helpers/tracker.ts'
import type { TestTracker } from '../../helpers/tracker.ts'
import { makeTmpDir } from '../../helpers/tmp-dir.ts'
import { createLogger } from '../../../protocol/logger.ts'
import { API_TOKEN_PREFIX, hashApiToken } from '../../../tracker/identity/index.ts'

const BIN = fileURLToPath(new URL('../../../bin/branchcast.ts', import.meta.url))
const DAY = 86_400_000
const SQLI = "'; DROP TABLE api_tokens; --"

let clock = Date.UTC(2026, 10, 24, 12)
const logLines: string[] = []
let t: TestTracker
let userToken: string

async function call (method: string, path: string, token?: string, body?: unknown): Promise<{ status: number, json: any, text: string }> {
  const headers: Record<string, string> = {}
  if (token !== undefined) headers.authorization = `Bearer ${token}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(t.url + path, { method, headers, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) }).catch((err) => { throw new Error(`${method} ${path}: ${String(err.cause)}`) })
  const text = await res.text()
  let json: any
  try { json = JSON.parse(text) } catch {}
  return { status: res.status, json, text }
}

function cli (args: string[], env: Record<string, string> = {}): Promise<{ code: number, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr })
    })
  })
}

test.before(async () => {
  t = await startTestTracker({
    now: () => clock,
    logger: createLogger({ level: 'debug', write: (line) => { logLines.push(line) } }, 'tracker')
  })
  userToken = await t.tokenFor('alice', { groups: ['staff'] })
})
test.after(async () => { await t.stop() })

const ADMIN_ROUTES: Array<[string, string, unknown?]> = [
  ['POST', '/api/v1/tokens', { user: 'zed' }],
  ['GET', '/api/v1/tokens'],
  ['DELETE', '/api/v1/tokens/1']
]

for (const [method, path, body] of ADMIN_ROUTES) {
  test(`${method} ${path}: anonymous 401, user 403`, async () => {
    const anon = await call(method, path, undefined, body)
    assert.is(anon.status, 401)
    assert.is(anon.json.error.code, 'ERR_UNAUTHENTICATED')
    const user = await call(method, path, userToken, body)
    assert.is(user.status, 403)
    assert.is(user.json.error.code, 'ERR_FORBIDDEN')
    if (body !== undefined) assert.is((await call(method, path, userToken, '{malformed')).status, 403, 'users learn nothing from validation')
  })
}

test('GET /api/v1/me: anonymous 401; a user sees itself, groups and expiry', async () => {
  assert.is((await call('GET', '/api/v1/me')).status, 401)
  const expiring = await t.tokenFor('bob', { groups: ['staff', 'hr'], expiresAtMs: clock + DAY, kind: 'machine' })
  const me = await call('GET', '/api/v1/me', expiring)
  assert.is(me.status, 200)
  assert.is(me.json.user, 'bob')
  assert.equal(me.json.groups, ['staff', 'hr'])
  assert.is(me.json.admin, false)
  assert.is(me.json.kind, 'machine')
  assert.is(me.json.token.expiresAtMs, clock + DAY)
  const admin = await call('GET', '/api/v1/me', t.adminToken)
  assert.is(admin.json.admin, true)
  assert.is(admin.json.token.expiresAt, null)
})

test('admin issues a token: plaintext once, it works, listings never show it or its hash', async () => {
  const issued = await call('POST', '/api/v1/tokens', t.adminToken, { user: 'carol', groups: ['staff', 'staff', 'ops'], label: 'laptop', expiresIn: '30d' })
  assert.is(issued.status, 201)
  const token = issued.json.token as string
  assert.match(token, /^bct_[A-Za-z0-9_-]{43}$/)
  assert.equal(issued.json.groups, ['staff', 'ops'])
  assert.is(issued.json.expiresAt, new Date(clock + 30 * DAY).toISOString())
  assert.is(issued.json.status, 'active')
  const me = await call('GET', '/api/v1/me', token)
  assert.is(me.json.user, 'carol')
  assert.is(me.json.token.label, 'laptop')

  const list = await call('GET', '/api/v1/tokens', t.adminToken)
  assert.is(list.status, 200)
  assert.ok(list.json.tokens.some((x: { id: number }) => x.id === issued.json.id))
  for (const secret of [token, hashApiToken(token), t.adminToken, hashApiToken(t.adminToken)]) {
    assert.not.ok(list.text.includes(secret), 'listing leaks a token or hash')
  }
  for (const row of list.json.tokens) {
    assert.is(row.token, undefined)
    assert.is(row.tokenHash, undefined)
  }
  const filtered = await call('GET', '/api/v1/tokens?user=carol', t.adminToken)
  assert.equal(filtered.json.tokens.map((x: { user: string }) => x.user), ['carol'])
  assert.not.ok(logLines.some((l) => l.includes(token) || l.includes(hashApiToken(token))), 'a log line holds the token')
  assert.ok(logLines.some((l) => l.includes('token issued')), 'issuance is logged (without the token)')
})

test('an admin can issue admin and machine tokens', async () => {
  const issued = await call('POST', '/api/v1/tokens', t.adminToken, { user: 'ops-bot', admin: true, kind: 'machine', expiresAtMs: clock + DAY })
  assert.is(issued.status, 201)
  const me = await call('GET', '/api/v1/me', issued.json.token)
  assert.is(me.json.admin, true)
  assert.is(me.json.kind, 'machine')
  assert.is((await call('GET', '/api/v1/tokens', issued.json.token)).status, 200)
})

test('expired token → 401 from the instant of expiry', async () => {
  const token = await t.tokenFor('dave', { expiresAtMs: clock + 1000 })
  assert.is((await call('GET', '/api/v1/me', token)).status, 200)
  clock += 999
  assert.is((await call('GET', '/api/v1/me', token)).status, 200)
  clock += 1
  const r = await call('GET', '/api/v1/me', token)
  assert.is(r.status, 401)
  assert.is(r.json.error.code, 'ERR_UNAUTHENTICATED')
  const list = await call('GET', '/api/v1/tokens?user=dave', t.adminToken)
  assert.is(list.json.tokens[0].status, 'expired')
})

test('revoked token → 401; revoking is idempotent; unknown id → 404; bad id → 400', async () => {
  const issued = await call('POST', '/api/v1/tokens', t.adminToken, { user: 'erin' })
  assert.is((await call('GET', '/api/v1/me', issued.json.token)).status, 200)
  const revoked = await call('DELETE', `/api/v1/tokens/${issued.json.id as number}`, t.adminToken)
  assert.is(revoked.status, 200)
  assert.is(revoked.json.status, 'revoked')
  assert.is((await call('GET', '/api/v1/me', issued.json.token)).status, 401)
  const again = await call('DELETE', `/api/v1/tokens/${issued.json.id as number}`, t.adminToken)
  assert.is(again.status, 200)
  assert.is(again.json.revokedAt, revoked.json.revokedAt)
  assert.is((await call('DELETE', '/api/v1/tokens/999999', t.adminToken)).status, 404)
  const bad = await call('DELETE', '/api/v1/tokens/abc', t.adminToken)
  assert.is(bad.status, 400)
  assert.match(bad.json.error.message, /^id/)
})

test('forged and malformed credentials → 401', async () => {
  const cases: Array<[string, Record<string, string>]> = [
    ['forged, right shape', { authorization: `Bearer ${API_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}` }],
    ['admin token with one character changed', { authorization: `Bearer ${t.adminToken.slice(0, -1)}${t.adminToken.endsWith('A') ? 'B' : 'A'}` }],
    ['wrong shape', { authorization: 'Bearer bct_short' }],
    ['hash instead of token', { authorization: `Bearer ${hashApiToken(t.adminToken)}` }],
    ['empty bearer', { authorization: 'Bearer ' }],
    ['basic scheme', { authorization: `Basic ${Buffer.from(`admin:${t.adminToken}`).toString('base64')}` }],
    ['token in a query-ish header', { 'x-api-token': t.adminToken }]
  ]
  for (const [what, headers] of cases) {
    const res = await fetch(`${t.url}/api/v1/me`, { headers })
    assert.is(res.status, 401, what)
    assert.is(((await res.json()) as { error: { code: string } }).error.code, 'ERR_UNAUTHENTICATED', what)
  }
})

test('malformed token requests → 400 naming the field; oversized → 413', async () => {
  const cases: Array<[unknown, RegExp]> = [
    [{}, /^user/],
    [{ user: '' }, /^user/],
    [{ user: 'a/b' }, /^user/],
    [{ user: 'x'.repeat(201) }, /^user/],
    [{ user: 'x', groups: 'staff' }, /^groups/],
    [{ user: 'x', groups: [''] }, /^groups\.0/],
    [{ user: 'x', admin: 'yes' }, /^admin/],
    [{ user: 'x', kind: 'robot' }, /^kind/],
    [{ user: 'x', expiresIn: 'soon' }, /^expiresIn/],
    [{ user: 'x', expiresIn: '1d', expiresAtMs: clock + DAY }, /^expiresIn/],
    [{ user: 'x', expiresAtMs: clock - 1 }, /^expiresAtMs/],
    [{ user: 'x', expiresIn: '99999d' }, /^expiresIn/],
    [{ user: 'x', isAdmin: true }, /isAdmin/],
    ['{"user": "x"', /^body/],
    ['[1,2]', /./]
  ]
  for (const [body, field] of cases) {
    const r = await call('POST', '/api/v1/tokens', t.adminToken, body)
    assert.is(r.status, 400, JSON.stringify(body))
    assert.is(r.json.error.code, 'ERR_BAD_REQUEST')
    assert.match(r.json.error.message, field, `${JSON.stringify(body)} → ${r.json.error.message as string}`)
  }
  const big = await call('POST', '/api/v1/tokens', t.adminToken, { user: 'x', label: 'y'.repeat(300 * 1024) })
  assert.is(big.status, 413)
})

test('SQL metacharacters in user names and filters are data', async () => {
  const issued = await call('POST', '/api/v1/tokens', t.adminToken, { user: SQLI, groups: ["' OR '1'='1"] })
  assert.is(issued.status, 201)
  const me = await call('GET', '/api/v1/me', issued.json.token)
  assert.is(me.json.user, SQLI)
  assert.equal(me.json.groups, ["' OR '1'='1"])
  const filtered = await call('GET', `/api/v1/tokens?user=${encodeURIComponent(SQLI)}`, t.adminToken)
  assert.equal(filtered.json.tokens.map((x: { user: string }) => x.user), [SQLI])
  const none = await call('GET', `/api/v1/tokens?user=${encodeURIComponent("' OR 1=1 --")}`, t.adminToken)
  assert.equal(none.json.tokens, [])
  assert.ok((await call('GET', '/api/v1/tokens', t.adminToken)).json.tokens.length > 3, 'table still there')
})

test('last use is recorded at most once a minute per token', async () => {
  const token = await t.tokenFor('frank')
  const lastUsed = async (): Promise<string | null> => (await call('GET', '/api/v1/tokens?user=frank', t.adminToken)).json.tokens[0].lastUsedAt
  assert.is(await lastUsed(), null)
  const first = clock
  await call('GET', '/api/v1/me', token)
  assert.is(await lastUsed(), new Date(first).toISOString())
  clock += 59_999
  await call('GET', '/api/v1/me', token)
  assert.is(await lastUsed(), new Date(first).toISOString())
  clock += 1
  await call('GET', '/api/v1/me', token)
  assert.is(await lastUsed(), new Date(clock).toISOString())
})

test('`branchcast token create` on a data dir makes the first admin token; list and revoke work locally', async () => {
  const dataDir = await makeTmpDir('branchcast-token-cli-')
  try {
    const created = await cli(['token', 'create', '--user', 'root', '--admin', '--group', 'it', '--label', 'first', '--expires', '30d', '--data', dataDir])
    assert.is(created.code, 0, created.stderr)
    const token = created.stdout.trim()
    assert.match(token, /^bct_[A-Za-z0-9_-]{43}$/, 'only the token on stdout')
    assert.is(created.stdout, `${token}\n`)

    const json = await cli(['token', 'create', '--user', 'node-1', '--machine', '--json'], { BRANCHCAST_DATA: dataDir })
    assert.is(json.code, 0, json.stderr)
    const machine = JSON.parse(json.stdout)
    assert.is(machine.kind, 'machine')
    assert.match(machine.token, /^bct_/)

    const tracker = await startTestTracker({ config: { dataDir } })
    try {
      const me = await fetch(`${tracker.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } })
      assert.is(me.status, 200)
      const body = await me.json() as { user: string, admin: boolean, groups: string[] }
      assert.is(body.user, 'root')
      assert.is(body.admin, true)
      assert.equal(body.groups, ['it'])

      // over the API with the printed token
      const viaApi = await cli(['token', 'create', '--tracker', tracker.url, '--token', token, '--user', 'gina', '--json'])
      assert.is(viaApi.code, 0, viaApi.stderr)
      const gina = JSON.parse(viaApi.stdout)
      assert.is(gina.user, 'gina')

      // BRANCHCAST_TRACKER in the environment means that tracker's API, as for every command
      // (the README's tour): the token works there, not in some database on this host
      const viaEnv = await cli(['token', 'create', '--token', token, '--user', 'hana'], { BRANCHCAST_TRACKER: tracker.url })
      assert.is(viaEnv.code, 0, viaEnv.stderr)
      const hana = await fetch(`${tracker.url}/api/v1/me`, { headers: { authorization: `Bearer ${viaEnv.stdout.trim()}` } })
      assert.is(hana.status, 200, 'a token made with BRANCHCAST_TRACKER set authenticates at that tracker')
      // an admin token with no tracker URL would be ignored by the local backend: refused
      const stray = await cli(['token', 'create', '--token', token, '--user', 'ivy', '--data', dataDir])
      assert.is(stray.code, 1)
      assert.match(stray.stderr, /--token is for a tracker's API/)

      // a read-only admin token: reads like an admin, every write refused
      const ro = await cli(['token', 'create', '--tracker', tracker.url, '--token', token, '--user', 'auditor', '--read-only-admin', '--json'])
      assert.is(ro.code, 0, ro.stderr)
      const auditor = JSON.parse(ro.stdout)
      assert.equal([auditor.role, auditor.admin], ['read-only-admin', true])
      const asAuditor = ['--tracker', tracker.url, '--token', auditor.token as string]
      assert.is((await cli(['token', 'list', '--json', ...asAuditor])).code, 0)
      const refused = await cli(['token', 'create', '--user', 'x', ...asAuditor])
      assert.is(refused.code, 1)
      assert.match(refused.stderr, /ERR_FORBIDDEN: read-only admin/)
      const both = await cli(['token', 'create', '--user', 'x', '--admin', '--read-only-admin', ...asAuditor])
      assert.match(both.stderr, /not both/)

      // local list (while the tracker runs on the same database), then revoke
      const list = await cli(['token', 'list', '--json', '--data', dataDir])
      assert.is(list.code, 0, list.stderr)
      const rows = JSON.parse(list.stdout) as Array<{ id: number, user: string }>
      assert.ok(['root', 'node-1', 'gina'].every((u) => rows.some((r) => r.user === u)))
      assert.not.ok(list.stdout.includes(token), 'list shows no plaintext')
      const machineRow = rows.find((r) => r.user === 'node-1')!
      const revoked = await cli(['token', 'revoke', String(machineRow.id), '--data', dataDir])
      assert.is(revoked.code, 0, revoked.stderr)
      assert.is((await fetch(`${tracker.url}/api/v1/me`, { headers: { authorization: `Bearer ${machine.token as string}` } })).status, 401)
    } finally {
      await tracker.stop()
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true })
  }
})

test.run()
