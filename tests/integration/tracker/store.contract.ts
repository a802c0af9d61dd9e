// The storage conformance suite: every TrackerStore implementation must pass it.
// Each test gets a fresh, empty store from the factory and closes it afterwards.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash } from 'node:crypto'
import { rejects } from '../../helpers/rejects.ts'
import type { TrackerStore } from '../../../tracker/db/index.ts'

export interface StoreFactory {
  /** a fresh, empty, migrated store */
  open: () => Promise<TrackerStore>
  /** removes whatever the factory created (temp dirs, databases) */
  cleanup?: () => Promise<void>
}

const T0 = 1_700_000_000_000
const hex = (s: string): string => createHash('sha256').update(s).digest('hex')
const ids = (n: number, prefix = 'c'): string[] => Array.from({ length: n }, (_, i) => hex(`${prefix}${i}`))

async function publishedVersion (store: TrackerStore, imageId: number, chunks: string[], nowMs = T0) {
  const d = await store.createDraft({ imageId, createdBy: 'admin', nowMs })
  await store.addVersionChunks(d.id, chunks)
  await store.finalizeDraft(d.id, { manifestRoot: new Uint8Array([d.number]), manifestId: hex(`root${d.id}`), totalBytes: chunks.length * 10, chunkCount: chunks.length, newBytes: 0 })
  return store.publish(d.id, nowMs + 1)
}

