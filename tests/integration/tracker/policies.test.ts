// Policies, assignments and /me/workspaces over real HTTP: who may call each route, every
// field validated, names as literal data, and the workspace each caller resolves to.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createHash } from 'node:crypto'
import { startTestTracker } from '../../helpers/tracker.ts'
import type { TestTracker } from '../../helpers/tracker.ts'

const BIN = fileURLToPath(new URL('../../../bin/branchcast.ts', import.meta.url))
const SQLI = "'; DROP TABLE policies; --"
let clock = Date.UTC(2026, 10, 24, 12)
let t: TestTracker
let alice: string
let bob: string
let carol: string

async function call (method: string, path: string, token?: string, body?: unknown): Promise<{ status: number, json: any }> {
  const headers: Record<string, string> = {}
  if (token !== undefined) headers.authorization = `Bearer ${token}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(t.url + path, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) })
  const text = await res.text()
  let json: any
  try { json = JSON.parse(text) } catch {}
  return { status: res.status, json }
}
const admin = async (method: string, path: string, body?: unknown): Promise<{ status: number, json: any }> => await call(method, path, t.adminToken, body)
const p = (name: string): string => `/api/v1/policies/${encodeURIComponent(name)}`

/** A published version straight in the store (the repository's own tests cover publishing). */
async function publishVersion (image: string): Promise<{ number: number, manifestId: string }> {
  const { store } = t.tracker.components
  const img = await store.getImage(image) ?? await store.createImage({ name: image, nowMs: clock })
  const draft = await store.createDraft({ imageId: img.id, createdBy: 'test', nowMs: clock })
  const root = new TextEncoder().encode(`${image}#${draft.number}`)
  const manifestId = createHash('sha256').update(root).digest('hex')
  await store.finalizeDraft(draft.id, { manifestRoot: root, manifestId, totalBytes: 0, chunkCount: 0, newBytes: 0 })
  await store.publish(draft.id, clock)
  return { number: draft.number, manifestId }
}

function cli (args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, BRANCHCAST_TRACKER: t.url, BRANCHCAST_TOKEN: t.adminToken }, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr })
    })
  })
}

test.before(async () => {
  t = await startTestTracker({ now: () => clock })
  alice = await t.tokenFor('alice', { groups: ['staff'] })
  bob = await t.tokenFor('bob', { groups: ['staff', 'finance'] })
  carol = await t.tokenFor('carol')
  assert.is((await admin('POST', '/api/v1/policies', { name: 'matrix', image: 'matrix-img' })).status, 201)
})
test.after(async () => { await t.stop() })

// every admin route: [method, path, body, admin's expected status]
const ADMIN_ROUTES: Array<[string, string, unknown, number]> = [
  ['POST', '/api/v1/policies', { name: 'matrix-2', image: 'x' }, 201],
  ['GET', '/api/v1/policies', undefined, 200],
  ['GET', '/api/v1/policies/matrix', undefined, 200],
  ['PATCH', '/api/v1/policies/matrix', { priority: 1 }, 200],
  ['POST', '/api/v1/assignments', { policy: 'matrix', user: 'zed' }, 201],
  ['GET', '/api/v1/assignments', undefined, 200],
  ['DELETE', '/api/v1/assignments?policy=matrix&user=zed', undefined, 200],
  ['DELETE', '/api/v1/policies/matrix-2', undefined, 200]
]
test('every admin route: anonymous 401, user 403 (nothing changed), admin 2xx', async () => {
  for (const [method, path, body, ok] of ADMIN_ROUTES) {
    const anon = await call(method, path, undefined, body)
    assert.is(anon.status, 401, `${method} ${path} anonymous`)
    assert.is(anon.json.error.code, 'ERR_UNAUTHENTICATED')
    const user = await call(method, path, alice, body)
    assert.is(user.status, 403, `${method} ${path} user`)
    assert.is(user.json.error.code, 'ERR_FORBIDDEN')
    if (body !== undefined) assert.is((await call(method, path, alice, { nonsense: true })).status, 403, `${method} ${path} user, bad body`)
    const adm = await admin(method, path, body)
    assert.is(adm.status, ok, `${method} ${path} admin: ${JSON.stringify(adm.json)}`)
  }
  for (const path of ['/api/v1/me', '/api/v1/me/workspaces']) {
    assert.is((await call('GET', path)).status, 401, path)
    assert.is((await call('GET', path, carol)).status, 200, path)
  }
})

