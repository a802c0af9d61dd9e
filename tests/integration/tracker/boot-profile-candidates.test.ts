// Boot profiles the tracker publishes by itself from nodes' recordings, over HTTP against a
// real tracker (SQLite file, chunk store, origin): an ordinary token can only hand in a
// recording of an image assigned to it, from its own node, bounded, with the version's own
// chunk ids, once, and not in a flood; three users' recordings publish the merge (signed,
// served by the origin) with a liar among them outvoted; an admin's profile always wins.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fetchBootProfile } from '../../../node/origin/index.ts'
import { MAX_BOOT_PROFILE_BODY_BYTES, MAX_BOOT_PROFILE_CHUNKS, createApiClient, decodeManifest, importPublicKey } from '../../../protocol/index.ts'
import type { OriginAccess } from '../../../protocol/index.ts'
import { readChunkList } from '../../../protocol/manifest/chunk-list.ts'
import { BOOT_PROFILE_QUORUM, BOOT_PROFILE_SUBMITS_PER_MINUTE, mergeBootRecordings } from '../../../tracker/repository/index.ts'
import { runCli } from '../../helpers/cli.ts'
import { publishAndAssign, randomImage } from '../../helpers/swarm.ts'
import type { Workspace } from '../../helpers/swarm.ts'
import { call, haveOf, newPeerId, withProof } from '../../helpers/tracker-swarm.ts'
import { startTestTracker } from '../../helpers/tracker.ts'
import type { TestTracker } from '../../helpers/tracker.ts'

const IMAGE_BYTES = 2 * 2 ** 20
/**
 * The tracker's clock, still within a test and one second into a minute, so the per-minute
 * rate limit cannot roll over mid-test; each test starts a minute later.
 */
const T0 = Math.floor(Date.now() / 60_000) * 60_000 + 1_000
let clock = T0
test.before.each(() => { clock += 60_000 })

let tt: TestTracker
let ws: Workspace
let ids: string[]
const tokens: Record<string, string> = {}
const peers: Record<string, string> = {}

async function register (user: string, image: string, version: number, chunkCount: number): Promise<string> {
  const peerId = await newPeerId()
  const r = await call(tt.url, 'POST', '/api/v1/swarm/announce', { token: tokens[user], json: await withProof({ image, version, peerId, site: 'branch-p', addrs: [], ...haveOf(chunkCount, [0]) }, clock) })
  assert.is(r.status, 200, JSON.stringify(r.body))
  return peerId
}

async function versionChunkIds (image: string, version: number): Promise<string[]> {
  const { chunks, repository } = tt.tracker.components
  const { bytes } = await repository.getManifest(image, version)
  const out: string[] = []
  for await (const ref of readChunkList(decodeManifest(bytes), async (id) => await chunks.get(id))) if (!out.includes(ref.id)) out.push(ref.id)
  return out
}

const base = (image: string, version: number): string => `/api/v1/images/${image}/versions/${version}/boot-profile`
const submit = async (user: string, chunks: unknown, over: Record<string, unknown> = {}, image = ws.image, version = ws.version) =>
  await call(tt.url, 'POST', `${base(image, version)}/candidates`, { token: tokens[user], json: { clientId: peers[user], chunks, end: 'agent', durationMs: 4000, ...over } })
const state = async (user: string, image = ws.image, version = ws.version) => (await call(tt.url, 'GET', `${base(image, version)}/state`, { token: tokens[user] })).body
const candidates = async (image = ws.image, version = ws.version) => (await call(tt.url, 'GET', `${base(image, version)}/candidates`, { token: tt.adminToken })).body

async function originAccess (token: string, image: string): Promise<OriginAccess> {
  return await createApiClient({ baseUrl: tt.url, token }).json<OriginAccess>('POST', `/api/v1/images/${image}/origin-token`, { json: { clientId: 'profile-test' } })
}

async function servedProfile (image: string, version: number, token: string): Promise<string[] | undefined> {
  const keys = await createApiClient({ baseUrl: tt.url, token }).json<{ repository: { publicKey: string } }>('GET', '/api/v1/repository')
  const { repository } = tt.tracker.components
  const digest = (await repository.getManifest(image, version)).version.manifestId!
  return (await fetchBootProfile(await originAccess(token, image), { publicKey: importPublicKey(keys.repository.publicKey), manifestDigest: digest }))?.chunks
}