export function run (name: string, factory: StoreFactory): void {
  const test = suite<{ store: TrackerStore }>(`store contract: ${name}`, {} as { store: TrackerStore })
  test.before.each(async (ctx) => { ctx.store = await factory.open() })
  test.after.each(async (ctx) => { await ctx.store.close() })
  if (factory.cleanup !== undefined) test.after(factory.cleanup)

  test('ping answers and close is idempotent', async ({ store }) => {
    await store.ping()
    assert.ok(store.dialect === 'sqlite' || store.dialect === 'mssql')
  })

  test('images: create, read, update, unique name, delete rules', async ({ store }) => {
    const img = await store.createImage({ name: 'win10', description: 'office', nowMs: T0 })
    assert.equal(await store.getImage('win10'), img)
    assert.equal(await store.getImageById(img.id), img)
    await rejects(store.createImage({ name: 'win10', nowMs: T0 }), { code: 'ERR_STORE_CONFLICT' })
    assert.is((await store.updateImage(img.id, { description: 'x' })).description, 'x')
    await rejects(store.updateImage(img.id + 999, { description: 'x' }), { code: 'ERR_STORE_NOT_FOUND' })
    await store.createImage({ name: 'alpine', nowMs: T0 })
    assert.equal((await store.listImages()).map((i) => i.name), ['alpine', 'win10'])
    const v = await publishedVersion(store, img.id, ids(3))
    await rejects(store.deleteImage(img.id), { code: 'ERR_STORE_IN_USE' })
    await store.retire(v.id, T0 + 5)
    assert.is(await store.deleteImage(img.id), true)
    assert.is(await store.getImage('win10'), undefined)
    assert.is(await store.getVersionById(v.id), undefined)
    assert.equal(await store.versionChunkIds(v.id), [])
    assert.is(await store.deleteImage(img.id), false)
  })

  test('versions: numbers are unique and only ever grow, even past deleted drafts', async ({ store }) => {
    const img = await store.createImage({ name: 'win', nowMs: T0 })
    const other = await store.createImage({ name: 'other', nowMs: T0 })
    const a = await store.createDraft({ imageId: img.id, createdBy: 'admin', nowMs: T0 })
    const b = await store.createDraft({ imageId: img.id, createdBy: 'admin', nowMs: T0 })
    assert.equal([a.number, b.number], [1, 2])
    assert.is(a.state, 'draft')
    assert.is(a.manifestRoot, null)
    assert.is(await store.deleteDraft(b.id), true)
    assert.is(await store.deleteDraft(b.id), false)
    assert.is(await store.nextVersionNumber(img.id), 3)
    const c = await store.createDraft({ imageId: img.id, createdBy: 'admin', nowMs: T0 })
    assert.is(c.number, 4)
    assert.is((await store.createDraft({ imageId: other.id, createdBy: 'admin', nowMs: T0 })).number, 1)
    await rejects(store.nextVersionNumber(99999), { code: 'ERR_STORE_NOT_FOUND' })
    await rejects(store.createDraft({ imageId: 99999, createdBy: 'admin', nowMs: T0 }), { code: 'ERR_STORE_NOT_FOUND' })
    const many = await Promise.all(Array.from({ length: 10 }, () => store.createDraft({ imageId: img.id, createdBy: 'a', nowMs: T0 })))
    assert.is(new Set(many.map((v) => v.number)).size, 10)
    assert.equal((await store.listVersions(img.id)).map((v) => v.number), [1, 4, ...many.map((v) => v.number).sort((x, y) => x - y)])
  })

  test('versions: draft → finalize → publish → retire, with state rules', async ({ store }) => {
    const img = await store.createImage({ name: 'win', nowMs: T0 })
    const d = await store.createDraft({ imageId: img.id, createdBy: 'alice', nowMs: T0, uploadId: 'up1' })
    assert.is(d.uploadId, 'up1')
    await rejects(store.publish(d.id, T0), { code: 'ERR_STORE_INVALID_STATE' }) // no manifest yet
    await rejects(store.retire(d.id, T0), { code: 'ERR_STORE_INVALID_STATE' })
    const root = new Uint8Array([1, 2, 3, 255])
    const f = await store.finalizeDraft(d.id, { manifestRoot: root, manifestId: hex('r'), totalBytes: 2 ** 40, chunkCount: 1_000_000, newBytes: 12345, expiresAtMs: T0 + 99 })
    assert.equal(f.manifestRoot, root)
    assert.is(f.manifestId, hex('r'))
    assert.is(f.totalBytes, 2 ** 40)
    assert.is(f.uploadId, null)
    assert.is(f.expiresAtMs, T0 + 99)
    const p = await store.publish(d.id, T0 + 10)
    assert.is(p.state, 'published')
    assert.is(p.publishedAtMs, T0 + 10)
    assert.is(p.createdBy, 'alice')
    assert.is(p.imageName, 'win')
    await rejects(store.publish(d.id, T0), { code: 'ERR_STORE_INVALID_STATE' })
    await rejects(store.finalizeDraft(d.id, { manifestRoot: root, manifestId: hex('r'), totalBytes: 1, chunkCount: 1, newBytes: 0 }), { code: 'ERR_STORE_INVALID_STATE' })
    await rejects(store.addVersionChunks(d.id, ids(1)), { code: 'ERR_STORE_INVALID_STATE' })
    await rejects(store.deleteDraft(d.id), { code: 'ERR_STORE_INVALID_STATE' })
    assert.equal(await store.latestPublished(img.id), p)
    assert.equal(await store.getVersion(img.id, 1), p)
    const r = await store.retire(d.id, T0 + 20)
    assert.is(r.state, 'retired')
    assert.is(r.retiredAtMs, T0 + 20)
    assert.is((await store.retire(d.id, T0 + 30)).retiredAtMs, T0 + 20) // idempotent
    assert.is(await store.latestPublished(img.id), undefined)
    await rejects(store.publish(99999, T0), { code: 'ERR_STORE_NOT_FOUND' })
  })

  test('versions: publishing below an already published number is refused (rollback protection)', async ({ store }) => {
    const img = await store.createImage({ name: 'win', nowMs: T0 })
    const slow = await store.createDraft({ imageId: img.id, createdBy: 'a', nowMs: T0 })
    const fast = await publishedVersion(store, img.id, ids(2))
    assert.ok(fast.number > slow.number)
    await store.finalizeDraft(slow.id, { manifestRoot: new Uint8Array([9]), manifestId: hex('s'), totalBytes: 1, chunkCount: 1, newBytes: 1 })
    await rejects(store.publish(slow.id, T0 + 5), { code: 'ERR_STORE_STALE_VERSION' })
    await store.retire(fast.id, T0 + 6) // still "ever published"
    await rejects(store.publish(slow.id, T0 + 7), { code: 'ERR_STORE_STALE_VERSION' })
    // a rollback republishes old content under a new, higher number
    const rb = await store.createDraft({ imageId: img.id, createdBy: 'a', nowMs: T0 + 8, sourceOf: fast.number })
    await store.addVersionChunks(rb.id, await store.versionChunkIds(fast.id))
    await store.finalizeDraft(rb.id, { manifestRoot: new Uint8Array([7]), manifestId: hex('rb'), totalBytes: 1, chunkCount: 2, newBytes: 0 })
    const pub = await store.publish(rb.id, T0 + 9)
    assert.is(pub.sourceOf, fast.number)
    assert.equal(await store.versionChunkIds(rb.id), await store.versionChunkIds(fast.id))
    assert.equal((await store.listVersions(img.id, { state: 'published' })).map((v) => v.id), [rb.id])
  })

  test('addVersionChunks: batched, duplicates absorbed, ids validated, 100k rows quickly', async ({ store }) => {
    const img = await store.createImage({ name: 'big', nowMs: T0 })
    const d = await store.createDraft({ imageId: img.id, createdBy: 'a', nowMs: T0 })
    const list = ids(100_000)
    const started = performance.now()
    await store.addVersionChunks(d.id, [...list, list[0]!, list[1]!])
    await store.addVersionChunks(d.id, list.slice(0, 10)) // a retried batch
    const ms = performance.now() - started
    assert.is((await store.versionChunkIds(d.id)).length, 100_000)
    assert.ok(ms < 20_000, `100k chunk rows took ${ms.toFixed(0)} ms`)
    let threw = false
    try { await store.addVersionChunks(d.id, ['../../etc/passwd']) } catch (err) { threw = err instanceof TypeError }
    assert.ok(threw, 'malformed chunk id is a TypeError')
    await rejects(store.addVersionChunks(99999, ids(1)), { code: 'ERR_STORE_NOT_FOUND' })
  })

  test('GC: only chunks no live version references, retired ones protected until the cutoff', async ({ store }) => {
    const img = await store.createImage({ name: 'win', nowMs: T0 })
    const [a, b, c, d, e] = ids(5, 'gc')
    const v1 = await publishedVersion(store, img.id, [a!, b!])
    const v2 = await publishedVersion(store, img.id, [b!, c!])
    const draft = await store.createDraft({ imageId: img.id, createdBy: 'x', nowMs: T0 })
    await store.addVersionChunks(draft.id, [d!])
    assert.equal(await store.unreferencedChunks([a!, b!, c!, d!, e!], { retiredCutoffMs: T0 + 1000 }), [e])
    await store.retire(v1.id, T0 + 100)
    // retired after the cutoff: still protected (can be rolled back to)
    assert.equal(await store.unreferencedChunks([a!, b!, e!], { retiredCutoffMs: T0 + 50 }), [e])
    // retired at/before the cutoff: its only-own chunk a is collectable; b is still in v2
    assert.equal((await store.unreferencedChunks([a!, b!, e!], { retiredCutoffMs: T0 + 100 })).sort(), [a!, e!].sort())
    assert.is(v2.state, 'published')
    assert.equal(await store.unreferencedChunks([], { retiredCutoffMs: T0 }), [])
  })

  test('imageHasChunk: only published or retired versions of that image', async ({ store }) => {
    const a = await store.createImage({ name: 'img-a', nowMs: T0 })
    const b = await store.createImage({ name: 'img-b', nowMs: T0 })
    const [p, q, r, d] = ids(4, 'member')
    const v = await publishedVersion(store, a.id, [p!, q!])
    await publishedVersion(store, b.id, [r!])
    const draft = await store.createDraft({ imageId: a.id, createdBy: 'x', nowMs: T0 })
    await store.addVersionChunks(draft.id, [d!])
    assert.is(await store.imageHasChunk('img-a', p!), true)
    assert.is(await store.imageHasChunk('img-b', r!), true)
    assert.is(await store.imageHasChunk('img-a', r!), false, 'a chunk of another image')
    assert.is(await store.imageHasChunk('img-a', d!), false, 'a chunk only in a draft')
    assert.is(await store.imageHasChunk('no-such', p!), false)
    assert.is(await store.imageHasChunk("img-b' OR '1'='1", p!), false, 'names are bound parameters')
    await store.retire(v.id, T0 + 10)
    assert.is(await store.imageHasChunk('img-a', q!), true, 'retired: still rollback-able')
    let threw = false
    try { await store.imageHasChunk('img-a', '../x') } catch (err) { threw = err instanceof TypeError }
    assert.ok(threw, 'malformed chunk id is a TypeError')
  })

  test('GC: upload leases set the horizon; abandoned drafts are cleaned up', async ({ store }) => {
    const img = await store.createImage({ name: 'win', nowMs: T0 })
    assert.is(await store.gcHorizonMs(T0 + 500), T0 + 500)
    const l1 = await store.beginUpload({ id: 'up-1', imageName: 'win', nowMs: T0 + 100, ttlMs: 1000 })
    await store.beginUpload({ id: 'up-2', imageName: 'win', nowMs: T0 + 200, ttlMs: 1000 })
    assert.is(l1.expiresAtMs, T0 + 1100)
    await rejects(store.beginUpload({ id: 'up-1', imageName: 'win', nowMs: T0, ttlMs: 1 }), { code: 'ERR_STORE_CONFLICT' })
    assert.is(await store.gcHorizonMs(T0 + 500), T0 + 100)
    assert.equal((await store.activeUploads(T0 + 500)).map((u) => u.id), ['up-1', 'up-2'])
    // up-1 crashes: it stops heartbeating; up-2 keeps going
    assert.is(await store.heartbeatUpload('up-2', T0 + 1050, 1000), true)
    assert.is(await store.heartbeatUpload('up-1', T0 + 1200, 1000), false) // lapsed
    assert.is(await store.gcHorizonMs(T0 + 1200), T0 + 200)
    const dead = await store.createDraft({ imageId: img.id, createdBy: 'a', nowMs: T0 + 100, uploadId: 'up-1' })
    const alive = await store.createDraft({ imageId: img.id, createdBy: 'a', nowMs: T0 + 200, uploadId: 'up-2' })
    const manual = await store.createDraft({ imageId: img.id, createdBy: 'a', nowMs: T0 + 200 })
    await store.addVersionChunks(dead.id, ids(3, 'dead'))
    assert.equal(await store.deleteAbandonedDrafts(T0 + 1200), [dead.id])
    assert.is(await store.getVersionById(dead.id), undefined)
    assert.ok(await store.getVersionById(alive.id))
    assert.ok(await store.getVersionById(manual.id))
    assert.equal((await store.unreferencedChunks(ids(3, 'dead'), { retiredCutoffMs: T0 })).length, 3)
    assert.is(await store.endUpload('up-2'), true)
    assert.is(await store.endUpload('up-2'), false)
    assert.is(await store.gcHorizonMs(T0 + 1200), T0 + 1200)
    // the finished upload's draft no longer has a live lease, but it was finalized
    await store.finalizeDraft(alive.id, { manifestRoot: new Uint8Array([1]), manifestId: hex('a'), totalBytes: 0, chunkCount: 0, newBytes: 0 })
    assert.equal(await store.deleteAbandonedDrafts(T0 + 5000), [])
  })

  test('tokens: stored by hash, unique, revoke and expiry checked on lookup', async ({ store }) => {
    const h = hex('bct_secret')
    const t = await store.createToken({ tokenHash: h, user: 'alice', groups: ['sales', 'it'], isAdmin: true, label: 'laptop', expiresAtMs: T0 + 1000, nowMs: T0 })
    assert.equal(t.groups, ['sales', 'it'])
    assert.is(t.isAdmin, true)
    assert.is(t.kind, 'user')
    await rejects(store.createToken({ tokenHash: h, user: 'bob', nowMs: T0 }), { code: 'ERR_STORE_CONFLICT' })
    assert.is((await store.findTokenByHash(h, T0 + 1)).status, 'valid')
    assert.equal(await store.findActiveToken(h, T0 + 1), t)
    assert.is((await store.findTokenByHash(h, T0 + 1000)).status, 'expired')
    assert.is(await store.findActiveToken(h, T0 + 1000), undefined)
    assert.is((await store.findTokenByHash(hex('nope'), T0)).status, 'unknown')
    const m = await store.createToken({ tokenHash: hex('m'), user: 'pc-7', kind: 'machine', nowMs: T0 })
    assert.is(await store.revokeToken(m.id, T0 + 5), true)
    assert.is(await store.revokeToken(m.id, T0 + 9), true)
    assert.is((await store.getToken(m.id))!.revokedAtMs, T0 + 5)
    const found = await store.findTokenByHash(hex('m'), T0 + 6)
    assert.is(found.status, 'revoked')
    assert.is(await store.revokeToken(99999, T0), false)
    await store.markTokenUsed(t.id, T0 + 3)
    assert.is((await store.getToken(t.id))!.lastUsedAtMs, T0 + 3)
    assert.equal((await store.listTokens()).map((x) => x.id), [t.id, m.id])
    assert.equal((await store.listTokens({ user: 'pc-7' })).map((x) => x.kind), ['machine'])
    let threw = false
    try { await store.createToken({ tokenHash: 'plaintext', user: 'x', nowMs: T0 }) } catch (err) { threw = err instanceof TypeError }
    assert.ok(threw, 'only a sha256 hex hash is accepted')
  })

  test('tokens: a read-only admin round-trips; read-only without admin is a caller mistake', async ({ store }) => {
    const ro = await store.createToken({ tokenHash: hex('ro'), user: 'auditor', isAdmin: true, readOnly: true, nowMs: T0 })
    assert.equal([ro.isAdmin, ro.readOnly], [true, true])
    assert.is((await store.getToken(ro.id))!.readOnly, true)
    const full = await store.createToken({ tokenHash: hex('full'), user: 'root', isAdmin: true, nowMs: T0 })
    assert.is(full.readOnly, false)
    let threw = false
    try { await store.createToken({ tokenHash: hex('x'), user: 'x', readOnly: true, nowMs: T0 }) } catch (err) { threw = err instanceof TypeError }
    assert.ok(threw)
  })

  test('policies: defaults, update, unique name, delete cascades assignments', async ({ store }) => {
    const p = await store.createPolicy({ name: 'office', imageName: 'win', nowMs: T0 })
    assert.is(p.pinnedVersion, null)
    assert.is(p.p2pAllowed, true)
    assert.equal(p.startup, { mode: 'manual' })
    assert.equal(p.publishedApps, [])
    await rejects(store.createPolicy({ name: 'office', imageName: 'x', nowMs: T0 }), { code: 'ERR_STORE_CONFLICT' })
    const apps = [{ name: 'Excel', command: 'excel.exe', icon: 'x.png' }]
    const u = await store.updatePolicy(p.id, {
      pinnedVersion: 3, p2pAllowed: false, originRateBytesPerSec: 1_000_000, downloadWindow: { startMinute: 1320, endMinute: 360 },
      vmMemoryMb: 4096, vmCpus: 4, publishedApps: apps, startup: { mode: 'auto', fullscreen: true }, priority: 5, expiresAtMs: T0 + 9
    }, T0 + 1)
    assert.is(u.pinnedVersion, 3)
    assert.is(u.p2pAllowed, false)
    assert.equal(u.downloadWindow, { startMinute: 1320, endMinute: 360 })
    assert.equal(u.publishedApps, apps)
    assert.equal(u.startup, { mode: 'auto', fullscreen: true })
    assert.is(u.updatedAtMs, T0 + 1)
    assert.is(u.createdAtMs, T0)
    assert.equal(await store.getPolicy(p.id), u)
    assert.equal(await store.getPolicyByName('office'), u)
    const other = await store.createPolicy({ name: 'dev', imageName: 'linux', nowMs: T0 })
    await rejects(store.updatePolicy(other.id, { name: 'office' }, T0), { code: 'ERR_STORE_CONFLICT' })
    await rejects(store.updatePolicy(99999, { priority: 1 }, T0), { code: 'ERR_STORE_NOT_FOUND' })
    assert.equal((await store.listPolicies()).map((x) => x.name), ['dev', 'office'])
    assert.equal((await store.listPolicies({ imageName: 'linux' })).map((x) => x.name), ['dev'])
    await store.assign({ policyId: p.id, subjectKind: 'user', subject: 'alice', nowMs: T0 })
    assert.is(await store.deletePolicy(p.id), true)
    assert.is(await store.deletePolicy(p.id), false)
    assert.equal(await store.listAssignments({ policyId: p.id }), [])
  })

  test('assignments: unique, unassign, policiesForSubject gives every matching assignment', async ({ store }) => {
    const low = await store.createPolicy({ name: 'low', imageName: 'win', priority: 1, nowMs: T0 })
    const high = await store.createPolicy({ name: 'high', imageName: 'win', priority: 10, nowMs: T0 })
    const viaGroup = await store.createPolicy({ name: 'grp', imageName: 'linux', priority: 1, nowMs: T0 })
    await store.createPolicy({ name: 'unrelated', imageName: 'x', priority: 100, nowMs: T0 })
    await store.assign({ policyId: low.id, subjectKind: 'user', subject: 'alice', nowMs: T0 })
    await store.assign({ policyId: high.id, subjectKind: 'group', subject: 'sales', nowMs: T0 })
    await store.assign({ policyId: high.id, subjectKind: 'user', subject: 'alice', nowMs: T0 })
    await store.assign({ policyId: viaGroup.id, subjectKind: 'group', subject: 'it', nowMs: T0 })
    await rejects(store.assign({ policyId: low.id, subjectKind: 'user', subject: 'alice', nowMs: T0 }), { code: 'ERR_STORE_CONFLICT' })
    await rejects(store.assign({ policyId: 99999, subjectKind: 'user', subject: 'alice', nowMs: T0 }), { code: 'ERR_STORE_NOT_FOUND' })
    const got = await store.policiesForSubject('alice', ['sales', 'it'])
    // by policy id, then kind, then subject: which match applies is the caller's precedence rule
    assert.equal(got.map((m) => [m.policy.name, m.via.kind]), [['low', 'user'], ['high', 'group'], ['high', 'user'], ['grp', 'group']])
    assert.equal((await store.policiesForSubject('bob', ['sales'])).map((m) => m.policy.name), ['high'])
    assert.equal(await store.policiesForSubject('carol', []), [])
    assert.is(await store.unassign({ policyId: high.id, subjectKind: 'user', subject: 'alice' }), true)
    assert.is(await store.unassign({ policyId: high.id, subjectKind: 'user', subject: 'alice' }), false)
    assert.equal((await store.policiesForSubject('alice', ['sales'])).map((m) => m.via), [{ kind: 'user', subject: 'alice' }, { kind: 'group', subject: 'sales' }])
    assert.is((await store.listAssignments({ subjectKind: 'group' })).length, 2)
  })

  test('clients: upsert keeps createdAt, list by user and site', async ({ store }) => {
    const a = await store.upsertClient({ id: 'peer-a', user: 'alice', hostname: 'pc1', site: 'paris', agentVersion: '0.1', nowMs: T0 })
    const a2 = await store.upsertClient({ id: 'peer-a', user: 'alice', hostname: 'pc1', site: 'lyon', agentVersion: '0.2', nowMs: T0 + 5 })
    assert.is(a2.createdAtMs, a.createdAtMs)
    assert.is(a2.lastSeenAtMs, T0 + 5)
    assert.is(a2.site, 'lyon')
    await store.upsertClient({ id: 'peer-b', user: 'bob', site: 'lyon', nowMs: T0 + 9 })
    assert.equal((await store.listClients()).map((c) => c.id), ['peer-b', 'peer-a'])
    assert.equal((await store.listClients({ user: 'alice' })).map((c) => c.id), ['peer-a'])
    assert.equal((await store.listClients({ site: 'lyon' })).length, 2)
    assert.equal(await store.getClient('peer-a'), a2)
    assert.is(await store.getClient('nope'), undefined)
  })

  test('clients: describe fields kept when omitted, online since, held images only move forward, pull ends', async ({ store }) => {
    await store.upsertClient({ id: 'p1', user: 'alice', hostname: 'pc1', site: 'paris', agentVersion: '0.3', os: 'linux 6.1', nowMs: T0 })
    let c = await store.upsertClient({ id: 'p1', user: 'alice', nowMs: T0 + 60_000, pull: { image: 'win', version: 4, permille: 250 } })
    assert.equal([c.hostname, c.site, c.agentVersion, c.os, c.onlineSinceMs], ['pc1', 'paris', '0.3', 'linux 6.1', T0])
    assert.equal(c.pull, { image: 'win', version: 4, permille: 250 })
    c = await store.upsertClient({ id: 'p1', user: 'alice', nowMs: T0 + 3_600_000 })
    assert.is(c.onlineSinceMs, T0 + 3_600_000, 'back after an hour of silence: online since now')
    await store.upsertClient({ id: 'p1', user: 'alice', nowMs: T0 + 3_600_001, held: { image: 'win', version: 3, policy: { name: 'std', updatedAtMs: T0 - 5 } } })
    c = await store.upsertClient({ id: 'p1', user: 'alice', nowMs: T0 + 3_600_002, held: { image: 'win', version: 4 } })
    assert.is(c.pull, null, 'holding the version it pulled ends the pull')
    await store.upsertClient({ id: 'p1', user: 'alice', nowMs: T0 + 3_600_003, held: { image: 'win', version: 2 } })
    await store.upsertClient({ id: 'p1', user: 'alice', nowMs: T0 + 3_600_004, workspace: { win: { state: 'running', version: 4 } } })
    const detail = await store.getClientDetail('p1')
    assert.equal(detail?.images, [{ image: 'win', version: 4, heldSinceMs: T0 + 3_600_002, policy: 'std', policyUpdatedAtMs: T0 - 5, updatedAtMs: T0 + 3_600_003 }])
    assert.equal(detail?.workspace, { win: { state: 'running', version: 4 } })
    assert.is(await store.getClientDetail('nope'), undefined)
  })

  test('clients: at most maxClientsPerUser ids per user; known ids still refresh', async ({ store }) => {
    for (let i = 0; i < 3; i++) await store.upsertClient({ id: `c${i}`, user: 'mallory', nowMs: T0, maxClientsPerUser: 3 })
    await rejects(store.upsertClient({ id: 'c3', user: 'mallory', nowMs: T0, maxClientsPerUser: 3 }), { code: 'ERR_STORE_CLIENT_LIMIT' })
    await store.upsertClient({ id: 'c1', user: 'mallory', nowMs: T0 + 1, maxClientsPerUser: 3 })
    await store.upsertClient({ id: 'other', user: 'alice', nowMs: T0, maxClientsPerUser: 3 })
    assert.is(await store.countClients('mallory'), 3)
    assert.is(await store.getClient('c3'), undefined)
  })

  test('queryClients: filters, search with wildcards as data, sort, page, total', async ({ store }) => {
    const add = (id: string, user: string, site: string, hostname: string, nowMs: number) => store.upsertClient({ id, user, site, hostname, nowMs })
    await add('n1', 'alice', 'paris', 'PC-1', T0 + 1)
    await add('n2', 'bob', 'paris', 'pc_2', T0 + 2)
    await add('n3', 'carol', 'lyon', 'pc-3', T0 + 3)
    await store.upsertClient({ id: 'n3', user: 'carol', nowMs: T0 + 4, held: { image: 'win', version: 1 } })
    const ids = (r: { clients: Array<{ id: string }> }) => r.clients.map((c) => c.id)
    assert.equal(ids(await store.queryClients()), ['n3', 'n2', 'n1'])
    assert.equal(ids(await store.queryClients({ site: 'paris' })), ['n2', 'n1'])
    assert.equal(ids(await store.queryClients({ image: 'win' })), ['n3'])
    assert.equal(ids(await store.queryClients({ search: '_' })), ['n2'], '_ is not a wildcard')
    assert.equal(ids(await store.queryClients({ seen: { state: 'offline', sinceMs: T0 + 2 } })), ['n1'])
    assert.equal(ids(await store.queryClients({ seen: { state: 'online', sinceMs: T0 + 2 } })), ['n3', 'n2'])
    assert.equal(ids(await store.queryClients({ sort: 'user', order: 'desc' })), ['n3', 'n2', 'n1'])
    const page = await store.queryClients({ sort: 'id', offset: 1, limit: 1 })
    assert.equal([ids(page), page.total], [['n2'], 3])
    assert.equal((await store.queryClients({ image: 'win' })).clients[0]!.images.map((i) => i.version), [1])
  })

  test('swarm: same site first, excluded self, expiry, join order kept across announces', async ({ store }) => {
    const base = { image: 'win', version: 3, addrs: ['/ip4/10.0.0.1/tcp/4001'], ttlMs: 1000 }
    const have = new Uint8Array([0b1010_0000, 0xff])
    await store.upsertMember({ ...base, peerId: 'p1', clientId: 'c1', site: 'paris', have, haveCount: 10, nowMs: T0 })
    await store.upsertMember({ ...base, peerId: 'p2', clientId: 'c2', site: 'lyon', have, haveCount: 99, nowMs: T0 + 1 })
    await store.upsertMember({ ...base, peerId: 'p3', clientId: 'c3', site: 'paris', have, haveCount: 50, nowMs: T0 + 2 })
    await store.upsertMember({ ...base, peerId: 'p4', clientId: 'c4', site: 'paris', have, haveCount: 5, nowMs: T0 + 3 })
    await store.upsertMember({ ...base, version: 2, peerId: 'old', clientId: 'c9', site: 'paris', have, haveCount: 1, nowMs: T0 })
    const m = await store.membersFor('win', 3, { site: 'paris', excludePeerId: 'p4', nowMs: T0 + 10 })
    assert.equal(m.map((x) => x.peerId), ['p3', 'p1', 'p2'])
    assert.equal(m[0]!.have, have)
    assert.equal(m[0]!.addrs, base.addrs)
    assert.is((await store.membersFor('win', 3, { nowMs: T0 + 10, limit: 2 })).length, 2)
    // p1 re-announces: its join time (its place in the origin split) is kept
    const again = await store.upsertMember({ ...base, peerId: 'p1', clientId: 'c1', site: 'paris', have: new Uint8Array([0xff]), haveCount: 60, nowMs: T0 + 500 })
    assert.is(again.joinedAtMs, T0)
    assert.is(again.expiresAtMs, T0 + 1500)
    assert.equal((await store.siteMembers('win', 3, 'paris', T0 + 600)).map((x) => x.peerId), ['p1', 'p3', 'p4'])
    // p3 and p4 lapse (expires T0+1002/3): gone from answers before expireMembers runs
    assert.equal((await store.membersFor('win', 3, { site: 'paris', nowMs: T0 + 1100 })).map((x) => x.peerId), ['p1'])
    assert.equal(await store.swarmSizes(T0 + 1100), [{ image: 'win', version: 3, members: 1 }])
    assert.is(await store.expireMembers(T0 + 1100), 4) // p2, p3, p4 and old (v2)
    // p3 comes back after lapsing: it rejoins at the back
    const back = await store.upsertMember({ ...base, peerId: 'p3', clientId: 'c3', site: 'paris', have, haveCount: 50, nowMs: T0 + 1200 })
    assert.is(back.joinedAtMs, T0 + 1200)
    assert.equal((await store.siteMembers('win', 3, 'paris', T0 + 1200)).map((x) => x.peerId), ['p1', 'p3'])
    assert.is(await store.removeMember('win', 3, 'p3'), true)
    assert.is(await store.removeMember('win', 3, 'p3'), false)
  })

  test('events: idempotent by id within and across batches', async ({ store }) => {
    const ev = (id: string, atMs: number, type = 'pull.done') => ({ id, clientId: 'peer-a', user: 'alice', type, atMs, payload: { bytesFromPeers: 5, nested: { ok: true } } })
    const first = await store.insertEvents([ev('e1', T0), ev('e2', T0 + 1), ev('e1', T0)], T0 + 10)
    assert.equal(first, { inserted: 2, duplicates: 1 })
    const second = await store.insertEvents([ev('e2', T0 + 1), ev('e3', T0 + 2)], T0 + 20)
    assert.equal(second, { inserted: 1, duplicates: 1 })
    assert.equal(await store.insertEvents([], T0), { inserted: 0, duplicates: 0 })
    const all = await store.queryEvents({ order: 'asc' })
    assert.equal(all.map((e) => e.id), ['e1', 'e2', 'e3'])
    assert.equal(all[0]!.payload, { bytesFromPeers: 5, nested: { ok: true } })
    assert.is(all[1]!.receivedAtMs, T0 + 10) // the duplicate did not overwrite
    const big = Array.from({ length: 1500 }, (_, i) => ev(`b${i}`, T0 + 100 + i, 'heartbeat'))
    assert.equal(await store.insertEvents(big, T0), { inserted: 1500, duplicates: 0 })
  })

  test('events: site/host/image columns, type sets and suffixes, keyset paging, pruning in bounded batches', async ({ store }) => {
    const ev = (id: string, atMs: number, type: string, site: string) => ({ id, clientId: 'c', user: 'u', type, atMs, site, host: `h-${site}`, image: 'win', payload: {} })
    await store.insertEvents([ev('a', T0, 'pull.failed', 'paris'), ev('b', T0 + 1, 'acme.sync.failed', 'lyon'), ev('c', T0 + 1, 'pull.completed', 'paris'), ev('d', T0 + 2, 'peer.banned', 'paris')], T0 + 10)
    const q = async (query: Parameters<TrackerStore['queryEvents']>[0]) => (await store.queryEvents(query)).map((e) => e.id)
    assert.equal(await q({ site: 'paris', order: 'asc' }), ['a', 'c', 'd'])
    assert.equal(await q({ host: 'h-lyon' }), ['b'])
    assert.equal(await q({ typeIn: ['peer.banned'], typeSuffixes: ['.failed'], order: 'asc' }), ['a', 'b', 'd'])
    assert.equal(await q({ typeIn: [], typeSuffixes: [] }), [])
    assert.equal(await q({ after: { atMs: T0 + 1, id: 'c' } }), ['b', 'a'])
    assert.equal(await q({ after: { atMs: T0 + 1, id: 'b' }, order: 'asc' }), ['c', 'd'])
    const e = (await store.queryEvents({ type: 'pull.failed' }))[0]!
    assert.equal([e.site, e.host, e.image], ['paris', 'h-paris', 'win'])
    assert.is(await store.pruneEvents(T0 + 2, 2), 2)
    assert.is(await store.pruneEvents(T0 + 2, 2), 1)
    assert.is(await store.pruneEvents(T0 + 2, 2), 0)
    assert.equal(await q({}), ['d'])
    // a future-dated event goes once it was received before the cutoff
    await store.insertEvents([ev('future', T0 + 1e12, 'x.y', 'paris')], T0 + 20)
    assert.is(await store.pruneEvents(T0 + 30, 10), 2)
  })

  test('recordReport: the quota, the client row and the first events in one transaction; the rest pending', async ({ store }) => {
    const ev = (id: string, atMs: number) => ({ id, clientId: 'desk', user: 'alice', type: 'session.started', atMs, payload: {}, site: 'paris', host: 'pc1' })
    const seen: Array<string | undefined> = []
    const report = (nowMs: number, events: ReturnType<typeof ev>[], limit = 100) => store.recordReport({
      client: { id: 'desk', user: 'alice', hostname: 'pc1', site: 'paris', nowMs, maxClientsPerUser: 2 },
      quota: { key: 'events:alice', windowStartMs: T0, amount: events.length, limit },
      contents: (current) => {
        seen.push(current?.hostname)
        return { state: { workspace: { win: { state: 'running', sinceMs: nowMs } } }, events }
      },
      storeNow: 2,
      receivedAtMs: nowMs
    })
    const first = await report(T0, [ev('a', T0), ev('b', T0 + 1), ev('a', T0), ev('c', T0 + 2)])
    assert.equal(first, { stored: true, inserted: 2, duplicates: 0, pending: [ev('a', T0), ev('c', T0 + 2)] })
    assert.equal(seen, [undefined], 'a new client: contents saw no row')
    const desk = await store.getClient('desk')
    assert.equal([desk?.user, desk?.hostname, desk?.site, desk?.lastSeenAtMs, desk?.workspace], ['alice', 'pc1', 'paris', T0, { win: { state: 'running', sinceMs: T0 } }])
    assert.equal((await store.queryEvents({ order: 'asc' })).map((e) => e.id), ['a', 'b'])
    // the same events again: duplicates, and contents sees the row as the first report left it
    const again = await report(T0 + 5, [ev('a', T0), ev('b', T0 + 1)])
    assert.equal(again, { stored: true, inserted: 0, duplicates: 2, pending: [] })
    assert.equal(seen, [undefined, 'pc1'])
    assert.is((await store.getClient('desk'))?.lastSeenAtMs, T0 + 5)
    assert.is(await store.addUsage('events:alice', T0, 0), 6, 'both reports counted')
  })

  test('recordReport: past the quota only the count is kept; a refused report keeps nothing', async ({ store }) => {
    const ev = (id: string) => ({ id, clientId: 'desk', user: 'alice', type: 't', atMs: T0, payload: {} })
    const input = (id: string, user: string, limit: number, refuse = false) => ({
      client: { id, user, nowMs: T0, maxClientsPerUser: 1 },
      quota: { key: `events:${user}`, windowStartMs: T0, amount: 2, limit },
      contents: (current: { user: string } | undefined) => {
        if (refuse || (current !== undefined && current.user !== user)) throw new Error('refused')
        return { state: {}, events: [ev(`${id}-1`), ev(`${id}-2`)] }
      },
      storeNow: 100,
      receivedAtMs: T0
    })
    assert.equal(await store.recordReport(input('desk', 'alice', 1)), { stored: false, quotaUsed: 2 })
    assert.is(await store.getClient('desk'), undefined)
    assert.equal(await store.queryEvents(), [])
    assert.is(await store.addUsage('events:alice', T0, 0), 2, 'the refused report still counts')
    // contents refusing (another user's client id) and the client cap: nothing kept, not even the count
    await store.upsertClient({ id: 'bobs', user: 'bob', nowMs: T0 })
    await rejects(store.recordReport(input('bobs', 'mallory', 100)), { message: /refused/ })
    await rejects(store.recordReport(input('m1', 'mallory', 100, true)), { message: /refused/ })
    assert.equal((await store.recordReport(input('m1', 'mallory', 100))).stored, true)
    await rejects(store.recordReport(input('m2', 'mallory', 100)), { code: 'ERR_STORE_CLIENT_LIMIT' })
    assert.is(await store.addUsage('events:mallory', T0, 0), 2)
    assert.equal([(await store.getClient('bobs'))?.user, await store.getClient('m2')], ['bob', undefined])
    assert.equal((await store.queryEvents({ order: 'asc' })).map((e) => e.id), ['m1-1', 'm1-2'])
  })

  test('offload rollup: fresh events only, summed per day and site, reasons kept, pruned by day', async ({ store }) => {
    const DAY = 86_400_000
    const day0 = Math.floor(T0 / DAY) * DAY
    const pull = (id: string, dayMs: number, site: string, image: string, origin: number, reasons: Record<string, number>) => ({
      id, clientId: 'c', user: 'u', type: 'pull.completed', atMs: dayMs + 5, payload: {}, site, image,
      offload: { dayMs, site, image, originBytes: origin, peerBytes: 10, localBytes: 1, decodedOriginBytes: origin * 2, decodedPeerBytes: 20, originBytesByReason: reasons }
    })
    await store.insertEvents([pull('a', day0, 'paris', 'win', 100, { share: 100 }), pull('b', day0, 'paris', 'linux', 50, { share: 20, 'no-peer': 30 }), pull('a', day0, 'paris', 'win', 100, { share: 100 })], T0)
    await store.insertEvents([pull('b', day0, 'paris', 'linux', 50, { share: 20, 'no-peer': 30 }), pull('c', day0 + DAY, 'lyon', 'win', 7, {})], T0)
    assert.equal(await store.offloadByDay(), [
      { dayMs: day0 + DAY, site: 'lyon', pulls: 1, originBytes: 7, peerBytes: 10, localBytes: 1, decodedOriginBytes: 14, decodedPeerBytes: 20, originBytesByReason: {} },
      { dayMs: day0, site: 'paris', pulls: 2, originBytes: 150, peerBytes: 20, localBytes: 2, decodedOriginBytes: 300, decodedPeerBytes: 40, originBytesByReason: { share: 120, 'no-peer': 30 } }
    ])
    assert.equal((await store.offloadByDay({ image: 'win', site: 'paris' })).map((r) => r.originBytes), [100])
    assert.equal((await store.offloadByDay({ fromMs: day0 + DAY })).map((r) => r.site), ['lyon'])
    assert.is(await store.pruneOffload(day0 + DAY), 2)
    assert.equal((await store.offloadByDay()).map((r) => r.site), ['lyon'])
  })

  test('deploymentCounts and usage counters', async ({ store }) => {
    await store.upsertClient({ id: 'a', user: 'alice', site: 'paris', nowMs: T0, held: { image: 'win', version: 2 } })
    await store.upsertClient({ id: 'b', user: 'bob', site: 'paris', nowMs: T0 + 5, held: { image: 'win', version: 2 } })
    await store.upsertClient({ id: 'c', user: 'carol', site: 'lyon', nowMs: T0 + 9, held: { image: 'win', version: 1 }, pull: { image: 'win', version: 2, permille: 500 } })
    const all = await store.deploymentCounts()
    assert.equal(all.held.sort((x, y) => x.version - y.version), [
      { image: 'win', version: 1, clients: 1, firstHeldAtMs: T0 + 9, lastHeldAtMs: T0 + 9 },
      { image: 'win', version: 2, clients: 2, firstHeldAtMs: T0, lastHeldAtMs: T0 + 5 }
    ])
    assert.equal(all.pulling, [{ image: 'win', version: 2, clients: 1 }])
    assert.equal((await store.deploymentCounts({ site: 'lyon' })).held.map((r) => r.version), [1])
    assert.is(await store.addUsage('batches:alice', T0, 1), 1)
    assert.is(await store.addUsage('batches:alice', T0, 5), 6)
    assert.is(await store.addUsage('batches:alice', T0 + 60_000, 1), 1)
    assert.is(await store.pruneUsage(T0 + 1), 1)
    assert.is(await store.addUsage('batches:alice', T0, 1), 1)
  })

  test('events: filters, time range, order, limit; SQL metacharacters are data', async ({ store }) => {
    const evil = "x' OR '1'='1; DROP TABLE events; --"
    await store.insertEvents([
      { id: 'a', clientId: 'c1', user: 'alice', type: 'pull.done', atMs: T0, payload: {} },
      { id: 'b', clientId: 'c2', user: 'bob', type: 'pull.done', atMs: T0 + 10, payload: {} },
      { id: 'c', clientId: 'c1', user: 'alice', type: 'vm.start', atMs: T0 + 20, payload: { q: evil } },
      { id: "d'; --", clientId: evil, user: evil, type: 'vm.start', atMs: T0 + 30, payload: null }
    ], T0 + 100)
    assert.equal((await store.queryEvents({ type: 'pull.done' })).map((e) => e.id), ['b', 'a'])
    assert.equal((await store.queryEvents({ clientId: 'c1', order: 'asc' })).map((e) => e.id), ['a', 'c'])
    assert.equal((await store.queryEvents({ user: 'alice', type: 'vm.start' })).map((e) => e.id), ['c'])
    assert.equal((await store.queryEvents({ clientIdIn: ['c1', 'c2'], order: 'asc' })).map((e) => e.id), ['a', 'b', 'c'])
    assert.equal(await store.queryEvents({ clientIdIn: [] }), [])
    assert.equal((await store.queryEvents({ fromMs: T0 + 10, toMs: T0 + 30, order: 'asc' })).map((e) => e.id), ['b', 'c'])
    assert.equal((await store.queryEvents({ limit: 1 })).map((e) => e.id), ["d'; --"])
    assert.equal(await store.queryEvents({ type: evil }), [])
    assert.equal(await store.queryEvents({ user: "alice' OR '1'='1" }), [])
    assert.equal(await store.queryEvents({ clientId: '%' }), [])
    assert.equal((await store.queryEvents({ clientId: evil })).map((e) => e.user), [evil])
    assert.equal((await store.queryEvents({ type: 'pull.done' })).length, 2) // table still there
    assert.is(((await store.queryEvents({ user: 'alice' }))[0]!.payload as { q: string }).q, evil)
  })

  test('boot profiles: one recording per user and version, bounded, dropped by a profile; an admin profile is never replaced by an automatic one', async ({ store }) => {
    const img = await store.createImage({ name: 'bp', nowMs: T0 })
    const v = await publishedVersion(store, img.id, ids(4))
    const rec = (user: string, chunks = ids(2)) => ({ versionId: v.id, user, clientId: `peer-${user}`, chunks, end: 'agent', durationMs: 4000, nowMs: T0 + user.length })
    assert.equal((await store.addBootProfileCandidate(rec('al'), 2)).map((c) => c.user), ['al'])
    await rejects(store.addBootProfileCandidate(rec('al', ids(3)), 2), { code: 'ERR_STORE_CONFLICT' })
    const two = await store.addBootProfileCandidate(rec('bob'), 2)
    assert.equal(two.map((c) => [c.user, c.clientId, c.chunks, c.end, c.durationMs]), [['al', 'peer-al', ids(2), 'agent', 4000], ['bob', 'peer-bob', ids(2), 'agent', 4000]])
    await rejects(store.addBootProfileCandidate(rec('carol'), 2), { code: 'ERR_STORE_INVALID_STATE' })
    await rejects(store.addBootProfileCandidate({ ...rec('dave'), chunks: ['nope'] }, 8), { name: 'TypeError' })
    assert.is(await store.clearBootProfileCandidates(v.id), 2)
    assert.equal(await store.listBootProfileCandidates(v.id), [])

    await store.addBootProfileCandidate(rec('al'), 8)
    const doc = new Uint8Array([1, 2, 3])
    assert.is(await store.putBootProfile({ versionId: v.id, source: 'auto', document: doc, chunkCount: 2, publishedAtMs: T0, publishedBy: 'quorum of 3' }), true)
    assert.equal(await store.listBootProfileCandidates(v.id), [], 'a published profile drops the recordings')
    await rejects(store.addBootProfileCandidate(rec('bob'), 8), { code: 'ERR_STORE_INVALID_STATE' })
    assert.is(await store.putBootProfile({ versionId: v.id, source: 'admin', document: new Uint8Array([9]), chunkCount: 1, publishedAtMs: T0 + 1, publishedBy: 'admin' }), true)
    assert.is(await store.putBootProfile({ versionId: v.id, source: 'auto', document: doc, chunkCount: 2, publishedAtMs: T0 + 2, publishedBy: 'quorum of 3' }), false)
    const held = await store.getBootProfile(v.id)
    assert.equal([held?.source, [...held!.document], held?.chunkCount, held?.publishedAtMs, held?.publishedBy], ['admin', [9], 1, T0 + 1, 'admin'])
    assert.is(await store.getBootProfile(v.id + 1000), undefined)
  })

  test.run()
}
