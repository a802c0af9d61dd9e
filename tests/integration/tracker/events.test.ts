// Event ingest and query over real HTTP: authorisation, idempotency, size and count caps,
// per-user rate limit on the tracker's clock, parameterised filters.
import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { MAX_EVENT_BATCH_BYTES, MAX_EVENTS_PER_BATCH, MAX_EVENT_PAYLOAD_BYTES } from '../../../protocol/api/events.ts'
import { EVENT_RATE_BURST } from '../../../tracker/events/constants.ts'
import { startTestTracker } from '../../helpers/tracker.ts'
import type { TestTracker } from '../../helpers/tracker.ts'
import { call } from '../../helpers/tracker-swarm.ts'
import type { CallResult } from '../../helpers/tracker-swarm.ts'

const T0 = 1_800_000_000_000
let nowMs = T0
let t: TestTracker
let alice: string
let bob: string
let clientSeq = 0

test.before(async () => {
  // every post below comes from its own client id: the per-user client cap is tested in event-limits.test.ts
  t = await startTestTracker({ now: () => nowMs, config: { maxClientsPerUser: 10_000 } })
  alice = await t.tokenFor('alice')
  bob = await t.tokenFor('bob')
})
test.after(async () => { await t?.stop() })

/** Every post from its own client id unless told, so the rate limit never interferes. */
async function post (token: string | undefined, json: unknown, client = `node-${++clientSeq}`): Promise<CallResult> {
  return await call(t.url, 'POST', '/api/v1/events', { token, json, headers: { 'x-branchcast-client': client } })
}

function pullCompleted (over: Record<string, unknown> = {}): Record<string, unknown> & { id: string } {
  return {
    id: randomUUID(),
    type: 'pull.completed',
    at: T0,
    payload: { image: 'win', version: 3, bytesFromPeers: 900, bytesFromOrigin: 100, bytesFromLocal: 0, originBytesByReason: { share: 100 }, durationMs: 1234 },
    ...over
  }
}

test('anonymous → 401; GET is admin-only', async () => {
  assert.is((await post(undefined, { events: [pullCompleted()] })).status, 401)
  assert.is((await call(t.url, 'GET', '/api/v1/events')).status, 401)
  const user = await call(t.url, 'GET', '/api/v1/events', { token: alice })
  assert.is(user.status, 403)
  assert.is(user.body.error.code, 'ERR_FORBIDDEN')
  assert.is((await call(t.url, 'GET', '/api/v1/events', { token: t.adminToken })).status, 200)
})

test('each event is stored once: repeats in a batch and across batches are duplicates', async () => {
  const a = pullCompleted()
  const b = { id: randomUUID(), type: 'session.started', at: new Date(T0 + 5).toISOString(), payload: { image: 'win' } }
  const c = { id: randomUUID(), type: 'acme.custom-thing', at: T0, payload: { anything: [1, 2, 3] } }
  let r = await post(alice, { events: [a, b, a] }, 'dup-client')
  assert.is(r.status, 200, JSON.stringify(r.body))
  assert.equal(r.body, { inserted: 2, duplicates: 1 })
  nowMs += 1000
  r = await post(alice, { events: [a, b, c] }, 'dup-client')
  assert.equal(r.body, { inserted: 1, duplicates: 2 })
  r = await post(alice, { events: [{ ...a, id: a.id.toUpperCase() }] }, 'dup-client')
  assert.equal(r.body, { inserted: 0, duplicates: 1 }, 'ids compare case-insensitively')
  const q = await call(t.url, 'GET', '/api/v1/events?client=dup-client&order=asc', { token: t.adminToken })
  assert.is(q.body.events.length, 3)
  const stored = q.body.events.find((e: { id: string }) => e.id === b.id)
  assert.is(stored.atMs, T0 + 5, 'ISO times stored as ms')
  assert.is(stored.user, 'alice')
})