test('create with every field; show, update, rename and delete round-trip', async () => {
  const body = {
    name: 'finance-desktop',
    image: 'win11-finance',
    pinnedVersion: 3,
    expiresAt: '2027-03-31T18:00:00+02:00',
    offlineGraceSeconds: 3 * 86400,
    p2pAllowed: false,
    originRateBytesPerSec: 10_000_000,
    downloadWindow: '22:00-06:00',
    vmMemoryMb: 4096,
    vmCpus: 4,
    publishedApps: [{ name: 'Ledger', command: 'C:\\Apps\\ledger.exe /fast', icon: 'C:\\Apps\\ledger.ico' }, { name: 'Calc', command: 'calc.exe' }],
    startup: { mode: 'auto', fullscreen: true },
    priority: 10
  }
  const created = await admin('POST', '/api/v1/policies', body)
  assert.is(created.status, 201, JSON.stringify(created.json))
  const expected = {
    name: 'finance-desktop',
    image: 'win11-finance',
    channel: 'pinned',
    pinnedVersion: 3,
    expiresAt: '2027-03-31T16:00:00.000Z',
    expiresAtMs: Date.UTC(2027, 2, 31, 16),
    offlineGraceSeconds: 3 * 86400,
    p2pAllowed: false,
    originRateBytesPerSec: 10_000_000,
    downloadWindow: { startMinute: 1320, endMinute: 360, text: '22:00-06:00' },
    vmMemoryMb: 4096,
    vmCpus: 4,
    publishedApps: body.publishedApps,
    startup: { mode: 'auto', fullscreen: true },
    priority: 10
  }
  for (const [k, v] of Object.entries(expected)) assert.equal(created.json[k], v, k)

  const shown = await admin('GET', p('finance-desktop'))
  assert.is(shown.status, 200)
  for (const [k, v] of Object.entries(expected)) assert.equal(shown.json[k], v, k)
  assert.equal(shown.json.assignments, [])

  const patched = await admin('PATCH', p('finance-desktop'), { channel: 'latest', downloadWindow: { startMinute: 60, endMinute: 120 }, expiresAt: null, originRateBytesPerSec: null })
  assert.is(patched.status, 200)
  assert.is(patched.json.channel, 'latest')
  assert.is(patched.json.pinnedVersion, null)
  assert.equal(patched.json.downloadWindow, { startMinute: 60, endMinute: 120, text: '01:00-02:00' })
  assert.is(patched.json.expiresAt, null)
  assert.is(patched.json.originRateBytesPerSec, null)
  assert.is(patched.json.vmCpus, 4, 'fields not named are kept')

  const renamed = await admin('PATCH', p('finance-desktop'), { name: 'finance' })
  assert.is(renamed.json.name, 'finance')
  assert.is((await admin('GET', p('finance-desktop'))).status, 404)

  const defaults = await admin('POST', '/api/v1/policies', { name: 'defaults', image: 'win11-finance', expiresAt: Date.UTC(2027, 0, 1) })
  assert.is(defaults.json.channel, 'latest')
  assert.is(defaults.json.expiresAt, '2027-01-01T00:00:00.000Z')
  assert.is(defaults.json.p2pAllowed, true)
  const dateOnly = await admin('PATCH', p('defaults'), { expiresAt: '2027-02-01' })
  assert.is(dateOnly.json.expiresAt, '2027-02-01T00:00:00.000Z')

  const listed = await admin('GET', '/api/v1/policies?image=win11-finance')
  assert.equal(listed.json.policies.map((x: { name: string }) => x.name), ['defaults', 'finance'])

  assert.equal((await admin('DELETE', p('finance'))).json, { deleted: 'finance' })
  assert.equal((await admin('DELETE', p('defaults'))).json, { deleted: 'defaults' })
  assert.is((await admin('GET', p('finance'))).status, 404)
})

test('unknown policy → 404 on every route naming one; duplicate name → 409', async () => {
  for (const [method, path, body] of [
    ['GET', p('nope'), undefined],
    ['PATCH', p('nope'), { priority: 1 }],
    ['DELETE', p('nope'), undefined],
    ['POST', '/api/v1/assignments', { policy: 'nope', user: 'alice' }],
    ['DELETE', '/api/v1/assignments?policy=nope&user=alice', undefined]
  ] as const) {
    const r = await admin(method, path, body)
    assert.is(r.status, 404, `${method} ${path}`)
    assert.is(r.json.error.code, 'ERR_NOT_FOUND')
  }
  assert.is((await admin('POST', '/api/v1/policies', { name: 'dup', image: 'a' })).status, 201)
  const dup = await admin('POST', '/api/v1/policies', { name: 'dup', image: 'b' })
  assert.is(dup.status, 409)
  assert.is(dup.json.error.code, 'ERR_CONFLICT')
  assert.is((await admin('POST', '/api/v1/policies', { name: 'dup-2', image: 'a' })).status, 201)
  assert.is((await admin('PATCH', p('dup-2'), { name: 'dup' })).status, 409, 'rename onto a taken name')
  assert.is((await admin('POST', '/api/v1/assignments', { policy: 'dup', group: 'staff' })).status, 201)
  assert.is((await admin('POST', '/api/v1/assignments', { policy: 'dup', group: 'staff' })).status, 409, 'assigned twice')
  assert.is((await admin('DELETE', '/api/v1/assignments?policy=dup&group=staff')).status, 200)
  assert.is((await admin('DELETE', '/api/v1/assignments?policy=dup&group=staff')).status, 404, 'not assigned any more')
  await admin('DELETE', p('dup'))
  await admin('DELETE', p('dup-2'))
})

