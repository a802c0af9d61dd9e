/**
 * `fetchChunkFromOrigin` against a deliberately lying origin: a real node:http server on
 * port 0 that sends corrupt bytes, cut-short bodies, oversized bodies and errors. Each lie
 * must end in its own typed error, never in bytes handed to the caller.
 */
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { chunkId } from '../../../../protocol/store/chunk-id.ts'
import { encodeStoredChunk } from '../../../../protocol/store/chunk-codec.ts'
import { MAX_CHUNK_BYTES_CEILING } from '../../../../protocol/chunking/chunking-params.ts'
import { fetchChunkFromOrigin, originChunkUrl } from '../../../../node/origin/origin-client.ts'
import { rejects } from '../../../helpers/rejects.ts'

const CHUNK = new TextEncoder().encode('a chunk that compresses well '.repeat(2000))
const ID = chunkId(CHUNK)
const STORED = encodeStoredChunk(CHUNK)

type Behaviour = (req: IncomingMessage, res: ServerResponse) => void

/** Each behaviour lives under its own base path: `/<name>/chunks/<2 hex>/<id>`. */
const behaviours: Record<string, Behaviour> = {
  honest: (_req, res) => { res.writeHead(200, { 'content-length': STORED.byteLength }); res.end(STORED) },
  corrupt: (_req, res) => {
    const bad = Buffer.from(STORED)
    bad[bad.length - 1]! ^= 0xff
    res.writeHead(200, { 'content-length': bad.byteLength }); res.end(bad)
  },
  otherChunk: (_req, res) => { const other = randomBytes(1000); res.writeHead(200, { 'content-length': other.byteLength }); res.end(other) },
  truncatedDeclared: (_req, res) => {
    // declares the full length, sends half, then drops the connection
    res.writeHead(200, { 'content-length': STORED.byteLength })
    res.write(STORED.subarray(0, STORED.byteLength >> 1), () => res.destroy())
  },
  truncatedChunked: (_req, res) => {
    // no length declared: a clean end after half the bytes
    res.writeHead(200)
    res.end(STORED.subarray(0, STORED.byteLength >> 1))
  },
  oversizedDeclared: (_req, res) => { res.writeHead(200, { 'content-length': MAX_CHUNK_BYTES_CEILING + 1 }); res.end() },
  oversizedStreamed: (_req, res) => {
    // no length: streams 64 KiB blocks until the client hangs up
    res.writeHead(200)
    const block = Buffer.alloc(64 * 1024, 1)
    const pump = (): void => { while (!res.destroyed && res.write(block)); if (!res.destroyed) res.once('drain', pump) }
    res.on('close', () => res.removeAllListeners('drain'))
    pump()
  },
  stall: (_req, res) => {
    // headers and half the body, then nothing: only the caller's deadline ends it
    res.writeHead(200, { 'content-length': STORED.byteLength })
    res.write(STORED.subarray(0, STORED.byteLength >> 1))
  },
  error500: (_req, res) => { res.writeHead(500); res.end('boom') },
  error503: (_req, res) => { res.writeHead(503, { 'retry-after': '5' }); res.end() },
  unauthorized: (_req, res) => { res.writeHead(401); res.end() },
  forbidden: (_req, res) => { res.writeHead(403); res.end() },
  missing: (_req, res) => { res.writeHead(404); res.end() },
  redirect: (_req, res) => { res.writeHead(302, { location: '/honest/chunks/' }); res.end() },
  partial: (_req, res) => { res.writeHead(206, { 'content-range': `bytes 0-9/${STORED.byteLength}` }); res.end(STORED.subarray(0, 10)) },
  headers: (_req, res) => { res.writeHead(500); res.end() }
}

interface Ctx { server?: Server, base: string, seen: string[] }
const test = suite<Ctx>('origin client vs a lying origin', { base: '', seen: [] })

test.before(async (ctx) => {
  ctx.server = createServer((req, res) => {
    const name = /^\/([A-Za-z0-9]+)\//.exec(req.url ?? '')?.[1] ?? ''
    ctx.seen.push(req.url ?? '')
    const b = behaviours[name]
    if (b === undefined) { res.writeHead(404); res.end(); return }
    b(req, res)
  })
  await new Promise<void>((resolve) => ctx.server!.listen(0, '127.0.0.1', resolve))
  ctx.base = `http://127.0.0.1:${(ctx.server.address() as AddressInfo).port}`
})
test.after(async (ctx) => {
  ctx.server?.closeAllConnections()
  await new Promise<void>((resolve) => ctx.server?.close(() => resolve()) ?? resolve())
})

const at = (ctx: Ctx, name: string): { originUrl: string, token: string } => ({ originUrl: `${ctx.base}/${name}`, token: 'tok' })

