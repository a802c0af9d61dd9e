// Delta chunks at publish time, over a real tracker: a second version's new chunks get
// deltas against the first version's chunks, as plain files in the store beside a signed
// index named by the manifest's digest; each rebuilds its chunk exactly from bases in the
// store; the manifest is what it always was (old nodes see nothing new); GC keeps the
// deltas while their version lives and deletes them with it.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { randomBytes } from 'node:crypto'
import { readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { applyDelta, decodeManifest, deltaIndexPath, deltaPath, encodeStoredChunk, verifyDeltaIndex, verifyManifest } from '../../../protocol/index.ts'
import { createImageRepository } from '../../../tracker/repository/index.ts'
import { startTestTracker } from '../../helpers/tracker.ts'
import type { TestTracker } from '../../helpers/tracker.ts'
import { makeTmpDir } from '../../helpers/tmp-dir.ts'

const MiB = 1024 * 1024
let t: TestTracker

const v1 = randomBytes(3 * MiB)
// an "OS patch": a few bytes changed every 300 KiB and 700 bytes inserted in the middle
const edited = Buffer.from(v1)
for (let o = 1000; o < edited.length; o += 300 * 1024) edited.write('patched!', o)
const v2 = Buffer.concat([edited.subarray(0, 1.5 * MiB), randomBytes(700), edited.subarray(1.5 * MiB)])

async function publish (bytes: Buffer): Promise<{ version: number, manifestId: string }> {
  const res = await fetch(`${t.url}/api/v1/images/img/versions?publish=true`, {
    method: 'POST', headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/octet-stream' }, body: bytes
  })
  assert.is(res.status, 201)
  return await res.json() as { version: number, manifestId: string }
}

const exists = async (path: string): Promise<boolean> => await stat(path).then(() => true, () => false)

test.before(async () => {
  t = await startTestTracker()
  const res = await fetch(`${t.url}/api/v1/images`, { method: 'POST', headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'img' }) })
  assert.is(res.status, 201)
})

test.after(async () => { await t?.stop() })

test('the first version has no delta index; the second has one, signed, and every delta rebuilds its chunk', async () => {
  const { chunks, keys, store } = t.tracker.components
  const first = await publish(v1)
  assert.not.ok(await exists(join(chunks.dir, deltaIndexPath(first.manifestId))))
  const second = await publish(v2)
  // computed after the upload answered: wait for the repository's queue, then read the index
  await t.tracker.components.repository.deltasIdle()
  const indexBytes = new Uint8Array(await readFile(join(chunks.dir, deltaIndexPath(second.manifestId))))
  const index = verifyDeltaIndex(indexBytes, { publicKey: keys.repository.publicKey, manifestDigest: second.manifestId })

  const image = await store.getImage('img')
  const v1Ids = new Set(await store.versionChunkIds((await store.getVersion(image!.id, 1))!.id))
  const v2Ids = new Set(await store.versionChunkIds((await store.getVersion(image!.id, 2))!.id))
  assert.ok(index.entries.length >= 10, `${index.entries.length} deltas`)
  let deltaBytes = 0
  let wholeBytes = 0
  for (const e of index.entries) {
    assert.ok(v2Ids.has(e.target) && !v1Ids.has(e.target), 'a delta is for a chunk new in the version')
    assert.ok(e.bases.every((b) => v1Ids.has(b)), 'its bases are chunks of the earlier version')
    const delta = new Uint8Array(await readFile(join(chunks.dir, deltaPath(e.target, e.bases))))
    assert.is(delta.byteLength, e.deltaBytes)
    const bases = new Map(await Promise.all(e.bases.map(async (b) => [b, await chunks.get(b)] as const)))
    const chunk = applyDelta(delta, (id) => bases.get(id), { target: e.target, bases: e.bases })
    assert.ok(Buffer.from(chunk).equals(await chunks.get(e.target)))
    deltaBytes += delta.byteLength
    wholeBytes += encodeStoredChunk(chunk).byteLength
  }
  assert.ok(deltaBytes * 50 < wholeBytes, `deltas ${deltaBytes} B against ${wholeBytes} B of whole chunks`)

  // the manifest is unchanged in form: a node that knows nothing of deltas verifies it as before
  const res = await fetch(`${t.url}/api/v1/images/img/versions/2/manifest`, { headers: { authorization: `Bearer ${t.adminToken}` } })
  const root = new Uint8Array(await res.arrayBuffer())
  assert.is(verifyManifest(root, { publicKey: keys.repository.publicKey, nowMs: Date.now(), image: 'img' }).version, 2)
  assert.equal(decodeManifest(root).chunkCount, (await store.getVersion(image!.id, 2))!.chunkCount)
})

