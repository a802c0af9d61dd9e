// Reports against hand-counted fixtures: a small fixed event set from three nodes in two
// sites over two days, posted over real HTTP, and for each report the table worked out
// by hand (in the comments) compared with what the tracker answers, as JSON and as CSV.
import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestTracker } from '../../helpers/tracker.ts'
import type { TestTracker } from '../../helpers/tracker.ts'
import { call, publishFakeVersion } from '../../helpers/tracker-swarm.ts'

const DAY = 86_400_000
const HOUR = 3_600_000
const D0 = Date.UTC(2027, 0, 15) // 2027-01-15T00:00:00Z
const D1 = D0 + DAY
const V1_PUBLISHED = D0 - 10 * DAY
const V2_PUBLISHED = D0 - 2 * DAY
let nowMs = D0
let t: TestTracker
const id = { alicePull: randomUUID() }

const iso = (ms: number): string => new Date(ms).toISOString()

async function report (path: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const r = await call(t.url, 'GET', `/api/v1/reports/${path}`, { token: t.adminToken })
  assert.is(r.status, 200, `${path}: ${JSON.stringify(r.body)}`)
  return r.body
}

async function csv (path: string): Promise<string[]> {
  const res = await fetch(`${t.url}/api/v1/reports/${path}${path.includes('?') ? '&' : '?'}format=csv`, { headers: { authorization: `Bearer ${t.adminToken}` } })
  assert.is(res.status, 200)
  assert.match(res.headers.get('content-type') ?? '', /^text\/csv/)
  const text = await res.text()
  assert.ok(text.endsWith('\r\n'))
  return text.slice(0, -2).split('\r\n')
}

test.before(async () => {
  t = await startTestTracker({ now: () => nowMs })
  const { store } = t.tracker.components
  await publishFakeVersion(store, { image: 'win', chunkCount: 4, nowMs: V1_PUBLISHED })
  await publishFakeVersion(store, { image: 'win', chunkCount: 4, nowMs: V2_PUBLISHED })
  const post = async (user: string, client: string, info: Record<string, string>, events: unknown[]): Promise<void> => {
    const r = await call(t.url, 'POST', '/api/v1/events', { token: await t.tokenFor(user), json: { client: info, events }, headers: { 'x-branchcast-client': client } })
    assert.is(r.status, 200, JSON.stringify(r.body))
  }
  const ev = (type: string, at: number, payload: Record<string, unknown>, eventId = randomUUID()) => ({ id: eventId, type, at, payload })
  const alice = { host: 'pc-a', site: 'paris', os: 'Linux 6.1', nodeVersion: '0.3.0' }
  const bob = { host: 'pc-b', site: 'paris', os: 'Windows 11', nodeVersion: '0.2.9' }
  const carol = { host: '=cmd|calc', site: 'lyon', os: 'Linux 6.1', nodeVersion: '0.3.0' }
  const alicePull = ev('pull.completed', D0 + 1 * HOUR, { image: 'win', version: 2, bytesFromOrigin: 100, bytesFromPeers: 900, bytesFromLocal: 0, decodedBytesFromOrigin: 150, decodedBytesFromPeers: 1000, originBytesByReason: { share: 60, 'no-peer': 40 }, durationMs: 1000 }, id.alicePull)
  nowMs = D0 + 2 * HOUR + 60_000
  await post('alice', 'n-alice', alice, [alicePull, ev('session.started', D0 + 2 * HOUR, { image: 'win', version: 2 })])
  nowMs = D0 + 3 * HOUR + 60_000
  await post('bob', 'n-bob', bob, [
    ev('pull.completed', D0 + 1.5 * HOUR, { image: 'win', version: 1, bytesFromOrigin: 300, bytesFromPeers: 0, bytesFromLocal: 700, originBytesByReason: { share: 300 }, durationMs: 1000 }),
    ev('pull.failed', D0 + 3 * HOUR, { image: 'win', version: 2, code: 'ERR_TIMEOUT', message: 'origin timed out, "retry"' })
  ])
  nowMs = D1 + 4 * HOUR + 60_000
  await post('carol', 'n-carol', carol, [
    ev('pull.completed', D1 + 1 * HOUR, { image: 'win', version: 2, bytesFromOrigin: 500, bytesFromPeers: 500, bytesFromLocal: 0, originBytesByReason: { 'no-peer': 500 }, durationMs: 1000 }),
    ev('peer.banned', D1 + 2 * HOUR, { peerId: 'QmBad', reason: 'corrupt-chunk' }),
    ev('acme.sync.failed', D1 + 3 * HOUR, { message: 'disk full' }),
    ev('acme.heartbeat.ok', D1 + 4 * HOUR, {})
  ])
  // alice's node re-sends its pull after a lost acknowledgement: stored once, counted once
  await post('alice', 'n-alice', alice, [alicePull])
  nowMs = D1 + 4 * HOUR + 3 * 60_000 // carol seen 2 min ago (online); alice and bob a day ago
})
test.after(async () => { await t?.stop() })