test('malformed bodies → 400 naming the field', async () => {
  const base = { name: 'bad', image: 'img' }
  const apps = (n: number): unknown[] => Array.from({ length: n }, (_, i) => ({ name: `app${i}`, command: 'x' }))
  const cases: Array<[unknown, RegExp]> = [
    [{ image: 'img' }, /^name/],
    [{ name: 'bad' }, /^image/],
    [{ ...base, name: '' }, /^name/],
    [{ ...base, name: 'a/b' }, /^name/],
    [{ ...base, name: 'x'.repeat(201) }, /^name/],
    [{ ...base, image: 'tab\there' }, /^image/],
    [{ ...base, pinnedVersion: 0 }, /^pinnedVersion/],
    [{ ...base, pinnedVersion: '3' }, /^pinnedVersion/],
    [{ ...base, channel: 'beta' }, /^channel/],
    [{ ...base, channel: 'latest', pinnedVersion: 2 }, /^channel/],
    [{ ...base, expiresAt: 'tomorrow' }, /^expiresAt/],
    [{ ...base, expiresAt: '2027-13-01' }, /^expiresAt/],
    [{ ...base, expiresAt: -5 }, /^expiresAt/],
    [{ ...base, offlineGraceSeconds: -1 }, /^offlineGraceSeconds/],
    [{ ...base, offlineGraceSeconds: 10 ** 9 }, /^offlineGraceSeconds/],
    [{ ...base, p2pAllowed: 'no' }, /^p2pAllowed/],
    [{ ...base, originRateBytesPerSec: 0 }, /^originRateBytesPerSec/],
    [{ ...base, originRateBytesPerSec: 1.5 }, /^originRateBytesPerSec/],
    [{ ...base, downloadWindow: '25:00-06:00' }, /^downloadWindow/],
    [{ ...base, downloadWindow: '08:00-08:00' }, /^downloadWindow/],
    [{ ...base, downloadWindow: { startMinute: 0, endMinute: 1440 } }, /^downloadWindow/],
    [{ ...base, downloadWindow: { startMinute: 5, endMinute: 5 } }, /^downloadWindow/],
    [{ ...base, vmMemoryMb: 1 }, /^vmMemoryMb/],
    [{ ...base, vmCpus: 0 }, /^vmCpus/],
    [{ ...base, vmCpus: 1000 }, /^vmCpus/],
    [{ ...base, publishedApps: apps(33) }, /^publishedApps/],
    [{ ...base, publishedApps: [{ name: 'a' }] }, /^publishedApps\.0\.command/],
    [{ ...base, publishedApps: [{ name: 'x'.repeat(101), command: 'c' }] }, /^publishedApps\.0\.name/],
    [{ ...base, publishedApps: [{ name: 'a', command: 'c'.repeat(2049) }] }, /^publishedApps\.0\.command/],
    [{ ...base, publishedApps: [{ name: 'a', command: 'c', extra: 1 }] }, /^publishedApps\.0/],
    [{ ...base, publishedApps: [{ name: 'a', command: 'c' }, { name: 'a', command: 'd' }] }, /^publishedApps/],
    [{ ...base, startup: { mode: 'sometimes' } }, /^startup\.mode/],
    [{ ...base, startup: 'auto' }, /^startup/],
    [{ ...base, priority: 1.5 }, /^priority/],
    [{ ...base, priority: 10 ** 7 }, /^priority/],
    [{ ...base, imageName: 'typo' }, /imageName/],
    ['{"name": ', /^body/],
    ['null', /./]
  ]
  for (const [body, field] of cases) {
    const r = await admin('POST', '/api/v1/policies', body)
    assert.is(r.status, 400, JSON.stringify(body).slice(0, 100))
    assert.is(r.json.error.code, 'ERR_BAD_REQUEST')
    assert.match(r.json.error.message, field, `${JSON.stringify(body).slice(0, 100)} → ${r.json.error.message as string}`)
  }
  assert.is((await admin('GET', p('bad'))).status, 404, 'nothing half-created')
  const assignCases: Array<[unknown, RegExp]> = [
    [{ policy: 'matrix' }, /^user/],
    [{ policy: 'matrix', user: 'a', group: 'b' }, /^user/],
    [{ user: 'a' }, /^policy/],
    [{ policy: 'matrix', user: '' }, /^user/],
    [{ policy: 'matrix', group: 'x'.repeat(201) }, /^group/],
    [{ policy: 'matrix', role: 'admin' }, /role/]
  ]
  for (const [body, field] of assignCases) {
    const r = await admin('POST', '/api/v1/assignments', body)
    assert.is(r.status, 400, JSON.stringify(body))
    assert.match(r.json.error.message, field, `${JSON.stringify(body)} → ${r.json.error.message as string}`)
  }
  const big = await admin('POST', '/api/v1/policies', { ...base, publishedApps: [{ name: 'a', command: 'c'.repeat(300 * 1024) }] })
  assert.is(big.status, 413)
})

