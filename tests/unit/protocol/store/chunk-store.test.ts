import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { randomBytes } from 'node:crypto'
import { readdir, readFile, stat, truncate, utimes, writeFile } from 'node:fs/promises'
import { isAbsolute, join } from 'node:path'
import { zstdCompressSync } from 'node:zlib'
import { chunkId } from '../../../../protocol/store/chunk-id.ts'
import { decodeStoredChunk, encodeStoredChunk, startsWithZstdMagic, ZSTD_MAGIC } from '../../../../protocol/store/chunk-codec.ts'
import { createChunkStore, MTIME_PERSIST_INTERVAL_MS } from '../../../../protocol/store/chunk-store.ts'
import type { ChunkStore, ChunkStoreInit } from '../../../../protocol/store/chunk-store.ts'
import { createLogger } from '../../../../protocol/logger.ts'
import { rejects } from '../../../helpers/rejects.ts'
import { withTmpDir } from '../../../helpers/tmp-dir.ts'

const logger = createLogger({ level: 'silent' })
const open = (dir: string, init: Partial<ChunkStoreInit> = {}): Promise<ChunkStore> => createChunkStore({ dir, logger, ...init })
const filesIn = async (dir: string): Promise<string[]> => (await readdir(dir)).sort()
const bytesEq = (a: Uint8Array, b: Uint8Array): void => { assert.ok(Buffer.from(a).equals(Buffer.from(b)), 'bytes differ') }

/** Every chunk file under chunks/, as ids. */
async function chunkFiles (root: string): Promise<string[]> {
  const out: string[] = []
  for (const d of await readdir(join(root, 'chunks'))) out.push(...await readdir(join(root, 'chunks', d)))
  return out.sort()
}

const compressible = new TextEncoder().encode('vm image block '.repeat(3000))
const ROUND_TRIPS: Array<{ name: string, bytes: Uint8Array, compressed: boolean }> = [
  { name: 'compressible', bytes: compressible, compressed: true },
  { name: 'incompressible', bytes: randomBytes(64 * 1024), compressed: false },
  { name: 'raw chunk starting with the zstd magic', bytes: Buffer.concat([ZSTD_MAGIC, randomBytes(4096)]), compressed: false },
  { name: 'empty', bytes: new Uint8Array(0), compressed: false }
]

test('round trips raw and compressed chunks; files on disk are self-describing', () => withTmpDir(async (dir) => {
  const store = await open(dir)
  let used = 0
  for (const c of ROUND_TRIPS) {
    const r = await store.put(c.bytes)
    assert.equal(r, { id: chunkId(c.bytes), stored: true, diskBytes: r.diskBytes }, c.name)
    const file = await readFile(store.pathOf(r.id))
    assert.is(file.byteLength, r.diskBytes, c.name)
    assert.is(startsWithZstdMagic(file) && file.byteLength < c.bytes.byteLength, c.compressed, c.name)
    if (!c.compressed) bytesEq(file, c.bytes)
    // what an HTTP client of the origin does with the served file
    bytesEq(decodeStoredChunk(r.id, file), c.bytes)
    bytesEq(await store.get(r.id), c.bytes)
    assert.ok(store.has(r.id))
    used += r.diskBytes
  }
  assert.is(store.count, ROUND_TRIPS.length)
  assert.is(store.usedBytes, used)
  assert.ok(isAbsolute(store.pathOf(chunkId(compressible))))
  assert.equal(await filesIn(join(dir, 'tmp')), [])
}))

test('putting a chunk again stores nothing and counts nothing', () => withTmpDir(async (dir) => {
  const store = await open(dir)
  const a = await store.put(compressible)
  const b = await store.put(compressible, { id: a.id })
  assert.equal(b, { ...a, stored: false })
  assert.is(store.count, 1)
  assert.is(store.usedBytes, a.diskBytes)
}))

test('compress: false stores compressible chunks raw', () => withTmpDir(async (dir) => {
  const store = await open(dir, { compress: false })
  const r = await store.put(compressible)
  bytesEq(await readFile(store.pathOf(r.id)), compressible)
}))

const REFUSED_PUTS: Array<{ name: string, bytes: Uint8Array, id?: string, code: string }> = [
  { name: 'wrong id', bytes: randomBytes(1000), id: chunkId(Buffer.from('other')), code: 'ERR_CHUNK_CORRUPT' },
  { name: 'larger than maxChunkBytes', bytes: randomBytes(2049), code: 'ERR_CHUNK_TOO_LARGE' }
]
for (const c of REFUSED_PUTS) {
  test(`put refuses ${c.name} (${c.code}) and writes nothing`, () => withTmpDir(async (dir) => {
    const store = await open(dir, { maxChunkBytes: 2048 })
    await rejects(store.put(c.bytes, c.id === undefined ? {} : { id: c.id }), { code: c.code })
    assert.is(store.count, 0)
    assert.is(store.usedBytes, 0)
    assert.not.ok(store.has(chunkId(c.bytes)))
    assert.equal(await chunkFiles(dir), [])
    assert.equal(await filesIn(join(dir, 'tmp')), [])
  }))
}