test('offload per site and day: wire bytes by source, decoded beside them, origin by reason', async () => {
  // D1 lyon:  carol 500 origin / 500 peers / 0 local (no decoded counts: decoded = wire) → offload 500/1000 = 0.5
  // D0 paris: alice 100/900/0 (decoded 150/1000) + bob 300/0/700 (decoded = wire 300/0)
  //           = origin 400, peers 900, local 700, decoded origin 450, decoded peers 1000,
  //           offload (900 + 700) / 2000 = 0.8, by reason share 60 + 300 = 360, no-peer 40
  const r = await report('offload')
  assert.equal(r.rows, [
    { day: '2027-01-16', site: 'lyon', pulls: 1, originBytes: 500, peerBytes: 500, localBytes: 0, decodedOriginBytes: 500, decodedPeerBytes: 500, offload: 0.5, originBytesByReason: { 'no-peer': 500 } },
    { day: '2027-01-15', site: 'paris', pulls: 2, originBytes: 400, peerBytes: 900, localBytes: 700, decodedOriginBytes: 450, decodedPeerBytes: 1000, offload: 0.8, originBytesByReason: { share: 360, 'no-peer': 40 } }
  ])
  assert.equal((await report('offload?site=paris')).rows.map((x: { day: string }) => x.day), ['2027-01-15'])
  assert.equal((await report(`offload?from=${iso(D1)}`)).rows.map((x: { site: string }) => x.site), ['lyon'])
  assert.equal((await report('offload?sort=offload&order=asc')).rows.map((x: { site: string }) => x.site), ['lyon', 'paris'])
  assert.equal(await csv('offload'), [
    'day,site,pulls,origin_bytes,peer_bytes,local_bytes,decoded_origin_bytes,decoded_peer_bytes,offload,origin_bytes_by_reason',
    '2027-01-16,lyon,1,500,500,0,500,500,0.5,no-peer=500',
    '2027-01-15,paris,2,400,900,700,450,1000,0.8,no-peer=40 share=360'
  ])
  const r2 = await call(t.url, 'GET', '/api/v1/reports/offload?user=alice', { token: t.adminToken })
  assert.is(r2.status, 400, 'offload has no per-user breakdown')
})

