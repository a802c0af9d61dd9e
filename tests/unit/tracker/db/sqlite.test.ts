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

test.after(async () => { await rm(dir, { recursive: true, force: true }) })

test.run()