const incompressible = randomBytes(8192)
const CORRUPTIONS: Array<{ name: string, bytes: Uint8Array, damage: (path: string) => Promise<void> }> = [
  { name: 'flipped byte in a raw file', bytes: incompressible, damage: async (p) => { const b = await readFile(p); b[100] ^= 1; await writeFile(p, b) } },
  { name: 'truncated raw file', bytes: incompressible, damage: (p) => truncate(p, 10) },
  { name: 'empty file', bytes: incompressible, damage: (p) => truncate(p, 0) },
  { name: 'truncated zstd file', bytes: Buffer.concat([compressible, randomBytes(3000)]), damage: async (p) => { const b = await readFile(p); await writeFile(p, b.subarray(0, b.byteLength >> 1)) } },
  { name: 'zip bomb in place of a compressed chunk', bytes: compressible, damage: (p) => writeFile(p, zstdCompressSync(Buffer.alloc(1024 * 1024))) },
  { name: 'file larger than maxChunkBytes', bytes: incompressible, damage: (p) => writeFile(p, randomBytes(70 * 1024)) }
]
for (const c of CORRUPTIONS) {
  test(`corrupt file on disk (${c.name}) → quarantined, ERR_CHUNK_CORRUPT not the peer's fault`, () => withTmpDir(async (dir) => {
    const store = await open(dir, { maxChunkBytes: 64 * 1024 })
    const { id } = await store.put(c.bytes)
    const other = await store.put(randomBytes(500))
    await c.damage(store.pathOf(id))
    const err = await rejects(store.get(id), { code: 'ERR_CHUNK_CORRUPT' }) as Error & { peerFault?: boolean }
    assert.is(err.peerFault, false)
    assert.not.ok(store.has(id))
    assert.is(store.count, 1)
    assert.is(store.usedBytes, other.diskBytes)
    const quarantined = await filesIn(join(dir, 'quarantine'))
    assert.is(quarantined.length, 1)
    assert.ok(quarantined[0]?.startsWith(id))
    assert.equal(await chunkFiles(dir), [other.id])
    await rejects(store.get(id), { code: 'ERR_CHUNK_NOT_FOUND' })
    // a fresh copy is accepted again
    assert.is((await store.put(c.bytes)).stored, true)
    bytesEq(await store.get(id), c.bytes)
  }))
}

test('missing chunk → ERR_CHUNK_NOT_FOUND; a file deleted behind our back is forgotten', () => withTmpDir(async (dir) => {
  const store = await open(dir)
  await rejects(store.get(chunkId(Buffer.from('nope'))), { code: 'ERR_CHUNK_NOT_FOUND' })
  const { id, diskBytes } = await store.put(incompressible)
  assert.is(store.usedBytes, diskBytes)
  const other = await open(dir)
  assert.ok(await other.delete(id))
  await rejects(store.get(id), { code: 'ERR_CHUNK_NOT_FOUND' })
  assert.not.ok(store.has(id))
  assert.is(store.usedBytes, 0)
}))

test('delete removes the file and the accounting; false when absent', () => withTmpDir(async (dir) => {
  const store = await open(dir)
  const { id } = await store.put(incompressible)
  assert.is(await store.delete(id), true)
  assert.is(await store.delete(id), false)
  assert.is(store.count, 0)
  assert.is(store.usedBytes, 0)
  assert.equal(await chunkFiles(dir), [])
}))

const TRICKS = ['../x', '../../etc/passwd', 'chunks/../../x', `${'a'.repeat(63)}/`, 'A'.repeat(64), '', '..']
test('path tricks are refused with TypeError by every method', () => withTmpDir(async (dir) => {
  const store = await open(dir)
  for (const bad of TRICKS) {
    assert.throws(() => store.pathOf(bad), TypeError, bad)
    assert.throws(() => store.protect([bad]), TypeError, bad)
    assert.is(store.has(bad), false)
    await rejects(store.get(bad), { name: 'TypeError' })
    await rejects(store.delete(bad), { name: 'TypeError' })
    await rejects(store.put(new Uint8Array(1), { id: bad }), { name: 'TypeError' })
  }
  assert.equal(await chunkFiles(dir), [])
}))

