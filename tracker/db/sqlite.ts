/**
 * SQLite through `node:sqlite` and `drizzle-orm/node-sqlite`: opening the file, and the
 * `Dialect` the one store (`queries.ts`) runs on.
 *
 * One file may be shared by several tracker processes: WAL mode, a busy timeout, and every
 * read-then-write done in a `BEGIN IMMEDIATE` transaction, so a writer waits for the lock
 * instead of failing half-way. node:sqlite is synchronous and drizzle's transactions on it
 * are only real with a synchronous callback: this dialect runs every statement of a
 * piece of work synchronously, inside that callback.
 *
 * Transactions asked for in one turn of the event loop commit together
 * (`sqlite-group-commit.ts`), and each SQL text is compiled once (`sqlite-statements.ts`):
 * under event ingest, commits and SQLite's compiler were most of the tracker's CPU.
 */
import type { DatabaseSync } from 'node:sqlite'
import { fileURLToPath } from 'node:url'
import { getTableColumns, sql, type Column, type SQL } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/node-sqlite'
import { migrate } from 'drizzle-orm/node-sqlite/migrator'
import type { SQLiteColumn, SQLiteTable } from 'drizzle-orm/sqlite-core'
import * as s from './schema.sqlite.ts'
import { exec, workOf } from './dialect.ts'
import type { ColumnsOf, Dialect, Fields, Row, SelectQuery, Selected, Statement, Tables, Work } from './dialect.ts'
import { batches } from './records.ts'
import { createGroupCommit } from './sqlite-group-commit.ts'
import { StatementCachingDatabase } from './sqlite-statements.ts'
import { createTrackerStore } from './queries.ts'
import type { TrackerStore } from './store.ts'

/** How long a writer waits for another process's lock before failing. */
export const SQLITE_BUSY_TIMEOUT_MS = 10_000
/** Rows per multi-row INSERT (2 parameters each, well under SQLite's 32766). */
const CHUNK_ROWS_PER_STMT = 500

const MIGRATIONS = fileURLToPath(new URL('./migrations/sqlite', import.meta.url))

type Db = ReturnType<typeof drizzle>
/** The database or a transaction: the same synchronous query builders. */
type Conn = Pick<Db, 'select' | 'insert' | 'update' | 'delete'>
/** A transaction (or a savepoint in one). */
type Tx = Parameters<Parameters<Db['transaction']>[0]>[0]
/** A SQLite statement: runs at once, returns its result (never a promise). */
type SqliteStatement<T> = (conn: Conn) => T

export async function openSqliteStore (path: string): Promise<TrackerStore> {
  return createTrackerStore(openSqliteDialect(path))
}

/** Opens (creating and migrating if need be) the file: the dialect the store runs on. */
export function openSqliteDialect (path: string): Dialect {
  // drizzle prepares each query it runs: the same texts compile once here
  const client = new StatementCachingDatabase(path, { timeout: SQLITE_BUSY_TIMEOUT_MS })
  client.exec(`PRAGMA busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`)
  client.exec('PRAGMA journal_mode = WAL')
  // NORMAL is durable across process crashes in WAL mode; only an OS crash may lose the last commits.
  client.exec('PRAGMA synchronous = NORMAL')
  client.exec('PRAGMA foreign_keys = ON')
  // 64 MiB of page cache: a 1M-row version_chunks insert thrashes the 2 MiB default.
  client.exec('PRAGMA cache_size = -65536')
  const db: Db = drizzle({ client })
  try {
    migrate(db, { migrationsFolder: MIGRATIONS })
  } catch (err) {
    // Two processes opening a fresh file both see "nothing applied"; the loser's CREATE
    // fails. Its second pass sees the winner's migrations and has nothing left to do.
    migrate(db, { migrationsFolder: MIGRATIONS })
    void err
  }
  return sqliteDialect(db, client)
}

function isUniqueViolation (err: unknown): boolean {
  for (let e = err as { errcode?: number, message?: string, cause?: unknown } | undefined, i = 0; e != null && i < 5; e = e.cause as typeof e, i++) {
    if (e.errcode === 2067 || e.errcode === 1555) return true
    if (typeof e.message === 'string' && /UNIQUE constraint failed/.test(e.message)) return true
  }
  return false
}

function statement<T> (run: SqliteStatement<T>): Work<T> {
  return exec(run as unknown as Statement<T>)
}

/**
 * Drives work to its end, running each statement it yields at once and handing back the
 * result (or throwing the error into it, so it may catch a unique violation).
 */
