// The statement cache under drizzle's node-sqlite driver: one compiled statement per SQL
// text, reused, at most `maxStatements` kept.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { StatementCachingDatabase } from '../../../../tracker/db/sqlite-statements.ts'

test('the same text gives back the same statement, which still runs with new parameters', () => {
  const db = new StatementCachingDatabase(':memory:')
  db.exec('CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)')
  const insert = db.prepare('INSERT INTO t VALUES (?, ?)')
  assert.is(db.prepare('INSERT INTO t VALUES (?, ?)'), insert)
  insert.run('a', 1)
  db.prepare('INSERT INTO t VALUES (?, ?)').run('b', 2)
  assert.equal(db.prepare('SELECT k, v FROM t ORDER BY k').all().map((r) => ({ ...r })), [{ k: 'a', v: 1 }, { k: 'b', v: 2 }])
  db.close()
})

test('at most maxStatements kept, the least recently used dropped first', () => {
  const db = new StatementCachingDatabase(':memory:', {}, 2)
  const one = db.prepare('SELECT 1')
  const two = db.prepare('SELECT 2')
  assert.is(db.prepare('SELECT 1'), one) // 1 is now the most recently used
  db.prepare('SELECT 3') // drops 2
  assert.is(db.cachedStatements, 2)
  assert.is(db.prepare('SELECT 1'), one)
  assert.is.not(db.prepare('SELECT 2'), two)
  db.close()
})

test('a statement prepared with options is not shared', () => {
  const db = new StatementCachingDatabase(':memory:')
  const plain = db.prepare('SELECT 1 AS n')
  const special = db.prepare('SELECT 1 AS n', { readBigInts: true })
  assert.is.not(special, plain)
  assert.is(db.prepare('SELECT 1 AS n'), plain)
  assert.throws(() => new StatementCachingDatabase(':memory:', {}, 0), /positive integer/)
  db.close()
})

test.run()
