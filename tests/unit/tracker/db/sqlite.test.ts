// The SQLite dialect's transactions: drizzle's transactions on node:sqlite are only real
// with a synchronous callback (DEPENDENCIES.md), so these check that work really runs
// inside one — unseen by another connection until it commits, undone when it throws.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { eq } from 'drizzle-orm'
import { exec, type Dialect, type Statement } from '../../../../tracker/db/dialect.ts'
import { openSqliteDialect } from '../../../../tracker/db/sqlite.ts'
import { rejects } from '../../../helpers/rejects.ts'

const dir = await mkdtemp(join(tmpdir(), 'branchcast-sqlite-dialect-'))
let n = 0

function open (): { d: Dialect, path: string } {
  const path = join(dir, `d${n++}.db`)
  return { d: openSqliteDialect(path), path }
}

const countImages = (path: string): number => {
  const other = new DatabaseSync(path)
  try {
    return (other.prepare('SELECT count(*) AS n FROM images').get() as { n: number }).n
  } finally {
    other.close()
  }
}

test('work runs inside the transaction: another connection sees its writes only after the commit', async () => {
  const { d, path } = open()
  let seenInside = -1
  await d.transaction(function * () {
    yield * d.insert('images', { name: 'a', createdAt: 1 })
    seenInside = countImages(path)
  })
  assert.is(seenInside, 0)
  assert.is(countImages(path), 1)
  await d.close()
})

test('a throw half-way rolls back what the work wrote', async () => {
  const { d } = open()
  await rejects(d.transaction(function * () {
    yield * d.insert('images', { name: 'a', createdAt: 1 })
    throw new Error('boom')
  }), { message: /boom/ })
  assert.equal(await d.run(d.select({ name: d.tables.images.name }, 'images')), [])
  await d.close()
})

test('a failed statement is thrown into the work, which may catch it and go on', async () => {
  const { d } = open()
  const names = await d.transaction(function * () {
    yield * d.insert('images', { name: 'a', createdAt: 1 })
    let unique = false
    try {
      yield * d.insert('images', { name: 'a', createdAt: 2 })
    } catch (err) {
      unique = d.isUniqueViolation(err)
    }
    assert.ok(unique)
    yield * d.insert('images', { name: 'b', createdAt: 3 })
    return (yield * d.select({ name: d.tables.images.name }, 'images')).map((r) => r.name)
  })
  assert.equal(names, ['a', 'b'])
  assert.equal(await d.run(d.select({ at: d.tables.images.createdAt }, 'images', { where: eq(d.tables.images.name, 'a') })), [{ at: 1 }])
  await d.close()
})

test('a statement that returns a promise is refused: it would run outside the transaction', async () => {
  const { d, path } = open()
  const later = (async () => 1) as unknown as Statement<number>
  await rejects(d.transaction(function * () {
    yield * d.insert('images', { name: 'a', createdAt: 1 })
    yield * exec(later)
  }), { message: /outside its transaction/ })
  assert.is(countImages(path), 0)
  await d.close()
})

test('transactions and writes asked for in one turn commit together, and each resolves only once committed', async () => {
  const { d, path } = open()
  const seen: number[] = []
  const insert = (name: string) => d.transaction(function * () {
    seen.push(countImages(path))
    yield * d.insert('images', { name, createdAt: 1 })
  })
  const committed: number[] = []
  const write = d.write(function * () {
    seen.push(countImages(path))
    yield * d.insert('images', { name: 'w', createdAt: 1 })
  })
  await Promise.all([write, ...['a', 'b', 'c'].map(async (name) => { await insert(name); committed.push(countImages(path)) })])
  // one commit: inside the group nothing was visible to another connection yet
  assert.equal(seen, [0, 0, 0, 0])
  assert.equal(committed, [4, 4, 4])
  await d.close()
})

test('a throw in one transaction of a group undoes its writes only; the others commit', async () => {
  const { d } = open()
  const results = await Promise.allSettled([
    d.transaction(function * () { yield * d.insert('images', { name: 'a', createdAt: 1 }) }),
    d.transaction(function * () {
      yield * d.insert('images', { name: 'b', createdAt: 1 })
      throw new Error('boom')
    }),
    // a unique violation, as another process's insert would give
    d.transaction(function * () { yield * d.insert('images', { name: 'a', createdAt: 2 }) }),
    d.transaction(function * () { yield * d.insert('images', { name: 'c', createdAt: 1 }) })
  ])
  assert.equal(results.map((r) => r.status), ['fulfilled', 'rejected', 'rejected', 'fulfilled'])
  assert.ok(d.isUniqueViolation((results[2] as PromiseRejectedResult).reason))
  const names = await d.run(d.select({ name: d.tables.images.name, at: d.tables.images.createdAt }, 'images'))
  assert.equal(names.map((r) => `${r.name}@${r.at}`).sort(), ['a@1', 'c@1'])
  await d.close()
})

test('more transactions than a group holds: every one commits, in the order asked', async () => {
  const { d } = open()
  const names = Array.from({ length: 40 }, (_, i) => `img-${String(i).padStart(2, '0')}`)
  await Promise.all(names.map((name) => d.transaction(d.insert('images', { name, createdAt: 1 }))))
  const rows = await d.run(d.select({ id: d.tables.images.id, name: d.tables.images.name }, 'images'))
  assert.equal(rows.sort((x, y) => Number(x.id) - Number(y.id)).map((r) => r.name), names)
  await d.close()
})

test('close commits what is still queued', async () => {
  const { d, path } = open()
  const pending = d.transaction(d.insert('images', { name: 'late', createdAt: 1 }))
  await d.close()
  await pending
  assert.is(countImages(path), 1)
})

test.after(async () => { await rm(dir, { recursive: true, force: true }) })

test.run()