test('the user always comes from the token; a client id of another user is refused', async () => {
  const id = randomUUID()
  const r = await post(bob, { clientId: 'ignored-by-header', user: 'alice', events: [{ ...pullCompleted({ id }), user: 'alice' }] }, 'bobs-node')
  assert.is(r.status, 200)
  const q = await call(t.url, 'GET', '/api/v1/events?client=bobs-node', { token: t.adminToken })
  assert.equal(q.body.events.map((e: { id: string, user: string }) => [e.id, e.user]), [[id, 'bob']])
  // a client (node) registered to alice, e.g. by a swarm announce
  await t.tracker.components.store.upsertClient({ id: 'alices-node', user: 'alice', nowMs })
  const stolen = await post(bob, { events: [pullCompleted()] }, 'alices-node')
  assert.is(stolen.status, 403)
  const viaBody = await call(t.url, 'POST', '/api/v1/events', { token: bob, json: { clientId: 'alices-node', events: [pullCompleted()] } })
  assert.is(viaBody.status, 403, 'the body client id is checked too')
  assert.is((await post(alice, { events: [pullCompleted()] }, 'alices-node')).status, 200)
})

test('malformed events and batches → 400', async () => {
  const cases: Array<[string, unknown]> = [
    ['no events', { events: [] }],
    ['events not an array', { events: 'x' }],
    ['id not a UUID', { events: [pullCompleted({ id: 'abc' })] }],
    ['type not namespaced', { events: [pullCompleted({ type: 'completed' })] }],
    ['type with SQL in it', { events: [pullCompleted({ type: "x'; DROP TABLE events; --" })] }],
    ['type too long', { events: [pullCompleted({ type: 'a.' + 'b'.repeat(80) })] }],
    ['known type, wrong payload', { events: [pullCompleted({ payload: { image: 'win' } })] }],
    ['payload not an object', { events: [pullCompleted({ payload: [1, 2] })] }],
    ['payload over the cap', { events: [pullCompleted({ type: 'acme.big', payload: { s: 'x'.repeat(MAX_EVENT_PAYLOAD_BYTES) } })] }],
    ['at not a time', { events: [pullCompleted({ at: 'yesterday' })] }]
  ]
  for (const [name, json] of cases) {
    const r = await call(t.url, 'POST', '/api/v1/events', { token: alice, json, headers: { 'x-branchcast-client': `bad-${++clientSeq}` } })
    assert.is(r.status, 400, `${name}: ${JSON.stringify(r.body)}`)
    assert.is(r.body.error.code, 'ERR_BAD_REQUEST', name)
  }
  const badHeader = await call(t.url, 'POST', '/api/v1/events', { token: alice, json: { events: [pullCompleted()] }, headers: { 'x-branchcast-client': 'x'.repeat(200) } })
  assert.is(badHeader.status, 400)
  const badBodyClient = await call(t.url, 'POST', '/api/v1/events', { token: alice, json: { clientId: 'a b', events: [pullCompleted()] } })
  assert.is(badBodyClient.status, 400)
  const truncated = await call(t.url, 'POST', '/api/v1/events', { token: alice, body: '{"events": [', headers: { 'x-branchcast-client': 'trunc' } })
  assert.is(truncated.status, 400)
})

test('over-size batches → 413: too many bytes (before parsing) and too many events', async () => {
  const big = JSON.stringify({ events: [pullCompleted({ type: 'acme.pad', payload: { s: 'x'.repeat(MAX_EVENT_BATCH_BYTES) } })] })
  const r = await call(t.url, 'POST', '/api/v1/events', { token: alice, body: big, headers: { 'x-branchcast-client': 'big' } })
  assert.is(r.status, 413)
  assert.is(r.body.error.code, 'ERR_PAYLOAD_TOO_LARGE')
  const many = { events: Array.from({ length: MAX_EVENTS_PER_BATCH + 1 }, () => ({ id: randomUUID(), type: 'acme.tick', at: T0, payload: {} })) }
  const r2 = await post(alice, many)
  assert.is(r2.status, 413)
  const stored = await call(t.url, 'GET', '/api/v1/events?type=acme.tick', { token: t.adminToken })
  assert.is(stored.body.events.length, 0, 'nothing of a refused batch is stored')
})

