/**
 * The built-in origin over real HTTP: `GET`/`HEAD /origin/chunks/…` authorised by origin
 * capability tokens bound to client and image, and `POST /api/v1/images/{name}/origin-token`.
 * Versions are set up straight in the tracker's store (drafts, published, retired), chunks
 * written into its real chunk store. Also runs the shared origin contract against it.
 */
import { createHash, randomBytes } from 'node:crypto'
import { request } from 'node:http'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { signCapability } from '../../../protocol/signing/capability.ts'
import type { CapabilityAudience } from '../../../protocol/signing/capability.ts'
import { chunkId } from '../../../protocol/store/chunk-id.ts'
import { decodeStoredChunk } from '../../../protocol/store/chunk-codec.ts'
import { fetchChunkFromOrigin } from '../../../node/origin/origin-client.ts'
import type { OriginAccess } from '../../../protocol/api/origin.ts'
import { generateSigningKey } from '../../../protocol/signing/signing.ts'
import { issueOriginAccess } from '../../../tracker/origin/index.ts'
import { startTestTracker } from '../../helpers/tracker.ts'
import type { TestTracker } from '../../helpers/tracker.ts'
import { run as runOriginContract } from '../origin.contract.ts'

interface Published { versionId: number, ids: string[] }

/** A version of `image` holding `chunks`, left as a draft or published. */
async function makeVersion (t: TestTracker, image: string, chunks: Uint8Array[], state: 'draft' | 'published' | 'retired' = 'published'): Promise<Published> {
  const { store, chunks: chunkStore } = t.tracker.components
  const now = Date.now()
  const img = await store.getImage(image) ?? await store.createImage({ name: image, nowMs: now })
  const draft = await store.createDraft({ imageId: img.id, createdBy: 'admin', nowMs: now })
  const ids = await Promise.all(chunks.map(async (b) => (await chunkStore.put(b)).id))
  await store.addVersionChunks(draft.id, ids)
  const root = randomBytes(64)
  await store.finalizeDraft(draft.id, {
    manifestRoot: root,
    manifestId: createHash('sha256').update(root).digest('hex'),
    totalBytes: chunks.reduce((n, b) => n + b.byteLength, 0),
    chunkCount: ids.length,
    newBytes: 0
  })
  if (state !== 'draft') await store.publish(draft.id, now)
  if (state === 'retired') await store.retire(draft.id, now)
  return { versionId: draft.id, ids }
}

async function assignImage (t: TestTracker, user: string, image: string): Promise<void> {
  const { store } = t.tracker.components
  const policy = await store.createPolicy({ name: `${user}-${image}`, imageName: image, nowMs: Date.now() })
  await store.assign({ policyId: policy.id, subjectKind: 'user', subject: user, nowMs: Date.now() })
}

function capability (t: TestTracker, over: { aud?: CapabilityAudience, img?: string, sub?: string, iat?: number, exp?: number } = {}, key = t.tracker.components.keys.capability.privateKey): string {
  const now = Date.now()
  return signCapability({ aud: over.aud ?? 'origin', sub: over.sub ?? 'node-a', img: over.img ?? 'img-a', iat: over.iat ?? now, exp: over.exp ?? now + 60_000 }, key)
}

const path = (id: string): string => `/origin/chunks/${id.slice(0, 2)}/${id}`

