// The store contract on SQLite (real files in a temp dir), plus what only SQLite has:
// URL forms, the file's pragmas, two processes sharing one file, a 1M-chunk version.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readdirSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { DatabaseSync } from 'node:sqlite'
import { openStore, parseStoreUrl } from '../../../tracker/db/index.ts'
import { rejects } from '../../helpers/rejects.ts'
import { run } from './store.contract.ts'

const dir = await mkdtemp(join(tmpdir(), 'branchcast-store-'))
let n = 0

run('sqlite', {
  open: () => openStore({ url: `sqlite:${join(dir, `contract-${n++}.db`)}` }),
  cleanup: async () => { /* the whole dir goes in the last test's after hook */ }
})

test('parseStoreUrl: sqlite and mssql forms', () => {
  assert.equal(parseStoreUrl('sqlite:/var/lib/bc/tracker.db'), { dialect: 'sqlite', path: '/var/lib/bc/tracker.db' })
  assert.equal(parseStoreUrl('sqlite:///tmp/x.db'), { dialect: 'sqlite', path: '/tmp/x.db' })
  assert.equal(parseStoreUrl('data/tracker.db'), { dialect: 'sqlite', path: 'data/tracker.db' })
  assert.is(parseStoreUrl('mssql://sa:pw@db:1433/branchcast').dialect, 'mssql')
  assert.is(parseStoreUrl('sqlserver://sa:pw@db/branchcast').dialect, 'mssql')
})

test('openStore refuses unknown schemes and empty URLs', async () => {
  await rejects(openStore({ url: 'postgres://x/y' }), { code: 'ERR_STORE_URL' })
  await rejects(openStore({ url: '' }), { code: 'ERR_STORE_URL' })
  await rejects(openStore({ url: 'sqlite:' }), { code: 'ERR_STORE_URL' })
})

test('the file is in WAL mode with foreign keys, and reopening does not re-migrate', async () => {
  const path = join(dir, 'pragmas.db')
  const a = await openStore({ url: path })
  await a.createImage({ name: 'x', nowMs: 1 })
  await a.close()
  await a.close()
  const b = await openStore({ url: `sqlite:${path}` })
  assert.ok(await b.getImage('x'))
  await b.close()
  const raw = new DatabaseSync(path)
  assert.is((raw.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode, 'wal')
  // once per migration folder: applied on the first open, not again on the second
  const migrations = readdirSync(new URL('../../../tracker/db/migrations/sqlite/', import.meta.url)).length
  assert.is((raw.prepare('SELECT count(*) AS n FROM __drizzle_migrations').get() as { n: number }).n, migrations)
  raw.close()
})

// A second tracker process on the same file: it opens the store and writes, the parent
// sees those writes, and the parent's writes are visible to the child.
const CHILD = `
import { openStore } from ${JSON.stringify(new URL('../../../tracker/db/index.ts', import.meta.url).href)}
const store = await openStore({ url: 'sqlite:' + process.argv[1] })
const img = await store.getImage('shared')
const d = await store.createDraft({ imageId: img.id, createdBy: 'child', nowMs: 2 })
await store.upsertMember({ image: 'shared', version: 1, peerId: 'child-peer', clientId: 'c', site: 's', addrs: [], have: new Uint8Array(0), haveCount: 0, nowMs: 2, ttlMs: 1000 })
const r = await store.insertEvents([{ id: 'from-child', clientId: 'c', user: 'u', type: 't', atMs: 2, payload: {} }], 2)
await store.close()
process.stdout.write(JSON.stringify({ number: d.number, inserted: r.inserted }))
`

function runChild (path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, path], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (b: Buffer) => { out += b.toString() })
    child.stderr.on('data', (b: Buffer) => { err += b.toString() })
    child.on('error', reject)
    child.on('close', (code) => code === 0 ? resolve(out) : reject(new Error(`child exited ${code}: ${err}`)))
  })
}

test('two processes on one SQLite file see each other writes', async () => {
  const path = join(dir, 'shared.db')
  const parent = await openStore({ url: `sqlite:${path}` })
  const img = await parent.createImage({ name: 'shared', nowMs: 1 })
  const mine = await parent.createDraft({ imageId: img.id, createdBy: 'parent', nowMs: 1 })
  await parent.upsertMember({ image: 'shared', version: 1, peerId: 'parent-peer', clientId: 'p', site: 's', addrs: [], have: new Uint8Array(0), haveCount: 0, nowMs: 1, ttlMs: 1000 })
  // the parent keeps its connection open (and a write in flight) while the child runs
  const [out] = await Promise.all([runChild(path), parent.insertEvents([{ id: 'from-parent', clientId: 'p', user: 'u', type: 't', atMs: 1, payload: {} }], 1)])
  const child = JSON.parse(out) as { number: number, inserted: number }
  assert.is(mine.number, 1)
  assert.is(child.number, 2)
  assert.is(child.inserted, 1)
  assert.equal((await parent.listVersions(img.id)).map((v) => v.createdBy), ['parent', 'child'])
  assert.equal((await parent.siteMembers('shared', 1, 's', 5)).map((m) => m.peerId).sort(), ['child-peer', 'parent-peer'])
  assert.equal((await parent.queryEvents({ order: 'asc' })).map((e) => e.id).sort(), ['from-child', 'from-parent'])
  assert.is((await parent.createDraft({ imageId: img.id, createdBy: 'parent', nowMs: 3 })).number, 3)
  await parent.close()
})

// 200k rows by default (fast on a loaded 2-core box); BRANCHCAST_STORE_BENCH=1 runs the full 1M.
const BIG = process.env.BRANCHCAST_STORE_BENCH === '1' ? 1_000_000 : 200_000

test(`a ${BIG.toLocaleString('en')}-chunk version inserts in seconds`, async () => {
  const store = await openStore({ url: join(dir, 'million.db') })
  const img = await store.createImage({ name: 'big', nowMs: 1 })
  const d = await store.createDraft({ imageId: img.id, createdBy: 'a', nowMs: 1 })
  const chunks = Array.from({ length: BIG }, (_, i) => createHash('sha256').update(String(i)).digest('hex'))
  const started = performance.now()
  await store.addVersionChunks(d.id, chunks)
  const ms = performance.now() - started
  console.log(`  addVersionChunks: ${BIG.toLocaleString('en')} chunk ids in ${(ms / 1000).toFixed(2)} s (sqlite)`)
  assert.ok(ms < 30_000, `took ${ms.toFixed(0)} ms`)
  const gcStarted = performance.now()
  const unref = await store.unreferencedChunks(chunks.slice(0, 50_000), { retiredCutoffMs: 0 })
  console.log(`  unreferencedChunks: 50,000 ids checked in ${((performance.now() - gcStarted) / 1000).toFixed(2)} s`)
  assert.is(unref.length, 0)
  await store.close()
})

test.after(async () => { await rm(dir, { recursive: true, force: true }) })

test.run()