test('a chunk another store wrote into the directory is found and adopted', () => withTmpDir(async (dir) => {
  const a = await open(dir)
  const b = await open(dir)
  const r = await a.put(compressible)
  assert.not.ok(b.has(r.id))
  bytesEq(await b.get(r.id), compressible)
  assert.ok(b.has(r.id))
  assert.is(b.usedBytes, r.diskBytes)
  // and put() sees the file instead of writing it again
  const s = await b.put(incompressible)
  assert.equal(await a.put(incompressible), { ...s, stored: false })
}))

test('reopening rebuilds count, usedBytes and the set of ids', () => withTmpDir(async (dir) => {
  const store = await open(dir)
  for (let i = 0; i < 40; i++) await store.put(i % 2 === 0 ? randomBytes(300 + i) : new TextEncoder().encode(`chunk ${i} `.repeat(200)))
  const again = await open(dir)
  assert.is(again.count, 40)
  assert.is(again.usedBytes, store.usedBytes)
  assert.equal([...again.ids()].sort(), [...store.ids()].sort())
}))

test('opening removes temp files left by a crash but keeps a live writer\'s', () => withTmpDir(async (dir) => {
  await open(dir)
  const tmp = join(dir, 'tmp')
  const live = `${process.pid}-00aa.tmp`
  await writeFile(join(tmp, '2147483646-deadbeef.tmp'), 'dead writer')
  await writeFile(join(tmp, 'garbage'), 'not ours')
  await writeFile(join(tmp, `${process.pid}-0bb0.tmp`), 'our pid, but hours old')
  const old = (Date.now() - 2 * 3600_000) / 1000
  await utimes(join(tmp, `${process.pid}-0bb0.tmp`), old, old)
  await writeFile(join(tmp, live), 'in progress')
  const store = await open(dir)
  assert.equal(await filesIn(tmp), [live])
  assert.is(store.count, 0)
}))

function sized (n: number, tag: number): Uint8Array {
  const b = randomBytes(n)
  b[0] = tag
  return b
}

test('eviction past maxBytes drops the least recently used, never a protected chunk', () => withTmpDir(async (dir) => {
  const store = await open(dir, { maxBytes: 3000 })
  const [a, b, c, d, e] = [1, 2, 3, 4, 5].map(t => sized(1000, t))
  const ida = (await store.put(a!)).id
  const idb = (await store.put(b!)).id
  const idc = (await store.put(c!)).id
  await store.get(ida) // order now b, c, a
  const guard = store.protect([idb])
  const idd = (await store.put(d!)).id // over the limit: b is protected → c goes
  assert.equal([...store.ids()], [idb, ida, idd])
  assert.not.ok(store.has(idc))
  await rejects(store.get(idc), { code: 'ERR_CHUNK_NOT_FOUND' })
  assert.is(store.usedBytes, 3000)
  guard.release()
  guard.release() // idempotent
  const ide = (await store.put(e!)).id // b is now the oldest and unprotected
  assert.equal([...store.ids()], [ida, idd, ide])
  assert.equal((await chunkFiles(dir)).sort(), [ida, idd, ide].sort())
  // explicit eviction: everything unprotected, the bytes freed returned
  const keep = store.protect([idd])
  assert.is(await store.evict(0), 2000)
  assert.equal([...store.ids()], [idd])
  assert.is(store.usedBytes, 1000)
  keep.release()
}))

test('protection is counted: one release of two protections keeps the chunk', () => withTmpDir(async (dir) => {
  const store = await open(dir)
  const { id } = await store.put(incompressible)
  const p1 = store.protect([id])
  const p2 = store.protect([id])
  p1.release()
  assert.is(await store.evict(0), 0)
  assert.ok(store.has(id))
  p2.release()
  assert.is(await store.evict(0), incompressible.byteLength)
  assert.is(await store.evict(), 0, 'no maxBytes: evict() is a no-op')
}))

test('LRU order survives a restart through mtimes; reads refresh stale mtimes', () => withTmpDir(async (dir) => {
  const store = await open(dir)
  const [x, y, z] = await Promise.all([1, 2, 3].map(t => store.put(sized(500, t)).then(r => r.id)))
  const ago = (h: number): number => (Date.now() - h * 3600_000) / 1000
  await utimes(store.pathOf(x!), ago(3), ago(3))
  await utimes(store.pathOf(y!), ago(1), ago(1))
  await utimes(store.pathOf(z!), ago(2), ago(2))
  const reopened = await open(dir)
  assert.equal([...reopened.ids()], [x, z, y])
  const before = Date.now()
  await reopened.get(x!)
  assert.equal([...reopened.ids()], [z, y, x])
  assert.ok((await stat(reopened.pathOf(x!))).mtimeMs >= before - 1000, 'stale mtime written back')
  const mtime = (await stat(reopened.pathOf(x!))).mtimeMs
  await reopened.get(x!)
  assert.is((await stat(reopened.pathOf(x!))).mtimeMs, mtime, `at most one write per ${MTIME_PERSIST_INTERVAL_MS} ms`)
  assert.equal([...(await open(dir)).ids()], [z, y, x])
}))