test('SQL metacharacters in names and filters are stored and returned literally', async () => {
  const created = await admin('POST', '/api/v1/policies', { name: SQLI, image: "img' OR '1'='1" })
  assert.is(created.status, 201)
  assert.is(created.json.name, SQLI)
  const shown = await admin('GET', p(SQLI))
  assert.is(shown.status, 200)
  assert.is(shown.json.image, "img' OR '1'='1")
  assert.is((await admin('POST', '/api/v1/assignments', { policy: SQLI, user: "bob'; --" })).status, 201)
  const byUser = await admin('GET', `/api/v1/assignments?user=${encodeURIComponent("bob'; --")}`)
  assert.equal(byUser.json.assignments.map((a: { policy: string, subject: string }) => [a.policy, a.subject]), [[SQLI, "bob'; --"]])
  for (const filter of ["' OR 1=1 --", "x' UNION SELECT * FROM api_tokens --"]) {
    assert.equal((await admin('GET', `/api/v1/policies?image=${encodeURIComponent(filter)}`)).json.policies, [])
    assert.equal((await admin('GET', `/api/v1/assignments?user=${encodeURIComponent(filter)}`)).json.assignments, [])
    assert.equal((await admin('GET', `/api/v1/assignments?policy=${encodeURIComponent(filter)}`)).json.assignments, [])
  }
  const byImage = await admin('GET', `/api/v1/policies?image=${encodeURIComponent("img' OR '1'='1")}`)
  assert.equal(byImage.json.policies.map((x: { name: string }) => x.name), [SQLI])
  assert.ok((await admin('GET', '/api/v1/policies')).json.policies.length >= 2, 'policies table intact')
  assert.is((await admin('DELETE', p(SQLI))).status, 200)
  assert.equal((await admin('GET', `/api/v1/assignments?user=${encodeURIComponent("bob'; --")}`)).json.assignments, [], 'assignments went with the policy')
})