test.before(async () => {
  tt = await startTestTracker({ now: () => clock })
  ws = await publishAndAssign(tt, { image: 'desk', bytes: randomImage(IMAGE_BYTES), user: 'alice' })
  const admin = createApiClient({ baseUrl: tt.url, token: tt.adminToken })
  for (const user of ['bob', 'carol', 'dave', 'flood']) await admin.request('POST', '/api/v1/assignments', { json: { policy: `desk-alice-${ws.version}`, user } })
  // mallory is assigned only another image
  const other = await publishAndAssign(tt, { image: 'other', bytes: randomImage(64 * 1024), user: 'mallory' })
  for (const user of ['alice', 'bob', 'carol', 'dave', 'flood', 'mallory']) tokens[user] = await tt.tokenFor(user)
  ids = await versionChunkIds(ws.image, ws.version)
  assert.ok(ids.length >= 8, `the image has ${ids.length} chunks`)
  for (const user of ['alice', 'bob', 'carol', 'dave', 'flood']) peers[user] = await register(user, ws.image, ws.version, ids.length)
  peers.mallory = await register('mallory', 'other', other.version, (await versionChunkIds('other', other.version)).length)
})
test.after(async () => { await tt?.stop() })

test('an ordinary token cannot hand in a recording of an image not assigned to it, from another\'s node, oversized, out of the version, or twice', async () => {
  const good = ids.slice(0, 4)
  assert.is((await submit('mallory', good)).status, 403, 'an image not assigned to mallory')
  assert.is((await submit('alice', good, { clientId: peers.bob })).status, 403, 'bob\'s node')
  assert.is((await submit('alice', good, { clientId: await newPeerId() })).status, 403, 'a node that never announced')
  assert.is((await submit('alice', [...good, '0'.repeat(64)])).status, 400, 'a chunk the version does not have')
  assert.is((await submit('alice', ['A'.repeat(64)])).status, 400, 'not a chunk id')
  assert.is((await submit('alice', [])).status, 400, 'empty')
  assert.is((await submit('alice', good, { end: 'whenever' })).status, 400, 'an unknown end')
  assert.is((await submit('alice', Array.from({ length: MAX_BOOT_PROFILE_CHUNKS + 1 }, (_, i) => i.toString(16).padStart(64, '0')))).status, 400, 'too many chunk ids')
  const huge = await call(tt.url, 'POST', `${base(ws.image, ws.version)}/candidates`, { token: tokens.alice, body: `{"clientId":"${peers.alice}","end":"agent","durationMs":1,"chunks":[${'"x",'.repeat(MAX_BOOT_PROFILE_BODY_BYTES / 4)}"x"]}` })
  assert.is(huge.status, 413, 'a body over the cap')
  assert.is((await call(tt.url, 'POST', `${base(ws.image, 99)}/candidates`, { token: tokens.alice, json: { clientId: peers.alice, chunks: good, end: 'agent', durationMs: 1 } })).status, 404, 'no such version')
  assert.equal((await candidates()).candidates, [], 'nothing refused was kept')
  clock += 60_000 // the refusals count against alice's rate too: a minute later

  const first = await submit('alice', good)
  assert.is(first.status, 200, JSON.stringify(first.body))
  assert.is(first.body.candidates, 1)
  assert.is((await submit('alice', ids.slice(4, 8))).status, 409, 'one recording per user and version')
  const held = await candidates()
  assert.is(held.candidates.length, 1)
  assert.is(held.candidates[0].user, 'alice')
  assert.is(held.candidates[0].clientId, peers.alice)
  assert.is(held.candidates[0].chunks, 4)
  assert.equal(await state('alice'), { image: ws.image, version: ws.version, candidates: 1, quorum: BOOT_PROFILE_QUORUM, submitted: true, wanted: false })
  assert.is((await state('bob')).wanted, true)
  assert.is((await call(tt.url, 'GET', `${base(ws.image, ws.version)}/state`, { token: tokens.mallory })).status, 403)
})

test('a flood of recordings from one user is cut off per minute (429 with retry-after)', async () => {
  const statuses: number[] = []
  let retryAfter: string | null = null
  for (let i = 0; i < BOOT_PROFILE_SUBMITS_PER_MINUTE + 3; i++) {
    const r = await submit('flood', ['0'.repeat(64)])
    statuses.push(r.status)
    if (r.status === 429) retryAfter = r.headers.get('retry-after')
  }
  assert.equal(statuses.slice(0, BOOT_PROFILE_SUBMITS_PER_MINUTE), new Array(BOOT_PROFILE_SUBMITS_PER_MINUTE).fill(400))
  assert.equal(statuses.slice(BOOT_PROFILE_SUBMITS_PER_MINUTE), [429, 429, 429])
  assert.ok(Number(retryAfter) >= 1 && Number(retryAfter) <= 60, `retry-after ${String(retryAfter)}`)
  assert.ok((await candidates()).candidates.every((c: { user: string }) => c.user !== 'flood'))
})

