/**
 * The contract every HTTP origin keeps for `fetchChunkFromOrigin` — the tracker's built-in
 * origin and nginx serving the same chunk store. `run(name, factory)` registers one uvu
 * suite; each implementation's test file calls it with a factory that starts a real
 * server over a real chunk store.
 */
import { randomBytes } from 'node:crypto'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { chunkId } from '../../protocol/store/chunk-id.ts'
import { originChunkUrl, fetchChunkFromOrigin } from '../../node/origin/origin-client.ts'
import type { OriginEndpoint } from '../../node/origin/origin-client.ts'
import { rejects } from '../helpers/rejects.ts'

export interface OriginUnderTest {
  /** Stores the chunks and makes them fetchable with `access()`; resolves to their ids. */
  publish: (chunks: Uint8Array[]) => Promise<string[]>
  /** valid access to the published chunks */
  access: () => OriginEndpoint
  /** the same but with a forged signature/token */
  forgedAccess: () => OriginEndpoint
  /** the same but expired */
  expiredAccess: () => OriginEndpoint
  stop: () => Promise<void>
}

/** Compressible (stored as zstd) and incompressible (stored raw) chunks. */
function sampleChunks (): Uint8Array[] {
  const text = new TextEncoder().encode('branchcast chunk '.repeat(3000))
  return [text, randomBytes(40_000), randomBytes(1), Buffer.alloc(65_536, 0)]
}

export function run (name: string, factory: () => Promise<OriginUnderTest>): void {
  const test = suite<{ origin?: OriginUnderTest, chunks: Uint8Array[], ids: string[] }>(`origin contract: ${name}`, { chunks: [], ids: [] })

  test.before(async (ctx) => {
    ctx.origin = await factory()
    ctx.chunks = sampleChunks()
    ctx.ids = await ctx.origin.publish(ctx.chunks)
  })
  test.after(async (ctx) => { await ctx.origin?.stop() })

  test('every stored chunk (raw and zstd) comes back verified and equal', async ({ origin, chunks, ids }) => {
    for (let i = 0; i < ids.length; i++) {
      const bytes = await fetchChunkFromOrigin(origin!.access(), ids[i]!)
      assert.is(chunkId(bytes), ids[i])
      assert.equal(Buffer.compare(Buffer.from(bytes), Buffer.from(chunks[i]!)), 0)
    }
  })

  test('parallel fetches all verify', async ({ origin, ids }) => {
    const all = await Promise.all([...ids, ...ids, ...ids].map(async (id) => chunkId(await fetchChunkFromOrigin(origin!.access(), id))))
    assert.equal(all, [...ids, ...ids, ...ids])
  })

  test('immutable caching headers and a single byte range', async ({ origin, ids }) => {
    const url = originChunkUrl(origin!.access(), ids[1]!)
    const token = origin!.access().query === undefined ? origin!.access().token : undefined
    const auth: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` }
    const full = await fetch(url, { headers: auth })
    assert.is(full.status, 200)
    assert.match(full.headers.get('cache-control') ?? '', /immutable/)
    const whole = new Uint8Array(await full.arrayBuffer())
    const part = await fetch(url, { headers: { ...auth, range: 'bytes=10-19' } })
    assert.is(part.status, 206)
    assert.is(part.headers.get('content-range'), `bytes 10-19/${whole.byteLength}`)
    assert.equal(new Uint8Array(await part.arrayBuffer()), whole.subarray(10, 20))
    const beyond = await fetch(url, { headers: { ...auth, range: `bytes=${whole.byteLength}-` } })
    assert.is(beyond.status, 416)
    await beyond.body?.cancel()
  })

  test('a chunk the origin does not hold → OriginStatusError 403/404', async ({ origin }) => {
    const err = await rejects(fetchChunkFromOrigin(origin!.access(), chunkId(randomBytes(16))), { code: 'ERR_ORIGIN_STATUS' }) as Error & { status?: number }
    assert.ok(err.status === 403 || err.status === 404, `status ${err.status}`)
  })

  test('forged access → OriginStatusError 401/403', async ({ origin, ids }) => {
    const err = await rejects(fetchChunkFromOrigin(origin!.forgedAccess(), ids[0]!), { code: 'ERR_ORIGIN_STATUS' }) as Error & { status?: number }
    assert.ok(err.status === 401 || err.status === 403, `status ${err.status}`)
  })

  test('expired access → OriginStatusError 401/410', async ({ origin, ids }) => {
    const err = await rejects(fetchChunkFromOrigin(origin!.expiredAccess(), ids[0]!), { code: 'ERR_ORIGIN_STATUS' }) as Error & { status?: number }
    assert.ok(err.status === 401 || err.status === 410, `status ${err.status}`)
  })

  test('a chunk larger than maxBytes → ChunkTooLargeError', async ({ origin, ids }) => {
    await rejects(fetchChunkFromOrigin(origin!.access(), ids[1]!, { maxBytes: 1000 }), { code: 'ERR_CHUNK_TOO_LARGE' })
  })

  test('an aborted fetch rejects with the signal reason', async ({ origin, ids }) => {
    const ac = new AbortController()
    const reason = new Error('stop now')
    ac.abort(reason)
    let caught: unknown
    try { await fetchChunkFromOrigin(origin!.access(), ids[0]!, { signal: ac.signal }) } catch (err) { caught = err }
    assert.is(caught, reason)
  })

  test.run()
}