test('the honest origin: verified bytes', async (ctx) => {
  const bytes = await fetchChunkFromOrigin(at(ctx, 'honest'), ID)
  assert.is(chunkId(bytes), ID)
  assert.is(ctx.seen.at(-1), `/honest/chunks/${ID.slice(0, 2)}/${ID}`)
})

const cases: Array<[string, string, number?]> = [
  ['corrupt', 'ERR_CHUNK_CORRUPT'],
  ['otherChunk', 'ERR_CHUNK_CORRUPT'],
  ['truncatedDeclared', 'ERR_ORIGIN_TRANSFER'],
  ['truncatedChunked', 'ERR_CHUNK_CORRUPT'],
  ['oversizedDeclared', 'ERR_CHUNK_TOO_LARGE'],
  ['oversizedStreamed', 'ERR_CHUNK_TOO_LARGE'],
  ['error500', 'ERR_ORIGIN_STATUS', 500],
  ['error503', 'ERR_ORIGIN_STATUS', 503],
  ['unauthorized', 'ERR_ORIGIN_STATUS', 401],
  ['forbidden', 'ERR_ORIGIN_STATUS', 403],
  ['missing', 'ERR_ORIGIN_STATUS', 404],
  ['partial', 'ERR_ORIGIN_STATUS', 206],
  ['redirect', 'ERR_ORIGIN_TRANSFER']
]
for (const [name, code, status] of cases) {
  test(`${name} → ${code}${status === undefined ? '' : ` ${status}`}`, async (ctx) => {
    const err = await rejects(fetchChunkFromOrigin(at(ctx, name), ID), { code }) as Error & { status?: number, peerFault?: boolean }
    if (status !== undefined) assert.is(err.status, status)
    // only the origin's own failures count against it; a refused token is ours
    if (status === 401 || status === 403 || status === 404) assert.is(err.peerFault, false)
    if (status === 500 || code === 'ERR_CHUNK_CORRUPT') assert.is(err.peerFault, true)
  })
}

test('a stalled body ends at the caller\'s deadline, with the signal\'s reason', async (ctx) => {
  const signal = AbortSignal.timeout(200)
  let caught: unknown
  try { await fetchChunkFromOrigin(at(ctx, 'stall'), ID, { signal }) } catch (err) { caught = err }
  assert.ok(signal.aborted)
  assert.is(caught, signal.reason)
  assert.is((caught as Error).name, 'TimeoutError')
})

test('a connection refused → ERR_ORIGIN_TRANSFER', async () => {
  const dead = createServer()
  await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve))
  const port = (dead.address() as AddressInfo).port
  await new Promise<void>((resolve) => dead.close(() => resolve()))
  await rejects(fetchChunkFromOrigin({ originUrl: `http://127.0.0.1:${port}` }, ID), { code: 'ERR_ORIGIN_TRANSFER' })
})

test('token as bearer without a query; only the query when there is one', async (ctx) => {
  const url1 = originChunkUrl({ originUrl: `${ctx.base}/headers/`, query: { e: '1', c: 'node:a', i: 'img', s: 'sig' } }, ID)
  assert.is(url1.pathname, `/headers/chunks/${ID.slice(0, 2)}/${ID}`)
  assert.is(url1.search, '?e=1&c=node%3Aa&i=img&s=sig')
  // what goes on the wire, recorded by a fetch wrapper
  const sent: Array<Record<string, string>> = []
  const spy: typeof fetch = async (input, init) => { sent.push({ ...(init?.headers as Record<string, string>) }); return await fetch(input, init) }
  await rejects(fetchChunkFromOrigin({ originUrl: `${ctx.base}/headers`, token: 'tok-2' }, ID, { fetch: spy }), { code: 'ERR_ORIGIN_STATUS' })
  await rejects(fetchChunkFromOrigin({ originUrl: `${ctx.base}/headers`, token: 'tok-3', query: { s: 'x' } }, ID, { fetch: spy }), { code: 'ERR_ORIGIN_STATUS' })
  assert.is(sent[0]!.authorization, 'Bearer tok-2')
  assert.is(sent[1]!.authorization, undefined, 'a signed URL does not also carry the token')
})

test('caller mistakes throw TypeError', async (ctx) => {
  for (const bad of ['../etc/passwd', ID.toUpperCase(), ID.slice(1)]) {
    await rejects(fetchChunkFromOrigin(at(ctx, 'honest'), bad), { name: 'TypeError' })
  }
  await rejects(fetchChunkFromOrigin(at(ctx, 'honest'), ID, { maxBytes: 0 }), { name: 'TypeError' })
})

test.run()
