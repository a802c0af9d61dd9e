// Issue 11, finding 1: event limits are keyed on the authenticated user, not on the
// `x-branchcast-client` header the caller picks. Rotating the header used to buy a fresh
// rate bucket per batch and a permanent `clients` row per value (329 k events in 30 s,
// 3,867 rows). Now: at most `maxClientsPerUser` client ids per user (409
// ERR_STORE_CLIENT_LIMIT), the header checked before anything is kept, a per-minute batch
// counter and a per-day event quota in the database that two trackers on one file share.
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { rm } from 'node:fs/promises'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { TrackerConfig } from '../../../tracker/config.ts'
import { startTestTracker } from '../../helpers/tracker.ts'
import type { TestTracker } from '../../helpers/tracker.ts'
import { makeTmpDir } from '../../helpers/tmp-dir.ts'
import { call } from '../../helpers/tracker-swarm.ts'
import type { CallResult } from '../../helpers/tracker-swarm.ts'

const T0 = 1_800_000_000_000 // 2027-01-15T08:00:00Z
let nowMs = T0
const now = (): number => nowMs
const started: TestTracker[] = []
let shared: string | undefined

test.after(async () => {
  for (const t of started) await t.stop()
  if (shared !== undefined) await rm(shared, { recursive: true, force: true })
})

async function tracker (config: Partial<TrackerConfig>): Promise<TestTracker> {
  const t = await startTestTracker({ now, config })
  started.push(t)
  return t
}

function batch (n = 1): { events: unknown[] } {
  return { events: Array.from({ length: n }, () => ({ id: randomUUID(), type: 'acme.tick', at: nowMs, payload: {} })) }
}

async function post (t: TestTracker, token: string, client: string, n = 1): Promise<CallResult> {
  return await call(t.url, 'POST', '/api/v1/events', { token, json: batch(n), headers: { 'x-branchcast-client': client } })
}

async function stored (t: TestTracker, user: string): Promise<number> {
  return (await t.tracker.components.store.queryEvents({ user, limit: 10_000 })).length
}

test('rotating the client header: 16 client ids per user, the 17th refused with a code and nothing stored', async () => {
  const t = await tracker({})
  const mallory = await t.tokenFor('mallory')
  for (let i = 0; i < 16; i++) assert.is((await post(t, mallory, `fake-${i}`)).status, 200, `client ${i}`)
  const refused = await post(t, mallory, 'fake-16')
  assert.is(refused.status, 409, JSON.stringify(refused.body))
  assert.is(refused.body.error.code, 'ERR_STORE_CLIENT_LIMIT')
  assert.is(await t.tracker.components.store.countClients('mallory'), 16)
  assert.is(await stored(t, 'mallory'), 16, 'the refused batch stored nothing')
  assert.is((await post(t, mallory, 'fake-3')).status, 200, 'a known client id still reports')
  const alice = await t.tokenFor('alice')
  assert.is((await post(t, alice, 'alices-node')).status, 200, 'other users are not affected')
})

test('the rate bucket is the user’s: a new header per batch buys nothing', async () => {
  const t = await tracker({ maxClientsPerUser: 1000 })
  const flood = await t.tokenFor('flood')
  let accepted = 0
  let first429: CallResult | undefined
  for (let i = 0; i < 200 && first429 === undefined; i++) {
    const r = await post(t, flood, `rotating-${i}`)
    if (r.status === 200) accepted++
    else first429 = r
  }
  assert.is(first429?.status, 429)
  assert.is(first429?.body.error.code, 'ERR_RATE_LIMITED')
  assert.is(accepted, 60, 'the burst of one user, not one per header')
  assert.ok(await t.tracker.components.store.countClients('flood') <= 60)
})