test('activity log: every event once, client time next to received time, severity and category by type', async () => {
  const r = await report('activity')
  // newest client time first; received = when the batch arrived
  assert.equal(r.rows.map((x: any) => [x.type, iso(x.atMs), iso(x.receivedAtMs), x.severity, x.category, x.site, x.host, x.user]), [ // eslint-disable-line @typescript-eslint/no-explicit-any
    ['acme.heartbeat.ok', iso(D1 + 4 * HOUR), iso(D1 + 4 * HOUR + 60_000), 'info', 'acme', 'lyon', '=cmd|calc', 'carol'],
    ['acme.sync.failed', iso(D1 + 3 * HOUR), iso(D1 + 4 * HOUR + 60_000), 'error', 'acme', 'lyon', '=cmd|calc', 'carol'],
    ['peer.banned', iso(D1 + 2 * HOUR), iso(D1 + 4 * HOUR + 60_000), 'warning', 'security', 'lyon', '=cmd|calc', 'carol'],
    ['pull.completed', iso(D1 + 1 * HOUR), iso(D1 + 4 * HOUR + 60_000), 'info', 'transfer', 'lyon', '=cmd|calc', 'carol'],
    ['pull.failed', iso(D0 + 3 * HOUR), iso(D0 + 3 * HOUR + 60_000), 'error', 'transfer', 'paris', 'pc-b', 'bob'],
    ['session.started', iso(D0 + 2 * HOUR), iso(D0 + 2 * HOUR + 60_000), 'info', 'session', 'paris', 'pc-a', 'alice'],
    ['pull.completed', iso(D0 + 1.5 * HOUR), iso(D0 + 3 * HOUR + 60_000), 'info', 'transfer', 'paris', 'pc-b', 'bob'],
    ['pull.completed', iso(D0 + 1 * HOUR), iso(D0 + 2 * HOUR + 60_000), 'info', 'transfer', 'paris', 'pc-a', 'alice']
  ])
  assert.equal(r.rows.map((x: { description: string }) => x.description), [
    'acme.heartbeat.ok',
    'acme.sync.failed: disk full',
    'banned peer QmBad: corrupt-chunk',
    'pulled win v2: 500 B from origin, 500 B from peers, 0 B reused',
    'pull of win v2 failed: ERR_TIMEOUT: origin timed out, "retry"',
    'started win v2',
    'pulled win v1: 300 B from origin, 0 B from peers, 700 B reused',
    'pulled win v2: 100 B from origin, 900 B from peers, 0 B reused'
  ])
  assert.is(r.nextCursor, null)
  const types = async (q: string): Promise<string[]> => (await report(`activity?${q}`)).rows.map((x: { type: string, user: string }) => `${x.user}:${x.type}`)
  assert.equal(await types('site=paris&order=asc'), ['alice:pull.completed', 'bob:pull.completed', 'alice:session.started', 'bob:pull.failed'])
  assert.equal(await types('host=pc-b'), ['bob:pull.failed', 'bob:pull.completed'])
  assert.equal(await types(`image=win&from=${iso(D1)}`), ['carol:pull.completed'])
  assert.equal(await types(`user=alice&to=${iso(D0 + 2 * HOUR)}`), ['alice:pull.completed'])
  assert.equal(await types('user=bob'), ['bob:pull.failed', 'bob:pull.completed'])
  assert.equal(await types('user=nobody'), [], 'a user with no clients has no events')
  assert.equal(await types('type=peer.banned'), ['carol:peer.banned'])
})

test('activity pages follow the cursor in the same order; CSV streams every row, quoted and formula-safe', async () => {
  const all = (await report('activity')).rows.map((x: { id: string }) => x.id)
  const paged: string[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const page: { rows: Array<{ id: string }>, nextCursor: string | null } = await report(`activity?limit=3${cursor === null ? '' : `&cursor=${cursor}`}`)
    paged.push(...page.rows.map((x) => x.id))
    cursor = page.nextCursor
    pages++
  } while (cursor !== null)
  assert.equal(paged, all)
  assert.is(pages, 3)
  const lines = await csv('activity')
  assert.is(lines.length, 9)
  assert.is(lines[0], 'client_time,received_time,severity,category,description,type,site,host,user,client,image,event_id')
  assert.is(lines[1], `${iso(D1 + 4 * HOUR)},${iso(D1 + 4 * HOUR + 60_000)},info,acme,acme.heartbeat.ok,acme.heartbeat.ok,lyon,'=cmd|calc,carol,n-carol,,${all[0]}`)
  assert.is(lines[5], `${iso(D0 + 3 * HOUR)},${iso(D0 + 3 * HOUR + 60_000)},error,transfer,"pull of win v2 failed: ERR_TIMEOUT: origin timed out, ""retry""",pull.failed,paris,pc-b,bob,n-bob,win,${all[4]}`)
  const bad = await call(t.url, 'GET', '/api/v1/reports/activity?cursor=bm90LWEtY3Vyc29y', { token: t.adminToken })
  assert.is(bad.status, 400)
})

test('error log: errors and warnings only (the severity table)', async () => {
  const r = await report('errors')
  assert.equal(r.rows.map((x: { type: string, severity: string }) => `${x.severity}:${x.type}`), ['error:acme.sync.failed', 'warning:peer.banned', 'error:pull.failed'])
  assert.equal((await report('errors?site=paris')).rows.map((x: { type: string }) => x.type), ['pull.failed'])
  assert.is((await csv('errors')).length, 4)
})

