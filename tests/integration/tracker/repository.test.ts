// The image repository over real HTTP: publish → signed manifest → chunk list → exact
// bytes; dedup across versions; lifecycle numbers; authorisation per route; uploads that
// are too large, truncated or killed leave nothing referenced; GC during a publish.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { randomBytes, createHash } from 'node:crypto'
import { connect } from 'node:net'
import type { Socket } from 'node:net'
import { request as httpRequest } from 'node:http'
import { readChunkList } from '../../../protocol/manifest/chunk-list.ts'
import { verifyManifest } from '../../../protocol/manifest/manifest.ts'
import type { Manifest } from '../../../protocol/manifest/manifest.ts'
import { importPublicKey } from '../../../protocol/signing/signing.ts'
import { createImageRepository } from '../../../tracker/repository/index.ts'
import { ImageListSchema, ImageVersionListSchema, RepositoryKeysSchema } from '../../../protocol/api/images.ts'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { makeTmpDir } from '../../helpers/tmp-dir.ts'
import { startTestTracker } from '../../helpers/tracker.ts'
import type { TestTracker } from '../../helpers/tracker.ts'
import { rejects } from '../../helpers/rejects.ts'

const MiB = 1024 * 1024
const execFileAsync = promisify(execFile)
const BIN = new URL('../../../bin/branchcast.ts', import.meta.url).pathname
let t: TestTracker
let alice: string // assigned to "img"
let bob: string // assigned nothing
const v1 = randomBytes(3 * MiB)
const v2 = Buffer.from(v1)
v2.fill(7, 1 * MiB, 1 * MiB + 100) // a small edit

async function api (method: string, path: string, opts: { token?: string | null, json?: unknown, body?: RequestInit['body'] | ReadableStream<Uint8Array>, headers?: Record<string, string>, signal?: AbortSignal } = {}): Promise<Response> {
  const headers: Record<string, string> = { ...opts.headers }
  const token = opts.token === undefined ? t.adminToken : opts.token
  if (token !== null) headers.authorization = `Bearer ${token}`
  let body = opts.body
  if (opts.json !== undefined) { headers['content-type'] = 'application/json'; body = JSON.stringify(opts.json) }
  return await fetch(`${t.url}/api/v1${path}`, { method, headers, body: body as RequestInit['body'], duplex: 'half', signal: opts.signal } as RequestInit)
}

async function upload (image: string, bytes: Uint8Array, query = ''): Promise<Response> {
  return await api('POST', `/images/${image}/versions${query}`, { body: bytes as Uint8Array<ArrayBuffer>, headers: { 'content-type': 'application/octet-stream' } })
}