test('the built-in origin serves the index and the deltas to a token for the image, and refuses others', async () => {
  const { store } = t.tracker.components
  const image = await store.getImage('img')
  const second = (await store.getVersion(image!.id, 2))!
  const tokenFor = async (name: string): Promise<string> => {
    const res = await fetch(`${t.url}/api/v1/images/${name}/origin-token`, { method: 'POST', headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ clientId: 'desk-1' }) })
    assert.is(res.status, 200)
    return (await res.json() as { token: string }).token
  }
  const token = await tokenFor('img')
  const get = async (path: string, bearer: string | null = token): Promise<Response> =>
    await fetch(`${t.url}/origin/${path}`, { headers: bearer === null ? {} : { authorization: `Bearer ${bearer}` } })

  const idx = await get(deltaIndexPath(second.manifestId!))
  assert.is(idx.status, 200)
  const index = verifyDeltaIndex(new Uint8Array(await idx.arrayBuffer()), { publicKey: t.tracker.components.keys.repository.publicKey, manifestDigest: second.manifestId! })
  const e = index.entries[0]
  const d = await get(deltaPath(e.target, e.bases))
  assert.is(d.status, 200)
  assert.is((await d.arrayBuffer()).byteLength, e.deltaBytes)

  assert.is((await get(deltaPath(e.target, e.bases), null)).status, 401, 'no token')
  assert.is((await get(`deltas/${e.target.slice(0, 2)}/${e.target}-XYZ`)).status, 400, 'not the layout')
  assert.is((await get(`deltas/${e.target.startsWith('00') ? '01' : '00'}/${e.target}-0123456789abcdef`)).status, 400, 'wrong fan-out')
  assert.is((await get(`deltas/${e.target.slice(0, 2)}/${e.target}-0123456789abcdef`)).status, 404, 'no such delta')
  const first = (await store.getVersion(image!.id, 1))!
  assert.is((await get(deltaIndexPath(first.manifestId!))).status, 404, 'a version without deltas')
  assert.is((await fetch(`${t.url}/api/v1/images`, { method: 'POST', headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'other' }) })).status, 201)
  const otherToken = await tokenFor('other')
  assert.is((await get(deltaIndexPath(second.manifestId!), otherToken)).status, 403, 'a token for another image')
  assert.is((await get(deltaPath(e.target, e.bases), otherToken)).status, 403)
})

test('GC keeps deltas while their version lives, and deletes them with it', async () => {
  const { chunks, store } = t.tracker.components
  const image = await store.getImage('img')
  const second = (await store.getVersion(image!.id, 2))!
  const indexPath = join(chunks.dir, deltaIndexPath(second.manifestId!))
  const index = verifyDeltaIndex(new Uint8Array(await readFile(indexPath)), { publicKey: t.tracker.components.keys.repository.publicKey, manifestDigest: second.manifestId! })
  const deltaFiles = index.entries.map((e) => join(chunks.dir, deltaPath(e.target, e.bases)))

  const later = createImageRepository({ ...t.tracker.components, now: () => Date.now() + 3600_000 }, { retiredKeepMs: 60_000 })
  await later.start()
  try {
    await later.gc()
    assert.ok(await exists(indexPath), 'a published version keeps its index')
    for (const f of deltaFiles) assert.ok(await exists(f), 'and its deltas')

    // a third version that drops v2's new chunks, then v2 retired past its keep time
    await publish(v1)
    await t.tracker.components.repository.deltasIdle()
    await later.retireVersion('img', 2)
    // an hour after the retirement, past the one-minute keep time
    const evenLater = createImageRepository({ ...t.tracker.components, now: () => Date.now() + 2 * 3600_000 }, { retiredKeepMs: 60_000 })
    await evenLater.start()
    const gc = await evenLater.gc().finally(async () => { await evenLater.stop() })
    assert.not.ok(await exists(indexPath), 'the retired version\'s index goes')
    for (const f of deltaFiles) assert.not.ok(await exists(f), 'and the deltas of chunks no live version names')
    assert.ok(gc.freedBytes > 0)
  } finally {
    await later.stop()
  }
})

test('a publish answers before its deltas exist; tracker shutdown stops the running computation cleanly', async () => {
  const dataDir = await makeTmpDir('branchcast-deltas-bg-')
  const tt = await startTestTracker({ config: { dataDir } })
  try {
    const admin = { authorization: `Bearer ${tt.adminToken}` }
    assert.is((await fetch(`${tt.url}/api/v1/images`, { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'big' }) })).status, 201)
    const up = async (bytes: Buffer): Promise<{ manifestId: string }> => {
      const res = await fetch(`${tt.url}/api/v1/images/big/versions?publish=true`, { method: 'POST', headers: { ...admin, 'content-type': 'application/octet-stream' }, body: bytes })
      assert.is(res.status, 201)
      return await res.json() as { manifestId: string }
    }
    const a = randomBytes(24 * MiB)
    const b = Buffer.from(a)
    for (let o = 500; o < b.length; o += 64 * 1024) b.write('patched', o)
    await up(a)
    const second = await up(b)
    const indexPath = join(tt.tracker.components.chunks.dir, deltaIndexPath(second.manifestId))
    // ~380 deltas at level 19 take seconds: the answer came first
    assert.not.ok(await exists(indexPath), 'the index is not there when the upload answers')
    // stopping mid-computation neither hangs nor writes an index for a half-done job
    await tt.stop()
    assert.not.ok(await exists(indexPath), 'no index from an aborted computation')
  } finally {
    await tt.stop().catch(() => {})
    await rm(dataDir, { recursive: true, force: true })
  }
})

test.run()