function runNow<T> (work: Work<T>, conn: Conn): T {
  let step = work.next()
  while (step.done !== true) {
    let result: unknown
    try {
      result = (step.value as unknown as SqliteStatement<unknown>)(conn)
    } catch (err) {
      step = work.throw(err)
      continue
    }
    if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') {
      throw new Error('a SQLite statement returned a promise: it would have run outside its transaction')
    }
    step = work.next(result)
  }
  return step.value
}

// The shared code builds conditions from `tables`, which here are this schema's: its
// columns are SQLite columns, whatever the union type says.
const own = (columns: ReadonlyArray<SQL | Column>): Array<SQL | SQLiteColumn> => columns as Array<SQL | SQLiteColumn>
const table = (name: keyof Tables): SQLiteTable => s[name]

function sqliteDialect (db: Db, client: DatabaseSync): Dialect {
  let closed = false
  // `{ value }`, not a bare T, so that drizzle's type check of a synchronous callback still bites
  const group = createGroupCommit<Conn>({
    transaction: (body) => db.transaction((tx) => ({ value: body(tx) }), { behavior: 'immediate' }).value,
    savepoint: (tx, body) => (tx as Tx).transaction((sp) => ({ value: body(sp) })).value
  })
  const insertChunkStmts = new Map<number, ReturnType<DatabaseSync['prepare']>>()
  function insertChunkStmt (rows: number): ReturnType<DatabaseSync['prepare']> {
    let stmt = insertChunkStmts.get(rows)
    if (stmt === undefined) {
      stmt = client.prepare(`INSERT OR IGNORE INTO version_chunks (version_id, chunk_id) VALUES ${Array(rows).fill('(?, ?)').join(', ')}`)
      insertChunkStmts.set(rows, stmt)
    }
    return stmt
  }

  return {
    name: 'sqlite',
    tables: s,
    async run (work) {
      return runNow(workOf(work), db)
    },
    async transaction (work) {
      return group.transaction((tx) => runNow(workOf(work), tx))
    },
    async write (work) {
      return group.transaction((tx) => runNow(workOf(work), tx))
    },
    isUniqueViolation,

    select<F extends Fields> (fields: F, name: keyof Tables, q: SelectQuery = {}) {
      return statement((conn) => {
        let query = conn.select(fields as Record<string, SQLiteColumn | SQL | SQL.Aliased>).from(table(name)).$dynamic()
        for (const j of q.join ?? []) query = query.innerJoin(table(j.table), j.on)
        if (q.where !== undefined) query = query.where(q.where)
        if (q.groupBy !== undefined) query = query.groupBy(...own(q.groupBy))
        if (q.orderBy !== undefined) query = query.orderBy(...own(q.orderBy))
        if (q.limit !== undefined) query = query.limit(q.limit)
        return query.all() as Array<Selected<F>>
      })
    },
    insert (name, row) {
      return statement((conn) => conn.insert(table(name)).values(row).returning().get() as Row<typeof name>)
    },
    insertMany (name, rows) {
      return statement((conn) => { conn.insert(table(name)).values([...rows]).run() })
    },
    update (name, changes, where) {
      return statement((conn) => Number(conn.update(table(name)).set(changes).where(where).run().changes))
    },
    updateOne (name, changes, where) {
      return statement((conn) => conn.update(table(name)).set(changes).where(where).returning().get() as Row<typeof name> | undefined)
    },
    delete (name, where) {
      return statement((conn) => Number(conn.delete(table(name)).where(where).run().changes))
    },
    upsert (name, row, { key, update }) {
      // In ON CONFLICT DO UPDATE the table's own columns name the existing row.
      const columns: Record<string, SQLiteColumn> = getTableColumns(table(name))
      return statement((conn) => conn.insert(table(name)).values(row)
        .onConflictDoUpdate({ target: key.map((k) => columns[k as string]!), set: update(columns as ColumnsOf<typeof name>) })
        .returning().get() as Row<typeof name>)
    },

    // BEGIN IMMEDIATE already holds the whole file.
    * lockImage () {},
    addChunkIds (versionId, chunkIds) {
      return statement(() => {
        for (const rows of batches(chunkIds, CHUNK_ROWS_PER_STMT)) {
          const params: Array<string | number> = []
          for (const id of rows) params.push(versionId, id)
          insertChunkStmt(rows.length).run(...params)
        }
      })
    },

    async ping () {
      db.get(sql`select 1`)
    },
    async close () {
      if (closed) return
      closed = true
      group.flush()
      client.close()
    }
  }
}