test('a token refused for its rate is refused again before the app until its retry-after, and only that token', async () => {
  const t = await tracker({ maxClientsPerUser: 1000 })
  const flood = await t.tokenFor('flood')
  let first429: CallResult | undefined
  for (let i = 0; i < 200 && first429 === undefined; i++) {
    const r = await post(t, flood, 'flood-node')
    if (r.status !== 200) first429 = r
  }
  assert.is(first429?.status, 429)
  const after = Number(first429?.headers.get('retry-after'))
  assert.ok(after >= 1, `retry-after ${String(after)}`)
  const early = (): number => Number(/branchcast_http_refused_total\{reason="early"\} (\d+)/.exec(t.tracker.components.metrics.render())?.[1] ?? 0)
  assert.is(early(), 0)
  const again = await post(t, flood, 'flood-node')
  assert.is(again.status, 429)
  assert.is(again.body.error.code, 'ERR_RATE_LIMITED')
  assert.is(again.headers.get('retry-after'), String(after))
  assert.is(early(), 1, 'answered by the HTTP guard')
  const before = await stored(t, 'flood')
  assert.is((await post(t, await t.tokenFor('alice'), 'alices-node')).status, 200, 'another user is not affected')
  assert.is((await post(t, await t.tokenFor('flood'), 'flood-node')).status, 429, "the user's other token meets the user's bucket in the app")
  assert.is(early(), 1)
  nowMs += after * 1000
  assert.is((await post(t, flood, 'flood-node')).status, 200, 'after retry-after the token reaches the app again')
  assert.is(await stored(t, 'flood'), before + 1)
})

test('a malformed client header is refused before anything is kept', async () => {
  const t = await tracker({ eventBatchesPerUserPerMinute: 5 })
  const eve = await t.tokenFor('eve')
  for (let i = 0; i < 20; i++) {
    // 15 KB is over the server's header cap (431, before the app); 2 KB reaches the route (400)
    const big = await call(t.url, 'POST', '/api/v1/events', { token: eve, json: batch(), headers: { 'x-branchcast-client': `${'x'.repeat(15_000)}${i}` } })
    assert.is(big.status, 431, `request ${i}`)
    const r = await call(t.url, 'POST', '/api/v1/events', { token: eve, json: batch(), headers: { 'x-branchcast-client': `${'x'.repeat(2_000)}${i}` } })
    assert.is(r.status, 400, `request ${i}`)
  }
  assert.is(await t.tracker.components.store.countClients('eve'), 0)
  // neither the in-memory bucket nor the database counter was spent on them
  for (let i = 0; i < 5; i++) assert.is((await post(t, eve, 'eves-node')).status, 200, `good request ${i}`)
  assert.is((await post(t, eve, 'eves-node')).status, 429)
})

test('two trackers on one database share the per-minute batch limit', async () => {
  shared = await makeTmpDir('branchcast-shared-db-')
  const db = `sqlite:${join(shared, 'tracker.db')}`
  const a = await tracker({ db, eventBatchesPerUserPerMinute: 10 })
  const b = await tracker({ db, eventBatchesPerUserPerMinute: 10 })
  const token = await a.tokenFor('busy')
  nowMs = T0 + 5 * 60_000 // a fresh minute
  const statuses: number[] = []
  for (let i = 0; i < 16; i++) statuses.push((await post(i % 2 === 0 ? a : b, token, 'busy-node')).status)
  assert.equal(statuses.filter((s) => s === 200).length, 10, statuses.join(' '))
  assert.ok(statuses.slice(10).every((s) => s === 429), statuses.join(' '))
  const r = await post(b, token, 'busy-node')
  assert.ok(Number(r.headers.get('retry-after')) >= 1 && Number(r.headers.get('retry-after')) <= 60)
  nowMs += 60_000
  assert.is((await post(a, token, 'busy-node')).status, 200, 'the next minute has its own count')
})

test('per-user daily event quota, counted in the database; the next UTC day starts afresh', async () => {
  const t = await tracker({ eventsPerUserPerDay: 25 })
  const heavy = await t.tokenFor('heavy')
  nowMs = T0 + 10 * 60_000
  assert.is((await post(t, heavy, 'heavy-node', 10)).status, 200)
  assert.is((await post(t, heavy, 'heavy-node', 10)).status, 200)
  const over = await post(t, heavy, 'heavy-node', 10)
  assert.is(over.status, 429)
  assert.match(over.body.error.message, /daily quota/)
  const untilMidnight = Math.ceil((Math.ceil(nowMs / 86_400_000) * 86_400_000 - nowMs) / 1000)
  assert.is(Number(over.headers.get('retry-after')), untilMidnight)
  assert.is(await stored(t, 'heavy'), 20)
  const light = await t.tokenFor('light')
  assert.is((await post(t, light, 'light-node', 10)).status, 200, 'quotas are per user')
  nowMs = Math.ceil(nowMs / 86_400_000) * 86_400_000 + 1000
  assert.is((await post(t, heavy, 'heavy-node', 10)).status, 200)
})

test.run()