test('deployment per image version: current, lagging since the current one was published', async () => {
  // win v2 (current, published D0-2d): alice (held since her batch at D0+2h+1m) and carol (D1+4h+1m)
  // win v1 (published D0-10d): bob, lagging since v2 was published; bob's failed pull of v2 is not a hold
  const r = await report('deployment')
  assert.equal(r.rows, [
    { image: 'win', version: 2, state: 'published', current: true, clients: 2, pulling: 0, lagging: 0, firstHeldAtMs: D0 + 2 * HOUR + 60_000, lastHeldAtMs: D1 + 4 * HOUR + 60_000, publishedAtMs: V2_PUBLISHED, behindSinceMs: null },
    { image: 'win', version: 1, state: 'published', current: false, clients: 1, pulling: 0, lagging: 1, firstHeldAtMs: D0 + 3 * HOUR + 60_000, lastHeldAtMs: D0 + 3 * HOUR + 60_000, publishedAtMs: V1_PUBLISHED, behindSinceMs: V2_PUBLISHED }
  ])
  assert.equal((await report('deployment?site=lyon')).rows.map((x: { version: number, clients: number }) => [x.version, x.clients]), [[2, 1]])
  assert.equal(await csv('deployment?sort=lagging'), [
    'image,version,state,current,clients,pulling,lagging,first_held,last_held,published,behind_since',
    `win,1,published,no,1,0,1,${iso(D0 + 3 * HOUR + 60_000)},${iso(D0 + 3 * HOUR + 60_000)},${iso(V1_PUBLISHED)},${iso(V2_PUBLISHED)}`,
    `win,2,published,yes,2,0,0,${iso(D0 + 2 * HOUR + 60_000)},${iso(D1 + 4 * HOUR + 60_000)},${iso(V2_PUBLISHED)},`
  ])
})