test('ids() is a snapshot: reading every chunk while iterating ends', () => withTmpDir(async (dir) => {
  const store = await open(dir)
  for (let t = 0; t < 5; t++) await store.put(sized(100, t))
  let n = 0
  for (const id of store.ids()) { await store.get(id); n++ }
  assert.is(n, 5)
}))

test('an aborted put writes nothing; an aborted get rejects', () => withTmpDir(async (dir) => {
  const store = await open(dir)
  const ac = new AbortController()
  ac.abort()
  await rejects(store.put(incompressible, { signal: ac.signal }), { name: 'AbortError' })
  assert.equal(await chunkFiles(dir), [])
  assert.equal(await filesIn(join(dir, 'tmp')), [])
  const { id } = await store.put(incompressible)
  await rejects(store.get(id, { signal: ac.signal }), { name: 'AbortError' })
}))

test('fsyncDirs: true still round-trips', () => withTmpDir(async (dir) => {
  const store = await open(dir, { fsyncDirs: true })
  const { id } = await store.put(compressible)
  bytesEq(await store.get(id), compressible)
}))

const BAD_INITS: Array<Partial<ChunkStoreInit>> = [
  { dir: '' }, { maxBytes: -1 }, { maxBytes: 1.5 }, { maxChunkBytes: 0 }, { maxChunkBytes: 8 * 1024 * 1024 }
]
for (const init of BAD_INITS) {
  test(`init ${JSON.stringify(init)} → TypeError`, () => withTmpDir(async (dir) => {
    await rejects(createChunkStore({ dir, logger, ...init }), { name: 'TypeError' })
  }))
}

test('stored files match what encodeStoredChunk produces, for any static server to serve', () => withTmpDir(async (dir) => {
  const store = await open(dir)
  const { id } = await store.put(compressible)
  bytesEq(await readFile(join(dir, 'chunks', id.slice(0, 2), id)), encodeStoredChunk(compressible))
}))

/** node:fs/promises with every file handle's sync() counted. */
async function countingFs (): Promise<{ fs: typeof import('node:fs/promises'), syncs: () => number }> {
  const fs = await import('node:fs/promises')
  let syncs = 0
  const counting = {
    ...fs,
    open: async (...args: Parameters<typeof fs.open>) => {
      const h = await fs.open(...args)
      const sync = h.sync.bind(h)
      h.sync = async () => { syncs++; await sync() }
      return h
    }
  }
  return { fs: counting as typeof fs, syncs: () => syncs }
}

test('deferred fsync: no fsync per chunk, one flush makes them durable (syncfs, or per-file fsync without `sync`)', () => withTmpDir(async (dir) => {
  const { fs, syncs } = await countingFs()
  const store = await open(dir, { fsyncFiles: 'deferred', fs })
  const a = randomBytes(1000)
  const b = randomBytes(1000)
  await store.put(a)
  await store.put(b)
  assert.is(syncs(), 0, 'no fsync while writing')
  await store.flush() // `sync -f` on the store's filesystem
  assert.is(syncs(), 0, 'syncfs needs no per-file fsync')
  await store.put(randomBytes(1000))
  const path = process.env.PATH
  process.env.PATH = '/nonexistent' // no `sync` binary: fall back to fsyncing each file and its directory
  try { await store.flush() } finally { process.env.PATH = path }
  assert.is(syncs(), 2, 'one file and its directory')
  await store.flush()
  assert.is(syncs(), 2, 'nothing pending, nothing synced')
  bytesEq(await store.get(chunkId(a)), a)
}))

test('a store that fsyncs each chunk does so on put, and its flush syncs nothing more', () => withTmpDir(async (dir) => {
  const { fs, syncs } = await countingFs()
  const store = await open(dir, { fs })
  await store.put(randomBytes(100))
  assert.is(syncs(), 1, 'the chunk file was fsynced before its rename')
  const path = process.env.PATH
  process.env.PATH = '/nonexistent' // a flush that did anything would have to fsync here
  try { await store.flush() } finally { process.env.PATH = path }
  assert.is(syncs(), 1)
}))

test.run()