/** Waits for `cond` with a bounded timeout (polling a condition, not sleeping for a guess). */
async function waitFor (cond: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

async function imageId (name: string): Promise<number> {
  return (await t.tracker.components.store.getImage(name))!.id
}

/** No unfinished drafts, no upload leases: a failed upload left nothing behind. */
async function clean (name: string): Promise<boolean> {
  const { store, now } = t.tracker.components
  const drafts = await store.listVersions(await imageId(name), { state: 'draft' })
  return drafts.every((d) => d.manifestRoot !== null && d.uploadId === null) && (await store.activeUploads(now())).length === 0
}

async function manifestOf (name: string, n: string | number, token?: string): Promise<Manifest> {
  const res = await api('GET', `/images/${name}/versions/${n}/manifest`, { token })
  assert.is(res.status, 200)
  assert.is(res.headers.get('content-type'), 'application/octet-stream')
  const keys = await (await api('GET', '/repository', { token })).json() as { repository: { publicKey: string } }
  return verifyManifest(new Uint8Array(await res.arrayBuffer()), { publicKey: importPublicKey(keys.repository.publicKey), nowMs: Date.now(), image: name })
}

/** Reassembles an image from the tracker's chunk store through the signed chunk list. */
async function download (m: Manifest): Promise<Buffer> {
  const { chunks } = t.tracker.components
  const out: Buffer[] = []
  for await (const ref of readChunkList(m, async (id) => await chunks.get(id))) out.push(Buffer.from(await chunks.get(ref.id)))
  return Buffer.concat(out)
}

test.before(async () => {
  t = await startTestTracker()
  alice = await t.tokenFor('alice')
  bob = await t.tokenFor('bob')
  const res = await api('POST', '/images', { json: { name: 'img', description: 'test image' } })
  assert.is(res.status, 201)
  await api('POST', '/images', { json: { name: 'other' } })
  const { store } = t.tracker.components
  const policy = await store.createPolicy({ name: 'img-for-alice', imageName: 'img', nowMs: Date.now() })
  await store.assign({ policyId: policy.id, subjectKind: 'user', subject: 'alice', nowMs: Date.now() })
})

test.after(async () => { await t?.stop() })

test('publish: the signed manifest names chunks that reassemble the exact bytes', async () => {
  const res = await upload('img', v1, '?publish=true')
  assert.is(res.status, 201)
  const r = await res.json() as Record<string, unknown>
  assert.is(r.version, 1)
  assert.is(r.state, 'published')
  assert.is(r.totalBytes, v1.length)
  assert.is(r.newBytes, v1.length)
  assert.is(r.storedBytes, 0)
  assert.ok((r.chunkCount as number) > 10)
  assert.is(r.imageSha256, createHash('sha256').update(v1).digest('hex'))
  const m = await manifestOf('img', 'latest')
  assert.is(m.version, 1)
  assert.is(m.imageSha256, r.imageSha256)
  assert.ok((await download(m)).equals(v1))
})

test('a second version with a small edit stores only a few new chunks', async () => {
  const res = await upload('img', v2)
  assert.is(res.status, 201)
  const r = await res.json() as { version: number, state: string, newBytes: number, storedBytes: number, totalBytes: number }
  assert.is(r.version, 2)
  assert.is(r.state, 'draft')
  assert.ok(r.newBytes > 0 && r.newBytes <= 4 * 256 * 1024, `newBytes ${r.newBytes}`)
  assert.is(r.newBytes + r.storedBytes, r.totalBytes)
  assert.ok((await download(await manifestOf('img', 2))).equals(v2))
})

test('lifecycle: publish, retire, rollback under a new number', async () => {
  let res = await api('POST', '/images/img/versions/2/publish')
  assert.is(res.status, 200)
  assert.is((await res.json() as { state: string }).state, 'published')
  assert.is((await manifestOf('img', 'latest')).version, 2)
  res = await api('POST', '/images/img/versions/2/retire')
  assert.is((await res.json() as { state: string }).state, 'retired')
  res = await api('POST', '/images/img/rollback', { json: { to: 1 } })
  assert.is(res.status, 201)
  const rb = await res.json() as { version: number, state: string, sourceOf: number }
  assert.equal([rb.version, rb.state, rb.sourceOf], [3, 'published', 1])
  const m3 = await manifestOf('img', 'latest')
  const m1 = await manifestOf('img', 1)
  assert.is(m3.version, 3)
  assert.equal(m3.parts, m1.parts)
  assert.ok((await download(m3)).equals(v1))
  // a retired version cannot be published again, and version 1 is older than 3
  assert.is((await api('POST', '/images/img/versions/2/publish')).status, 409)
  res = await api('GET', '/images/img/versions')
  const list = (await res.json() as { versions: Array<{ version: number, state: string }> }).versions
  assert.equal(list.map((v) => [v.version, v.state]), [[1, 'published'], [2, 'retired'], [3, 'published']])
  assert.is((await api('POST', '/images/img/versions/9/publish')).status, 404)
  assert.is((await api('POST', '/images/img/rollback', { json: { to: 'x' } })).status, 400)
})

test('authorisation per route', async () => {
  const octet = { 'content-type': 'application/octet-stream' }
  const cases: Array<[string, string, { json?: unknown, body?: RequestInit['body'], headers?: Record<string, string> }, number, number, number, number]> = [
    // method, path, body, anonymous, bob (unassigned), alice (assigned), admin
    ['POST', '/images', { json: { name: 'nope' } }, 401, 403, 403, 201],
    ['GET', '/images', {}, 401, 200, 200, 200],
    ['GET', '/images/img', {}, 401, 403, 200, 200],
    ['POST', '/images/img/versions', { body: 'x', headers: octet }, 401, 403, 403, 201],
    ['GET', '/images/img/versions', {}, 401, 403, 200, 200],
    ['POST', '/images/img/versions/4/publish', {}, 401, 403, 403, 200],
    ['POST', '/images/img/versions/4/retire', {}, 401, 403, 403, 200],
    ['POST', '/images/img/rollback', { json: { to: 1 } }, 401, 403, 403, 201],
    ['GET', '/images/img/versions/latest/manifest', {}, 401, 403, 200, 200],
    ['GET', '/images/img/versions/1/manifest', {}, 401, 403, 200, 200],
    ['GET', '/repository', {}, 401, 200, 200, 200],
    ['POST', '/gc', {}, 401, 403, 403, 200]
  ]
  for (const [method, path, body, anon, b, a, admin] of cases) {
    for (const [token, want, who] of [[null, anon, 'anonymous'], [bob, b, 'bob'], [alice, a, 'alice'], [undefined, admin, 'admin']] as const) {
      const res = await api(method, path, { ...body, token })
      assert.is(res.status, want, `${who} ${method} ${path}: ${res.status} ${await res.clone().text()}`)
      await res.body?.cancel()
    }
  }
  // users see only what is assigned to them
  const imgs = async (token: string): Promise<string[]> => ((await (await api('GET', '/images', { token })).json()) as { images: Array<{ name: string }> }).images.map((i) => i.name).sort()
  assert.equal(await imgs(alice), ['img'])
  assert.equal(await imgs(bob), [])
  assert.equal(await imgs(t.adminToken), ['img', 'nope', 'other'])
  // a user never sees drafts or retired versions
  const draft = await (await upload('img', Buffer.from('draft bytes'))).json() as { version: number }
  assert.is((await api('GET', `/images/img/versions/${draft.version}/manifest`, { token: alice })).status, 404)
  const seen = ((await (await api('GET', '/images/img/versions', { token: alice })).json()) as { versions: Array<{ state: string }> }).versions
  assert.ok(seen.every((v) => v.state === 'published'))
})

test('bad uploads: wrong type, bad names, empty', async () => {
  assert.is((await api('POST', '/images/img/versions', { body: 'x', headers: { 'content-type': 'text/plain' } })).status, 415)
  assert.is((await api('POST', '/images', { json: { name: '../etc' } })).status, 400)
  assert.is((await api('POST', '/images', { json: { name: 'img' } })).status, 409)
  assert.is((await upload('nosuch', Buffer.from('x'))).status, 404)
  assert.is((await upload('img', Buffer.alloc(0))).status, 400)
  assert.ok(await clean('img'))
})

test('oversized upload: 413 from the declared length, and from the bytes streamed past the cap', async () => {
  // declared: refused before the body is read
  const status = await new Promise<number>((resolve, reject) => {
    const req = httpRequest(`${t.url}/api/v1/images/img/versions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/octet-stream', 'content-length': String(2 ** 41) }
    }, (res) => { resolve(res.statusCode ?? 0); res.resume(); req.destroy() })
    req.on('error', reject)
    req.write(Buffer.alloc(1024))
  })
  assert.is(status, 413)
  // streamed past the cap (no declared length): the service rolls back
  const repo = createImageRepository(t.tracker.components, { maxUploadBytes: 512 * 1024 })
  await repo.start()
  async function * source (): AsyncGenerator<Uint8Array> { for (let i = 0; i < 8; i++) yield randomBytes(128 * 1024) }
  await rejects(repo.publish({ image: 'img', source: source(), createdBy: 'admin' }), { code: 'ERR_PAYLOAD_TOO_LARGE' })
  await repo.stop()
  assert.ok(await clean('img'))
})

test('a stalled upload fails after the idle timeout and rolls back', async () => {
  const repo = createImageRepository(t.tracker.components, { uploadIdleMs: 300 })
  await repo.start()
  async function * stalled (): AsyncGenerator<Uint8Array> {
    yield randomBytes(64 * 1024)
    await new Promise(() => {}) // the client stops sending without closing
  }
  await rejects(repo.publish({ image: 'img', source: stalled(), createdBy: 'admin' }), { code: 'ERR_UPLOAD_IDLE' })
  await repo.stop()
  assert.ok(await clean('img'))
})

/** Sends a raw request declaring `declared` bytes, writes `sent`, then ends or kills the socket. */
async function partialUpload (declared: number, sent: number, how: 'end' | 'destroy'): Promise<Socket> {
  const url = new URL(t.url)
  const before = t.tracker.components.chunks.count
  const socket = connect(Number(url.port), url.hostname)
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  socket.write(`POST /api/v1/images/img/versions HTTP/1.1\r\nhost: ${url.host}\r\nauthorization: Bearer ${t.adminToken}\r\ncontent-type: application/octet-stream\r\ncontent-length: ${declared}\r\n\r\n`)
  const body = randomBytes(sent)
  await new Promise<void>((resolve) => socket.write(body, () => resolve()))
  // wait until the upload holds its lease and has written chunks, so the cut lands mid-upload
  await waitFor(async () => t.tracker.components.chunks.count >= before + 16 && (await t.tracker.components.store.activeUploads(Date.now())).length > 0, 'the upload to write chunks')
  if (how === 'end') socket.end()
  else socket.destroy()
  return socket
}

test('truncated upload (fewer bytes than Content-Length, then EOF) leaves no draft and no references', async () => {
  const before = (await t.tracker.components.store.listVersions(await imageId('img'))).length
  const socket = await partialUpload(16 * MiB, 6 * MiB, 'end')
  await waitFor(async () => await clean('img'), 'the truncated upload to roll back')
  socket.destroy()
  assert.is((await t.tracker.components.store.listVersions(await imageId('img'))).length, before)
})

test('an upload killed half-way (client socket destroyed) leaves no draft', async () => {
  await partialUpload(16 * MiB, 6 * MiB, 'destroy')
  await waitFor(async () => await clean('img'), 'the killed upload to roll back')
})

test('GC frees the chunks of failed uploads, keeps every live version downloadable', async () => {
  const res = await api('POST', '/gc')
  assert.is(res.status, 200)
  const gc = await res.json() as { deletedChunks: number, freedBytes: number }
  // the truncated, killed and oversized uploads wrote chunks nobody references
  assert.ok(gc.deletedChunks > 0 && gc.freedBytes > 0, JSON.stringify(gc))
  assert.ok((await download(await manifestOf('img', 1))).equals(v1))
  assert.ok((await download(await manifestOf('img', 2))).equals(v2))
  assert.ok((await download(await manifestOf('img', 3))).equals(v1))
  const again = await (await api('POST', '/gc')).json() as { deletedChunks: number }
  assert.is(again.deletedChunks, 0)
})

test('GC while a publish runs leaves the publish intact and downloadable', async () => {
  const data = randomBytes(10 * MiB)
  const half = 6 * MiB
  let release!: () => void
  const released = new Promise<void>((resolve) => { release = resolve })
  const body = new ReadableStream<Uint8Array>({
    async start (controller) {
      for (let o = 0; o < half; o += 256 * 1024) controller.enqueue(data.subarray(o, o + 256 * 1024))
      await released
      for (let o = half; o < data.length; o += 256 * 1024) controller.enqueue(data.subarray(o, o + 256 * 1024))
      controller.close()
    }
  })
  const pending = api('POST', '/images/other/versions?publish=true', { body, headers: { 'content-type': 'application/octet-stream' } })
  pending.catch(() => {}) // awaited below; a failed assertion must not leave it unhandled
  const { chunks, store } = t.tracker.components
  const before = chunks.count
  // the first half is chunked and partly written before GC runs
  await waitFor(async () => chunks.count >= before + 16 && (await store.activeUploads(Date.now())).length > 0, 'the first half to be stored')
  const gc = await (await api('POST', '/gc')).json() as { deletedChunks: number, keptRecent: number }
  assert.ok(gc.keptRecent > 0)
  release()
  const res = await pending
  assert.is(res.status, 201)
  const m = await manifestOf('other', 'latest')
  assert.ok((await download(m)).equals(data))
  // and a GC after it finished still keeps it
  await api('POST', '/gc')
  assert.ok((await download(m)).equals(data))
})

test('GC frees a retired version after its keep time; rolling back to it is then refused', async () => {
  assert.is((await api('POST', '/images', { json: { name: 'ret' } })).status, 201)
  const a = randomBytes(1 * MiB)
  const b = randomBytes(1 * MiB)
  assert.is((await upload('ret', a, '?publish=true')).status, 201)
  assert.is((await upload('ret', b, '?publish=true')).status, 201)
  assert.is((await api('POST', '/images/ret/versions/1/retire')).status, 200)
  // still rollback-able while kept: GC with the default keep time frees none of it
  await api('POST', '/gc')
  assert.ok((await download(await manifestOf('ret', 1))).equals(a))
  // an hour later, with a one-minute keep time, version 1's chunks go
  const later = createImageRepository({ ...t.tracker.components, now: () => Date.now() + 3600_000 }, { retiredKeepMs: 60_000 })
  await later.start()
  const gc = await later.gc()
  await later.stop()
  assert.ok(gc.freedBytes >= a.length, JSON.stringify(gc))
  const res = await api('POST', '/images/ret/rollback', { json: { to: 1 } })
  assert.is(res.status, 409)
  assert.ok(await clean('ret'))
  assert.ok((await download(await manifestOf('ret', 'latest'))).equals(b))
})

test('answers parse with the protocol schemas; the OpenAPI document names them', async () => {
  const parsed = async <T>(schema: { parse: (v: unknown) => T }, path: string): Promise<T> => schema.parse(await (await api('GET', path)).json())
  assert.ok((await parsed(ImageListSchema, '/images')).images.some((i) => i.name === 'img'))
  assert.ok((await parsed(ImageVersionListSchema, '/images/img/versions')).versions.length > 0)
  assert.type((await parsed(RepositoryKeysSchema, '/repository')).repository.keyId, 'string')

  const doc = await (await api('GET', '/openapi.json')).json() as { paths: Record<string, unknown>, components: { schemas: Record<string, unknown> } }
  for (const id of ['Error', 'Image', 'ImageVersion', 'UploadResult', 'GcResult', 'RepositoryKeys', 'OriginAccess', 'SwarmAnnounce', 'SwarmAnnounceAnswer']) {
    assert.ok(doc.components.schemas[id] !== undefined, `component ${id}`)
  }
  for (const path of ['/api/v1/images/{name}/versions', '/api/v1/images/{name}/origin-token', '/api/v1/swarm/announce', '/api/v1/swarm/leave', '/api/v1/repository']) {
    assert.ok(doc.paths[path] !== undefined, `path ${path}`)
  }
})

test('CLI: publish --json, versions, gc', async () => {
  const dir = await makeTmpDir('branchcast-publish-cli-')
  try {
    const file = join(dir, 'disk.img')
    const data = randomBytes(2 * MiB)
    await writeFile(file, data)
    const env = { ...process.env, BRANCHCAST_TRACKER: t.url, BRANCHCAST_TOKEN: t.adminToken }
    const run = async (...args: string[]): Promise<string> =>
      (await execFileAsync(process.execPath, [BIN, ...args], { env })).stdout
    const r = JSON.parse(await run('publish', file, '--image', 'cli-img', '--create', '--publish', '--json')) as { version: number, state: string, totalBytes: number, newBytes: number }
    assert.equal([r.version, r.state, r.totalBytes, r.newBytes], [1, 'published', data.length, data.length])
    assert.ok((await download(await manifestOf('cli-img', 'latest'))).equals(data))
    const again = JSON.parse(await run('publish', file, '--image', 'cli-img', '--json')) as { version: number, newBytes: number, storedBytes: number }
    assert.equal([again.version, again.newBytes, again.storedBytes], [2, 0, data.length])
    const list = JSON.parse(await run('versions', 'list', '--image', 'cli-img', '--json')) as Array<{ version: number, state: string }>
    assert.equal(list.map((v) => v.state), ['published', 'draft'])
    assert.is((JSON.parse(await run('versions', 'publish', '2', '--image', 'cli-img', '--json')) as { state: string }).state, 'published')
    assert.is((JSON.parse(await run('versions', 'rollback', '1', '--image', 'cli-img', '--json')) as { version: number }).version, 3)
    const gc = JSON.parse(await run('gc', '--json')) as { deletedChunks: number }
    assert.type(gc.deletedChunks, 'number')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