test('status: one row per client with user, host, site, workspace, online since, versions', async () => {
  // alice's node re-sent a batch at D1+4h+1m after a day of silence: online again since then;
  // alice and carol tie on last seen and come by id
  const r = await report('status')
  const seen = D1 + 4 * HOUR + 60_000
  assert.equal(r.rows, [
    { clientId: 'n-alice', user: 'alice', host: 'pc-a', site: 'paris', os: 'Linux 6.1', online: true, onlineSinceMs: seen, lastSeenAtMs: seen, firstSeenAtMs: D0 + 2 * HOUR + 60_000, clientVersion: '0.3.0', workspace: 'win:running', imageVersions: 'win@2', policyVersions: '', pull: '' },
    { clientId: 'n-carol', user: 'carol', host: '=cmd|calc', site: 'lyon', os: 'Linux 6.1', online: true, onlineSinceMs: seen, lastSeenAtMs: seen, firstSeenAtMs: seen, clientVersion: '0.3.0', workspace: '', imageVersions: 'win@2', policyVersions: '', pull: '' },
    { clientId: 'n-bob', user: 'bob', host: 'pc-b', site: 'paris', os: 'Windows 11', online: false, onlineSinceMs: null, lastSeenAtMs: D0 + 3 * HOUR + 60_000, firstSeenAtMs: D0 + 3 * HOUR + 60_000, clientVersion: '0.2.9', workspace: '', imageVersions: 'win@1', policyVersions: '', pull: '' }
  ])
  assert.equal((await report('status?sort=host')).rows.map((x: { host: string }) => x.host), ['=cmd|calc', 'pc-a', 'pc-b'])
  assert.equal((await report('status?site=paris&limit=1')).rows.length, 1)
  const lines = await csv('status?sort=user')
  assert.is(lines[0], 'client,user,host,site,os,online,online_since,last_seen,first_seen,client_version,workspace,image_versions,policy_versions,pull')
  assert.match(lines[3]!, /^n-carol,carol,'=cmd\|calc,lyon,/)
})

test('reports and clients are for admins; bad sorts and filters are 400', async () => {
  const user = await t.tokenFor('alice')
  for (const path of ['/api/v1/reports/status', '/api/v1/reports/activity?format=csv', '/api/v1/clients', '/api/v1/clients/n-alice']) {
    assert.is((await call(t.url, 'GET', path, { token: user })).status, 403, path)
    assert.is((await call(t.url, 'GET', path)).status, 401, path)
  }
  for (const path of ['/api/v1/reports/nope', '/api/v1/reports/status?sort=payload', '/api/v1/reports/deployment?since=1d', '/api/v1/reports/status?limit=5000', '/api/v1/reports/offload?type=pull.failed']) {
    assert.is((await call(t.url, 'GET', path, { token: t.adminToken })).status, 400, path)
  }
})

test('clients registry: list with filters and pages, one client in detail', async () => {
  const list = async (q: string): Promise<any> => (await call(t.url, 'GET', `/api/v1/clients?${q}`, { token: t.adminToken })).body // eslint-disable-line @typescript-eslint/no-explicit-any
  const all = await list('')
  assert.is(all.total, 3)
  assert.equal(all.clients.map((c: { id: string }) => c.id), ['n-alice', 'n-carol', 'n-bob'])
  assert.equal((await list('site=paris&sort=host')).clients.map((c: { host: string }) => c.host), ['pc-a', 'pc-b'])
  assert.equal((await list('status=offline')).clients.map((c: { id: string }) => c.id), ['n-bob'])
  assert.equal((await list('q=calc')).clients.map((c: { id: string }) => c.id), ['n-carol'])
  const page = await list('sort=id&limit=2')
  assert.equal([page.clients.length, page.nextOffset], [2, 2])
  assert.equal((await list('sort=id&limit=2&offset=2')).nextOffset, null)
  const one = await call(t.url, 'GET', '/api/v1/clients/n-alice', { token: t.adminToken })
  assert.equal(one.body.images, [{ image: 'win', version: 2, heldSinceMs: D0 + 2 * HOUR + 60_000, policy: '', policyUpdatedAtMs: null }])
  assert.equal(one.body.workspace, { win: { state: 'running', version: 2, sinceMs: D0 + 2 * HOUR } })
  assert.equal([one.body.os, one.body.nodeVersion, one.body.firstSeenAtMs], ['Linux 6.1', '0.3.0', D0 + 2 * HOUR + 60_000])
  assert.is((await call(t.url, 'GET', '/api/v1/clients/nobody', { token: t.adminToken })).status, 404)
})

test('the CLI: branchcast reports (table, --json, --csv) and clients list|show', async () => {
  const bin = fileURLToPath(new URL('../../../bin/branchcast.ts', import.meta.url))
  const run = async (...args: string[]): Promise<string> => (await promisify(execFile)(process.execPath, [bin, ...args, '--tracker', t.url], {
    env: { ...process.env, BRANCHCAST_TOKEN: t.adminToken }, timeout: 20_000
  })).stdout
  const lines = (await run('reports', 'offload', '--csv')).split('\r\n')
  assert.is(lines[2], '2027-01-15,paris,2,400,900,700,450,1000,0.8,no-peer=40 share=360')
  const errors = JSON.parse(await run('reports', 'errors', '--json', '--site', 'paris'))
  assert.equal(errors.rows.map((r: { type: string }) => r.type), ['pull.failed'])
  const table = await run('reports', 'deployment')
  assert.match(table, /^IMAGE\s+VERSION\s+STATE\s+CLIENTS\s+PULLING\s+LAGGING\s+BEHIND SINCE/)
  for (const line of table.trimEnd().split('\n')) assert.ok(line.length <= 80, line)
  assert.match(await run('clients', 'list', '--site', 'paris'), /n-alice\s+alice\s+pc-a\s+paris/)
  assert.match(await run('clients', 'show', 'n-bob'), /image: +win v1/)
  const failed = await promisify(execFile)(process.execPath, [bin, 'reports', 'nope', '--tracker', t.url], { env: { ...process.env, BRANCHCAST_TOKEN: t.adminToken } }).catch((e: { code: number, stderr: string }) => e)
  assert.is((failed as { code: number }).code, 1)
  assert.match((failed as { stderr: string }).stderr, /^branchcast reports: needs a report/)
})

test.run()