test('the third user\'s recording publishes the merge, signed and served, a liar outvoted; later ones are refused', async () => {
  // alice (test above) read ids 0..3; bob reads them with 5 too; carol lies: other chunks, reversed order
  assert.is(await servedProfile(ws.image, ws.version, tokens.alice), undefined, 'nothing published yet')
  const bob = await submit('bob', [ids[0], ids[1], ids[5], ids[2], ids[3]])
  assert.is(bob.status, 200)
  assert.is(bob.body.published, undefined, 'two of three')
  const liar = [ids[7], ids[6], ids[3], ids[2], ids[1], ids[0]]
  const carol = await submit('carol', liar)
  assert.is(carol.status, 200, JSON.stringify(carol.body))
  const expected = mergeBootRecordings([ids.slice(0, 4), [ids[0]!, ids[1]!, ids[5]!, ids[2]!, ids[3]!], liar as string[]])
  assert.equal(expected, ids.slice(0, 4), 'the honest majority\'s chunks in their order')
  assert.is(carol.body.published.chunks, 4)
  assert.is(carol.body.candidates, 0)
  assert.equal(await servedProfile(ws.image, ws.version, tokens.dave), expected, 'the origin serves it, signed by the repository key')
  const listed = await candidates()
  assert.is(listed.published, 'auto')
  assert.equal(listed.candidates, [], 'the merged recordings are dropped')
  assert.is((await state('dave')).wanted, false)
  assert.is((await submit('dave', ids.slice(0, 2))).status, 409, 'a version with a profile takes no more recordings')
})

test('an admin\'s profile wins: it replaces an automatic one, drops held recordings, and no quorum overwrites it', async () => {
  const admin = createApiClient({ baseUrl: tt.url, token: tt.adminToken })
  // the automatic profile of the test above, replaced by the admin's
  await admin.json('PUT', base(ws.image, ws.version), { json: { chunks: [ids[6], ids[7]] } })
  assert.is((await candidates()).published, 'admin')
  assert.equal(await servedProfile(ws.image, ws.version, tokens.alice), [ids[6], ids[7]])

  // a new version: two recordings held, then the admin publishes; the third is refused
  const v2 = await publishAndAssign(tt, { image: 'desk', bytes: randomImage(IMAGE_BYTES), user: 'alice' })
  const ids2 = await versionChunkIds(v2.image, v2.version)
  for (const user of ['alice', 'bob']) peers[user] = await register(user, v2.image, v2.version, ids2.length)
  for (const user of ['alice', 'bob']) assert.is((await submit(user, ids2.slice(0, 3), {}, v2.image, v2.version)).status, 200)
  assert.is((await candidates(v2.image, v2.version)).candidates.length, 2)
  // the admin clears them, then two come in again, then the admin publishes
  const cleared = await call(tt.url, 'DELETE', `${base(v2.image, v2.version)}/candidates`, { token: tt.adminToken })
  assert.is(cleared.body.cleared, 2)
  // the same through the CLI: list, clear
  for (const user of ['alice', 'bob']) assert.is((await submit(user, ids2.slice(0, 3), {}, v2.image, v2.version)).status, 200)
  const env = { ...process.env, BRANCHCAST_TRACKER: tt.url, BRANCHCAST_TOKEN: tt.adminToken }
  const listed = await runCli(['profile', 'candidates', String(v2.version), '--image', v2.image], { env })
  assert.is(listed.code, 0, listed.stderr)
  assert.match(listed.stdout, /profile none, 2 of 3 recordings/)
  assert.match(listed.stdout, new RegExp(`alice +${peers.alice!} +3 chunks +agent`))
  const dropped = await runCli(['profile', 'clear', String(v2.version), '--image', v2.image, '--json'], { env })
  assert.is(JSON.parse(dropped.stdout).cleared, 2, dropped.stderr)
  for (const user of ['alice', 'bob']) assert.is((await submit(user, ids2.slice(0, 3), {}, v2.image, v2.version)).status, 200)
  await admin.json('PUT', base(v2.image, v2.version), { json: { chunks: [ids2[4]] } })
  assert.equal((await candidates(v2.image, v2.version)).candidates, [])
  peers.carol = await register('carol', v2.image, v2.version, ids2.length)
  assert.is((await submit('carol', ids2.slice(0, 3), {}, v2.image, v2.version)).status, 409)
  assert.equal(await servedProfile(v2.image, v2.version, tokens.alice), [ids2[4]])

  // the store itself refuses an automatic profile over an admin's
  const { store, repository } = tt.tracker.components
  const v = (await repository.getManifest(v2.image, v2.version)).version
  assert.is(await store.putBootProfile({ versionId: v.id, source: 'auto', document: new Uint8Array([1]), chunkCount: 1, publishedAtMs: clock, publishedBy: 'quorum' }), false)
  assert.is((await store.getBootProfile(v.id))?.source, 'admin')
})

test.run()