/** A request with the path sent exactly as written (fetch would normalise `..`). */
function raw (t: TestTracker, p: string, headers: Record<string, string> = {}): Promise<{ status: number, body: string }> {
  const { port } = new URL(t.url)
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: p, headers }, (res) => {
      let body = ''
      res.setEncoding('latin1')
      res.on('data', (d: string) => { body += d })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

interface Ctx {
  t?: TestTracker
  a: Published
  b: Published
  draft: Published
  retired: Published
  alice: string
  bob: string
  chunksA: Uint8Array[]
}

const test = suite<Ctx>('built-in origin', {} as Ctx)

test.before(async (ctx) => {
  ctx.t = await startTestTracker()
  ctx.chunksA = [new TextEncoder().encode('compressible '.repeat(4000)), randomBytes(30_000)]
  ctx.a = await makeVersion(ctx.t, 'img-a', ctx.chunksA)
  ctx.b = await makeVersion(ctx.t, 'img-b', [randomBytes(20_000)])
  ctx.draft = await makeVersion(ctx.t, 'img-a', [randomBytes(10_000)], 'draft')
  ctx.retired = await makeVersion(ctx.t, 'img-r', [randomBytes(10_000)], 'retired')
  await assignImage(ctx.t, 'alice', 'img-a')
  ctx.alice = await ctx.t.tokenFor('alice')
  ctx.bob = await ctx.t.tokenFor('bob')
})
test.after(async (ctx) => { await ctx.t?.stop() })

async function originToken (ctx: Ctx, image: string, body: unknown, apiToken?: string): Promise<Response> {
  return await fetch(`${ctx.t!.url}/api/v1/images/${image}/origin-token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(apiToken === undefined ? {} : { authorization: `Bearer ${apiToken}` }) },
    body: typeof body === 'string' ? body : JSON.stringify(body)
  })
}

test('origin-token: anonymous 401, unassigned 403, assigned user gets a builtin grant', async (ctx) => {
  assert.is((await originToken(ctx, 'img-a', { clientId: 'node-a' })).status, 401)
  assert.is((await originToken(ctx, 'img-a', { clientId: 'node-a' }, ctx.bob)).status, 403)
  assert.is((await originToken(ctx, 'img-b', { clientId: 'node-a' }, ctx.alice)).status, 403, 'another image')
  assert.is((await originToken(ctx, 'no-such', { clientId: 'node-a' }, ctx.alice)).status, 403, 'users cannot probe names')
  assert.is((await originToken(ctx, 'no-such', { clientId: 'node-a' }, ctx.t!.adminToken)).status, 404, 'admins learn it is absent')
  const res = await originToken(ctx, 'img-a', { clientId: 'node-a' }, ctx.alice)
  assert.is(res.status, 200)
  const access = await res.json() as OriginAccess
  assert.is(access.kind, 'builtin')
  assert.is(access.originUrl, `${ctx.t!.url}/origin`)
  assert.is(access.query, undefined)
  assert.ok(access.expiresAtMs > Date.now() && access.expiresAtMs <= Date.now() + 3600_000)
  assert.is(chunkId(await fetchChunkFromOrigin(access, ctx.a.ids[0]!)), ctx.a.ids[0])
  // admins may get one for any existing image
  assert.is((await originToken(ctx, 'img-b', { clientId: 'node-x' }, ctx.t!.adminToken)).status, 200)
})

test('origin-token: malformed or oversized bodies 400/413; a client id of another user 403', async (ctx) => {
  for (const body of ['{', '{}', { clientId: '' }, { clientId: '../x' }, { clientId: 'a b' }, { clientId: 'x'.repeat(129) }, { clientId: 'n', extra: 1 }]) {
    assert.is((await originToken(ctx, 'img-a', body, ctx.alice)).status, 400, JSON.stringify(body))
  }
  assert.is((await originToken(ctx, 'bad%20name', { clientId: 'n' }, ctx.alice)).status, 400)
  assert.is((await originToken(ctx, 'img-a', JSON.stringify({ clientId: 'n', pad: 'x'.repeat(2000) }), ctx.alice)).status, 413)
  await ctx.t!.tracker.components.store.upsertClient({ id: 'node-of-bob', user: 'bob', nowMs: Date.now() })
  assert.is((await originToken(ctx, 'img-a', { clientId: 'node-of-bob' }, ctx.alice)).status, 403)
})

test('a valid token: the stored file as is, immutable, strong ETag; decodes and verifies', async (ctx) => {
  const token = capability(ctx.t!)
  for (const [i, id] of ctx.a.ids.entries()) {
    const res = await fetch(`${ctx.t!.url}${path(id)}`, { headers: { authorization: `Bearer ${token}` } })
    assert.is(res.status, 200)
    assert.is(res.headers.get('cache-control'), 'public, max-age=31536000, immutable')
    assert.is(res.headers.get('etag'), `"${id}"`)
    assert.is(res.headers.get('accept-ranges'), 'bytes')
    assert.is(res.headers.get('content-type'), 'application/octet-stream')
    assert.is(res.headers.get('content-encoding'), null)
    const stored = new Uint8Array(await res.arrayBuffer())
    if (i === 0) assert.ok(stored.byteLength < ctx.chunksA[0]!.byteLength, 'the zstd frame, not decompressed')
    assert.equal(Buffer.from(decodeStoredChunk(id, stored)), Buffer.from(ctx.chunksA[i]!))
  }
  // the token in the query works too (for clients that cannot set headers)
  const q = await fetch(`${ctx.t!.url}${path(ctx.a.ids[1]!)}?token=${encodeURIComponent(token)}`)
  assert.is(q.status, 200)
  assert.is(chunkId(new Uint8Array(await q.arrayBuffer())), ctx.a.ids[1])
})

test('HEAD, If-None-Match, Range 206 and 416', async (ctx) => {
  const auth = { authorization: `Bearer ${capability(ctx.t!)}` }
  const url = `${ctx.t!.url}${path(ctx.a.ids[1]!)}`
  const head = await fetch(url, { method: 'HEAD', headers: auth })
  assert.is(head.status, 200)
  assert.is(head.headers.get('content-length'), '30000')
  assert.is((await head.arrayBuffer()).byteLength, 0)
  const cached = await fetch(url, { headers: { ...auth, 'if-none-match': `"${ctx.a.ids[1]}"` } })
  assert.is(cached.status, 304)
  const part = await fetch(url, { headers: { ...auth, range: 'bytes=100-199' } })
  assert.is(part.status, 206)
  assert.is(part.headers.get('content-range'), 'bytes 100-199/30000')
  assert.is(part.headers.get('content-length'), '100')
  assert.ok(Buffer.from(await part.arrayBuffer()).equals(ctx.chunksA[1]!.subarray(100, 200)))
  const tail = await fetch(url, { headers: { ...auth, range: 'bytes=-10' } })
  assert.is(tail.status, 206)
  assert.ok(Buffer.from(await tail.arrayBuffer()).equals(ctx.chunksA[1]!.subarray(29_990)))
  const beyond = await fetch(url, { headers: { ...auth, range: 'bytes=30000-' } })
  assert.is(beyond.status, 416)
  assert.is(beyond.headers.get('content-range'), 'bytes */30000')
  const stale = await fetch(url, { headers: { ...auth, range: 'bytes=0-9', 'if-range': '"something-else"' } })
  assert.is(stale.status, 200, 'If-Range with another validator: the whole file')
  assert.is((await stale.arrayBuffer()).byteLength, 30_000)
})

test('missing, garbage, expired, forged and wrong-audience tokens → 401', async (ctx) => {
  const p = path(ctx.a.ids[0]!)
  const now = Date.now()
  const other = generateSigningKey().privateKey
  const good = capability(ctx.t!)
  const cases: Array<[string, Record<string, string>]> = [
    ['missing', {}],
    ['empty bearer', { authorization: 'Bearer ' }],
    ['garbage', { authorization: 'Bearer not-a-token' }],
    ['an API token', { authorization: `Bearer ${ctx.alice}` }],
    ['tampered claims', { authorization: `Bearer ${Buffer.from(Buffer.from(good.split('.')[0]!, 'base64url').toString().replace('img-a', 'img-b')).toString('base64url')}.${good.split('.')[1]}` }],
    ['expired', { authorization: `Bearer ${capability(ctx.t!, { iat: now - 600_000, exp: now - 300_000 })}` }],
    ['forged (other key)', { authorization: `Bearer ${capability(ctx.t!, {}, other)}` }],
    ['wrong audience (peer)', { authorization: `Bearer ${capability(ctx.t!, { aud: 'peer' })}` }],
    ['issued in the future', { authorization: `Bearer ${capability(ctx.t!, { iat: now + 600_000, exp: now + 900_000 })}` }],
    ['oversized', { authorization: `Bearer ${'a'.repeat(3000)}.b` }]
  ]
  for (const [what, headers] of cases) {
    const res = await raw(ctx.t!, p, headers)
    assert.is(res.status, 401, what)
    assert.match(res.body, /ERR_UNAUTHENTICATED/, what)
  }
})

test('image binding: a token for image A on a chunk only in image B → 403; retired versions still serve', async (ctx) => {
  const forA = { authorization: `Bearer ${capability(ctx.t!, { img: 'img-a' })}` }
  assert.is((await raw(ctx.t!, path(ctx.b.ids[0]!), forA)).status, 403)
  assert.is((await raw(ctx.t!, path(ctx.b.ids[0]!), { authorization: `Bearer ${capability(ctx.t!, { img: 'img-b' })}` })).status, 200)
  // never-stored chunk: 403 too, so a token holder cannot probe which chunks exist
  assert.is((await raw(ctx.t!, path(chunkId(randomBytes(8))), forA)).status, 403)
  assert.is((await raw(ctx.t!, path(ctx.retired.ids[0]!), { authorization: `Bearer ${capability(ctx.t!, { img: 'img-r' })}` })).status, 200, 'retired: still rollback-able')
})

test('a chunk only in an unpublished draft → 403 until the draft is published', async (ctx) => {
  // 403, not 404: the file exists, but it is not part of any published version of the
  // image the token covers, which is an authorisation answer (and the same one a chunk
  // of another image gets, so existence is never revealed).
  const forA = { authorization: `Bearer ${capability(ctx.t!, { img: 'img-a' })}` }
  const draftChunk = ctx.draft.ids[0]!
  assert.ok(ctx.t!.tracker.components.chunks.has(draftChunk), 'the file is in the store')
  assert.is((await raw(ctx.t!, path(draftChunk), forA)).status, 403)
  await ctx.t!.tracker.components.store.publish(ctx.draft.versionId, Date.now())
  assert.is((await raw(ctx.t!, path(draftChunk), forA)).status, 200, 'served at once after publishing (no negative caching)')
})

test('a member chunk whose file is gone → 404', async (ctx) => {
  const ghost = chunkId(randomBytes(8))
  const { store } = ctx.t!.tracker.components
  const img = await store.createImage({ name: 'img-g', nowMs: Date.now() })
  const draft = await store.createDraft({ imageId: img.id, createdBy: 'admin', nowMs: Date.now() })
  await store.addVersionChunks(draft.id, [ghost])
  const root = randomBytes(8)
  await store.finalizeDraft(draft.id, { manifestRoot: root, manifestId: createHash('sha256').update(root).digest('hex'), totalBytes: 8, chunkCount: 1, newBytes: 0 })
  await store.publish(draft.id, Date.now())
  const res = await raw(ctx.t!, path(ghost), { authorization: `Bearer ${capability(ctx.t!, { img: 'img-g' })}` })
  assert.is(res.status, 404)
})

test('path tricks → 400/404, refused before the token is even read', async (ctx) => {
  const id = ctx.a.ids[0]!
  const fan = id.slice(0, 2)
  const upper = id.toUpperCase()
  const tricks = [
    '/origin/chunks/../../keys/capability.pem',
    `/origin/chunks/${fan}/../../../keys/capability.pem`,
    '/origin/chunks/%2e%2e/%2e%2e/keys/capability.pem',
    `/origin/chunks/${fan}/%2e%2e%2f%2e%2e%2fkeys%2fcapability.pem`,
    `/origin/chunks/${fan}%2f${id}`,
    `/origin/chunks/${fan}/${id.slice(0, 62)}%2f${id.slice(62)}`,
    `/origin/chunks/${upper.slice(0, 2)}/${upper}`,
    `/origin/chunks/${fan}/${upper}`,
    `/origin/chunks/${fan}/${id.slice(0, 63)}`,
    `/origin/chunks/${fan}/${id}0`,
    `/origin/chunks/${fan === 'ff' ? '00' : 'ff'}/${id}`,
    `/origin/chunks/${fan}/${id}/`,
    `/origin/chunks/${fan}/${id}%00`,
    '/origin/tmp/x',
    '/origin/quarantine/x',
    '/origin/chunks/',
    '/origin/'
  ]
  const auth = { authorization: `Bearer ${capability(ctx.t!)}` }
  for (const p of tricks) {
    for (const headers of [{}, auth]) {
      const res = await raw(ctx.t!, p, headers)
      assert.ok(res.status === 400 || res.status === 404, `${p} → ${res.status}`)
      assert.not.match(res.body, /PRIVATE KEY/, p)
    }
  }
})

test('metrics: origin bytes and requests by status', async (ctx) => {
  const text = await (await fetch(`${ctx.t!.url}/metrics`)).text()
  const bytes = Number(/^branchcast_origin_bytes_served_total (\d+)$/m.exec(text)?.[1])
  assert.ok(bytes > 30_000, `bytes served ${bytes}`)
  assert.match(text, /^branchcast_origin_requests_total\{status="200"\} \d+$/m)
  assert.match(text, /^branchcast_origin_requests_total\{status="401"\} \d+$/m)
  assert.match(text, /^branchcast_origin_requests_total\{status="403"\} \d+$/m)
})

test('a workspace policy\'s origin rate cap is signed into the token and held to by the origin', async (ctx) => {
  const t = ctx.t!
  const { store } = t.tracker.components
  const chunks = Array.from({ length: 6 }, () => randomBytes(64 * 1024)) // incompressible: stored as they are
  const capped = await makeVersion(t, 'img-capped', chunks)
  const rate = 128 * 1024
  const policy = await store.createPolicy({ name: 'carol-capped', imageName: 'img-capped', originRateBytesPerSec: rate, nowMs: Date.now() })
  await store.assign({ policyId: policy.id, subjectKind: 'user', subject: 'carol', nowMs: Date.now() })
  const res = await originToken(ctx, 'img-capped', { clientId: 'carols-node' }, await t.tokenFor('carol'))
  assert.is(res.status, 200)
  const access = await res.json() as OriginAccess
  const claims = JSON.parse(Buffer.from(access.token.split('.')[0]!, 'base64url').toString('utf8')) as { rate?: number }
  assert.is(claims.rate, rate)
  // One second of rate goes at once; each chunk after it starts 64 KiB / 128 KiB/s = 0.5 s
  // after the one before: the sixth starts 1.5 s in.
  const started = performance.now()
  const got = await Promise.all(capped.ids.map(async (id) => chunkId(await fetchChunkFromOrigin(access, id))))
  const elapsedMs = performance.now() - started
  assert.equal(got, capped.ids)
  assert.ok(elapsedMs >= 1400, `6 chunks at the cap took only ${elapsedMs.toFixed(0)} ms`)
  // Far past the cap a request is refused with retry-after rather than held: of 20 at once,
  // those booked more than ORIGIN_PACE_MAX_WAIT_MS ahead.
  const burst = await Promise.all(Array.from({ length: 20 }, async () => await fetch(`${t.url}${path(capped.ids[0]!)}`, { headers: { authorization: `Bearer ${access.token}` } })))
  const statuses = burst.map((r) => r.status)
  assert.ok(statuses.includes(200) && statuses.includes(429), statuses.join(' '))
  const refused = burst.find((r) => r.status === 429)!
  assert.ok(Number(refused.headers.get('retry-after')) >= 1)
  await Promise.all(burst.map(async (r) => await r.arrayBuffer()))
  // An uncapped workspace's token carries no rate.
  const free = await (await originToken(ctx, 'img-a', { clientId: 'node-a' }, ctx.alice)).json() as OriginAccess
  assert.is((JSON.parse(Buffer.from(free.token.split('.')[0]!, 'base64url').toString('utf8')) as { rate?: number }).rate, undefined)
})

test.run()

runOriginContract('built-in', async () => {
  const t = await startTestTracker()
  const grant = (img: string, nowMs = Date.now()): OriginAccess => issueOriginAccess({ ...t.tracker.components, now: () => nowMs }, { clientId: 'node-c', image: img })
  return {
    publish: async (chunks) => (await makeVersion(t, 'contract', chunks)).ids,
    access: () => grant('contract'),
    forgedAccess: () => ({ ...grant('contract'), token: capability(t, { img: 'contract' }, generateSigningKey().privateKey) }),
    expiredAccess: () => grant('contract', Date.now() - 2 * 3600_000),
    stop: async () => { await t.stop() }
  }
})