test('per-user rate limit: 429 with retry-after once the burst is spent, whatever the client header; refilled over time', async () => {
  const chatty = await t.tokenFor('chatty')
  for (let i = 0; i < EVENT_RATE_BURST; i++) {
    const r = await post(chatty, { events: [pullCompleted()] }, `chatty-${i % 4}`)
    assert.is(r.status, 200, `request ${i}`)
  }
  const limited = await post(chatty, { events: [pullCompleted()] }, 'chatty-0')
  assert.is(limited.status, 429)
  assert.is(limited.body.error.code, 'ERR_RATE_LIMITED')
  assert.ok(Number(limited.headers.get('retry-after')) >= 1)
  assert.is((await post(chatty, { events: [pullCompleted()] }, 'a-fresh-client-id')).status, 429, 'a new client header buys no new bucket')
  assert.is((await post(bob, { events: [pullCompleted()] }, 'bobs-quiet-node')).status, 200, 'another user is not limited by chatty’s bucket')
  nowMs += 1000
  assert.is((await post(chatty, { events: [pullCompleted()] }, 'chatty-1')).status, 200, 'refilled')
})

test('query filters are parameters: type, client, user, from/to, since, limit; SQL metacharacters match nothing', async () => {
  const base = T0 + 10_000_000
  const ids: string[] = []
  for (let i = 0; i < 5; i++) {
    const id = randomUUID()
    ids.push(id)
    await post(i % 2 === 0 ? alice : bob, { events: [pullCompleted({ id, type: i < 3 ? 'pull.failed' : 'peer.banned', at: base + i, payload: i < 3 ? { image: 'win', code: 'ERR_X' } : { peerId: 'p', reason: 'corrupt' } })] }, `q-${i}`)
  }
  const get = async (qs: string): Promise<string[]> => {
    const r = await call(t.url, 'GET', `/api/v1/events?${qs}`, { token: t.adminToken })
    assert.is(r.status, 200, `${qs}: ${JSON.stringify(r.body)}`)
    return r.body.events.map((e: { id: string }) => e.id)
  }
  assert.equal(await get(`type=peer.banned&from=${base}&order=asc`), [ids[3], ids[4]])
  assert.equal(await get(`type=pull.failed&user=bob&from=${base}`), [ids[1]])
  assert.equal(await get(`client=q-2`), [ids[2]])
  assert.equal(await get(`from=${base + 1}&to=${new Date(base + 3).toISOString()}&order=asc`), [ids[1], ids[2]])
  assert.equal(await get(`from=${base}&limit=2`), [ids[4], ids[3]], 'newest first')
  nowMs = base + 60_000
  assert.equal((await get('since=2m&order=asc')).slice(0, 5), ids)
  assert.equal(await get('since=10s'), [])
  assert.equal((await get('since=1m30s&order=asc')).slice(0, 5), ids, 'the same duration grammar as --expires')
  assert.is((await call(t.url, 'GET', '/api/v1/events?since=1y', { token: t.adminToken })).status, 400)
  for (const evil of ["' OR '1'='1", 'q-%', 'q-_', '"; DROP TABLE events; --', '\\']) {
    assert.equal(await get(`client=${encodeURIComponent(evil)}`), [], evil)
    assert.equal(await get(`user=${encodeURIComponent(evil)}`), [], evil)
  }
  assert.is((await call(t.url, 'GET', `/api/v1/events?type=${encodeURIComponent("x' OR 1=1")}`, { token: t.adminToken })).status, 400)
  assert.is((await call(t.url, 'GET', '/api/v1/events?limit=0', { token: t.adminToken })).status, 400)
  assert.is((await call(t.url, 'GET', '/api/v1/events?from=soon', { token: t.adminToken })).status, 400)
  assert.ok((await get('')).length > 5, 'the table survived')
})

test('the CLI: branchcast events --type --client --json, and a table', async () => {
  const id = randomUUID()
  await post(alice, { events: [pullCompleted({ id, type: 'policy.blocked', payload: { image: 'win', rule: 'download-window' } })] }, 'cli-node')
  const bin = fileURLToPath(new URL('../../../bin/branchcast.ts', import.meta.url))
  const run = async (...args: string[]): Promise<string> => (await promisify(execFile)(process.execPath, [bin, 'events', '--tracker', t.url, ...args], {
    env: { ...process.env, BRANCHCAST_TOKEN: t.adminToken }, timeout: 20_000
  })).stdout
  const json = JSON.parse(await run('--type', 'policy.blocked', '--client', 'cli-node', '--json'))
  assert.equal(json.events.map((e: { id: string }) => e.id), [id])
  const table = await run('--type', 'policy.blocked')
  assert.match(table, /^AT\s+TYPE\s+USER\s+CLIENT\s+PAYLOAD/)
  assert.match(table, /policy\.blocked\s+alice\s+cli-node\s+\{"image":"win"/)
})

test.run()
