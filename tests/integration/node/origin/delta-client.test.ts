/**
 * The delta half of the origin client against a real node:http origin that lies: a delta
 * longer or shorter than its index entry, an index over the cap, signed by another key or
 * for another manifest. Each lie is a typed error; a missing index is "no deltas".
 */
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { MAX_DELTA_INDEX_BYTES, chunkId, deltaIndexPath, deltaPath, encodeDelta, encodeDeltaIndex, generateSigningKey } from '../../../../protocol/index.ts'
import { fetchDeltaFromOrigin, fetchDeltaIndex } from '../../../../node/origin/index.ts'
import { rejects } from '../../../helpers/rejects.ts'
import { startLyingOrigin } from '../../../helpers/lying-origin.ts'
import type { LyingOrigin } from '../../../helpers/lying-origin.ts'

const base = randomBytes(40_000)
const target = Buffer.from(base)
target.write('changed', 999)
const baseId = chunkId(base)
const targetId = chunkId(target)
const DELTA = encodeDelta(target, [{ id: baseId, bytes: base }], { level: 3 })
const ENTRY = { target: targetId, deltaBytes: DELTA.byteLength, bases: [baseId] }
const key = generateSigningKey()
const DIGEST = chunkId(randomBytes(8))
const INDEX = encodeDeltaIndex({ manifestDigest: DIGEST, entries: [ENTRY] }, key.privateKey)

const send = (body: Uint8Array) => (_req: IncomingMessage, res: ServerResponse): void => { res.writeHead(200, { 'content-length': body.byteLength }); res.end(body) }
const behaviours: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
  honest: (req, res) => (req.url?.includes('/delta-indexes/') === true ? send(INDEX) : send(DELTA))(req, res),
  longer: send(Buffer.concat([DELTA, Buffer.from('x')])),
  shorter: send(DELTA.subarray(0, DELTA.byteLength - 1)),
  missing: (_req, res) => { res.writeHead(404); res.end() },
  huge: (_req, res) => { res.writeHead(200, { 'content-length': MAX_DELTA_INDEX_BYTES + 1 }); res.end() },
  otherKey: send(encodeDeltaIndex({ manifestDigest: DIGEST, entries: [ENTRY] }, generateSigningKey().privateKey)),
  otherManifest: send(encodeDeltaIndex({ manifestDigest: chunkId(randomBytes(8)), entries: [ENTRY] }, key.privateKey))
}

interface Ctx { origin?: LyingOrigin, base: string, seen: LyingOrigin['seen'] }
const test = suite<Ctx>('origin client: deltas', { base: '', seen: [] })

test.before(async (ctx) => {
  ctx.origin = await startLyingOrigin(behaviours)
  ctx.base = ctx.origin.base
  ctx.seen = ctx.origin.seen
})
test.after(async (ctx) => { await ctx.origin?.stop() })

const at = (ctx: Ctx, name: string): { originUrl: string, token: string } => ({ originUrl: `${ctx.base}/${name}`, token: 'tok' })

test('the honest origin: the verified index and the delta, at their store paths, with the bearer token', async (ctx) => {
  const r = await fetchDeltaIndex(at(ctx, 'honest'), DIGEST, { publicKey: key.publicKey })
  assert.equal(r?.index.entries, [ENTRY])
  assert.is(r?.bytes, INDEX.byteLength)
  assert.equal(ctx.seen.at(-1), { url: `/honest/${deltaIndexPath(DIGEST)}`, auth: 'Bearer tok' })
  let wire = 0
  const d = await fetchDeltaFromOrigin(at(ctx, 'honest'), ENTRY, { onWireBytes: (n) => { wire += n } })
  assert.ok(Buffer.from(d).equals(DELTA))
  assert.is(wire, DELTA.byteLength)
  assert.is(ctx.seen.at(-1)?.url, `/honest/${deltaPath(targetId, [baseId])}`)
})

test('a signed-URL origin gets the query and no token', async (ctx) => {
  await fetchDeltaFromOrigin({ originUrl: `${ctx.base}/honest`, token: 'tok', query: { e: '1', s: 'sig' } }, ENTRY)
  assert.equal(ctx.seen.at(-1), { url: `/honest/${deltaPath(targetId, [baseId])}?e=1&s=sig`, auth: undefined })
})

test('no index on the origin is "no deltas"', async (ctx) => {
  assert.is(await fetchDeltaIndex(at(ctx, 'missing'), DIGEST, { publicKey: key.publicKey }), undefined)
})

for (const [name, code] of [['longer', 'ERR_DELTA_MALFORMED'], ['shorter', 'ERR_DELTA_MALFORMED'], ['missing', 'ERR_ORIGIN_STATUS']] as const) {
  test(`a delta from "${name}" → ${code}`, async (ctx) => { await rejects(fetchDeltaFromOrigin(at(ctx, name), ENTRY), { code }) })
}
for (const [name, code] of [['huge', 'ERR_CHUNK_TOO_LARGE'], ['otherKey', 'ERR_DELTA_INDEX_TAMPERED'], ['otherManifest', 'ERR_DELTA_INDEX_TAMPERED'], ['shorter', 'ERR_DELTA_INDEX_MALFORMED']] as const) {
  test(`an index from "${name}" → ${code}`, async (ctx) => { await rejects(fetchDeltaIndex(at(ctx, name), DIGEST, { publicKey: key.publicKey }), { code }) })
}

test.run()