test('/me/workspaces: own and group assignments only, precedence, versions and expiry', async () => {
  const v1 = await publishVersion('ws-win')
  const v2 = await publishVersion('ws-win')
  const lin = await publishVersion('ws-linux')
  const create = async (body: Record<string, unknown>): Promise<void> => { assert.is((await admin('POST', '/api/v1/policies', body)).status, 201, JSON.stringify(body)) }
  const assign = async (body: Record<string, unknown>): Promise<void> => { assert.is((await admin('POST', '/api/v1/assignments', body)).status, 201, JSON.stringify(body)) }
  await create({ name: 'ws-staff-win', image: 'ws-win' })
  await create({ name: 'ws-bob-win', image: 'ws-win', pinnedVersion: v1.number, vmCpus: 1 })
  await create({ name: 'ws-alice-linux', image: 'ws-linux', expiresAt: clock - 1 })
  await create({ name: 'ws-finance-win', image: 'ws-win', priority: 5, pinnedVersion: 999 })
  await create({ name: 'ws-unpublished', image: 'ws-none' })
  await assign({ policy: 'ws-staff-win', group: 'staff' })
  await assign({ policy: 'ws-bob-win', user: 'bob' })
  await assign({ policy: 'ws-alice-linux', user: 'alice' })
  await assign({ policy: 'ws-unpublished', user: 'alice' })

  const ws = async (token: string): Promise<any[]> => {
    const r = await call('GET', '/api/v1/me/workspaces', token)
    assert.is(r.status, 200)
    return r.json.workspaces
  }
  // alice: the group policy (latest published) and her own expired one; never bob's
  const a = await ws(alice)
  assert.equal(a.map((w) => [w.image, w.policy.name, w.via.kind, w.version, w.manifestId, w.expired]), [
    ['ws-linux', 'ws-alice-linux', 'user', lin.number, lin.manifestId, true],
    ['ws-none', 'ws-unpublished', 'user', null, null, false],
    ['ws-win', 'ws-staff-win', 'group', v2.number, v2.manifestId, false]
  ])
  assert.not.ok(JSON.stringify(a).includes('ws-bob-win'), "alice sees nothing of bob's")
  // bob: his user assignment beats the group one at equal priority; pinned version 1
  let b = await ws(bob)
  assert.equal(b.map((w) => [w.image, w.policy.name, w.via, w.version, w.manifestId]), [['ws-win', 'ws-bob-win', { kind: 'user', subject: 'bob' }, v1.number, v1.manifestId]])
  assert.is(b[0].policy.vmCpus, 1)
  // a higher-priority group policy wins over his user assignment; its pinned version does not exist
  await assign({ policy: 'ws-finance-win', group: 'finance' })
  b = await ws(bob)
  assert.equal(b.map((w) => [w.policy.name, w.via, w.version, w.manifestId]), [['ws-finance-win', { kind: 'group', subject: 'finance' }, null, null]])
  // carol has nothing assigned; admins get only what is assigned to them
  assert.equal(await ws(carol), [])
  assert.equal(await ws(t.adminToken), [])
  // a retired pinned version no longer resolves
  await admin('DELETE', '/api/v1/assignments?policy=ws-finance-win&group=finance')
  const { store } = t.tracker.components
  const img = await store.getImage('ws-win')
  await store.retire((await store.getVersion(img!.id, v1.number))!.id, clock)
  b = await ws(bob)
  assert.equal(b.map((w) => [w.policy.name, w.version]), [['ws-bob-win', null]])
})

test('CLI: policies create|show|update|delete, assign, unassign, with --json', async () => {
  const created = await cli(['policies', 'create', 'cli-pol', '--image', 'cli-img', '--version', '2', '--expires', '2027-01-31', '--offline-grace', '7d',
    '--no-p2p', '--origin-rate', '10MB/s', '--window', '22:00-06:00', '--memory', '2048', '--cpus', '2',
    '--app', 'Word=winword.exe,word.ico', '--app', 'Calc=calc.exe', '--startup', 'auto', '--priority', '3', '--json'])
  assert.is(created.code, 0, created.stderr)
  const pol = JSON.parse(created.stdout)
  assert.equal([pol.pinnedVersion, pol.expiresAt, pol.offlineGraceSeconds, pol.p2pAllowed, pol.originRateBytesPerSec, pol.downloadWindow.text, pol.vmMemoryMb, pol.vmCpus, pol.startup.mode, pol.priority],
    [2, '2027-01-31T00:00:00.000Z', 7 * 86400, false, 10_000_000, '22:00-06:00', 2048, 2, 'auto', 3])
  assert.equal(pol.publishedApps, [{ name: 'Word', command: 'winword.exe', icon: 'word.ico' }, { name: 'Calc', command: 'calc.exe' }])

  const assigned = await cli(['assign', '--policy', 'cli-pol', '--group', 'staff'])
  assert.is(assigned.code, 0, assigned.stderr)
  const shown = await cli(['policies', 'show', 'cli-pol'])
  assert.is(shown.code, 0, shown.stderr)
  assert.match(shown.stdout, /assigned to\s+group staff/)
  assert.match(shown.stdout, /window\s+22:00-06:00/)

  const updated = await cli(['policies', 'update', 'cli-pol', '--version', 'latest', '--json'])
  assert.is(JSON.parse(updated.stdout).channel, 'latest')

  const ws = await call('GET', '/api/v1/me/workspaces', alice)
  assert.ok(ws.json.workspaces.some((w: { policy: { name: string } }) => w.policy.name === 'cli-pol'), 'group assignment from the CLI applies')

  assert.is((await cli(['unassign', '--policy', 'cli-pol', '--group', 'staff'])).code, 0)
  const dup = await cli(['policies', 'create', 'cli-pol', '--image', 'cli-img'])
  assert.is(dup.code, 1)
  assert.match(dup.stderr, /ERR_CONFLICT/)
  assert.is((await cli(['policies', 'delete', 'cli-pol'])).code, 0)
  assert.is((await admin('GET', p('cli-pol'))).status, 404)
})

test.run()
