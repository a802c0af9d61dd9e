/**
 * SQL Server through `mssql` and `drizzle-orm/node-mssql`: opening the database, and the
 * `Dialect` the one store (`queries.ts`) runs on. What differs from SQLite, and why:
 *
 * - rows come back through `OUTPUT` (there is no `RETURNING`), row limits are `TOP`;
 * - the upsert is `MERGE … WITH (HOLDLOCK)` (no `ON CONFLICT`), the held key range keeping
 *   two processes from both inserting;
 * - chunk references go in as `INSERT … SELECT … WHERE NOT EXISTS` (no `INSERT OR
 *   IGNORE`), at most 2000 parameters a statement (SQL Server allows 2100);
 * - a read-then-write on an image first takes that image row's update lock
 *   (`lockImage`), which serialises it across tracker processes — SQLite's
 *   `BEGIN IMMEDIATE` locks the whole file instead;
 * - unique violations are errors 2627 / 2601;
 * - statements are awaited: the driver is asynchronous.
 *
 * Tested against a server only where `MSSQL_URL` points at one (none runs on the build
 * machines); `tests/unit/tracker/db/mssql.test.ts` checks the T-SQL it sends.
 */
import { fileURLToPath } from 'node:url'
import { and, eq, getTableColumns, sql, type Column, type SQL } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/node-mssql'
import { migrate } from 'drizzle-orm/node-mssql/migrator'
import { alias, type MsSqlColumn, type MsSqlTable } from 'drizzle-orm/mssql-core'
import * as s from './schema.mssql.ts'
import { exec, workOf } from './dialect.ts'
import type { ColumnsOf, Dialect, Fields, Row, SelectQuery, Selected, Statement, Tables, Work } from './dialect.ts'
import { batches } from './records.ts'
import { createTrackerStore } from './queries.ts'
import type { TrackerStore } from './store.ts'

const MIGRATIONS = fileURLToPath(new URL('./migrations/mssql', import.meta.url))
/** Chunk ids per statement: SQL Server allows 2100 parameters. */
const CHUNK_IDS_PER_STMT = 2000

type Db = ReturnType<typeof drizzle>
/** The database or a transaction: the same query builders. */
type Conn = Pick<Db, 'select' | 'insert' | 'update' | 'delete' | 'execute'>
type MssqlStatement<T> = (conn: Conn) => Promise<T>

/**
 * URL forms: `mssql://user:password@host:port/database?encrypt=true&trustServerCertificate=true`
 * (also `sqlserver://`). Passed to drizzle's node-mssql driver, which hands it to `mssql`.
 */
export async function openMssqlStore (url: string): Promise<TrackerStore> {
  const connection = url.replace(/^sqlserver:/i, 'mssql:')
  const db: Db = drizzle({ connection })
  await migrate(db, { migrationsFolder: MIGRATIONS })
  return createTrackerStore(mssqlDialect(db))
}

function isUniqueViolation (err: unknown): boolean {
  for (let e = err as { number?: number, message?: string, cause?: unknown } | undefined, i = 0; e != null && i < 5; e = e.cause as typeof e, i++) {
    if (e.number === 2627 || e.number === 2601) return true
    if (typeof e.message === 'string' && /Violation of (UNIQUE KEY|PRIMARY KEY) constraint|Cannot insert duplicate key/.test(e.message)) return true
  }
  return false
}

function statement<T> (run: MssqlStatement<T>): Work<T> {
  return exec(run as unknown as Statement<T>)
}

/** Drives work to its end, awaiting each statement it yields and handing back the result (or the error). */
async function runAwaiting<T> (work: Work<T>, conn: Conn): Promise<T> {
  let step = work.next()
  while (step.done !== true) {
    let result: unknown
    try {
      result = await (step.value as unknown as MssqlStatement<unknown>)(conn)
    } catch (err) {
      step = work.throw(err)
      continue
    }
    step = work.next(result)
  }
  return step.value
}

const TARGET = 't'
const SOURCE = 'src'

/**
 * `MERGE … WITH (HOLDLOCK)`: inserts `row`, or when a row with the same `key` exists, sets
 * `changes(current)` on it, `current` naming its columns as they were.
 */
export function mergeStatement (table: MsSqlTable, row: Record<string, unknown>, key: readonly string[], changes: (current: Record<string, MsSqlColumn>) => Record<string, unknown>): SQL {
  const columns: Record<string, MsSqlColumn> = getTableColumns(table)
  const target: Record<string, MsSqlColumn> = getTableColumns(alias(table, TARGET))
  const col = (k: string): SQL => sql`${sql.identifier(columns[k]!.name)}`
  const src = sql.identifier(SOURCE)
  const list = (parts: SQL[]): SQL => sql.join(parts, sql`, `)
  const inserted = Object.keys(row)
  return sql`MERGE ${table} WITH (HOLDLOCK) AS ${sql.identifier(TARGET)}
    USING (SELECT ${list(key.map((k) => sql`${row[k]} AS ${col(k)}`))}) AS ${src}
      ON ${sql.join(key.map((k) => sql`${target[k]} = ${src}.${col(k)}`), sql` AND `)}
    WHEN MATCHED THEN UPDATE SET ${list(Object.entries(changes(target)).map(([k, v]) => sql`${col(k)} = ${v}`))}
    WHEN NOT MATCHED THEN INSERT (${list(inserted.map(col))})
      VALUES (${list(inserted.map((k) => sql`${row[k]}`))});`
}

/** Inserts (versionId, chunkId) pairs not yet there; `chunkIds` at most `CHUNK_IDS_PER_STMT`. */
export function insertChunksStatement (versionId: number, chunkIds: readonly string[]): SQL {
  const values = sql.join(chunkIds.map((id) => sql`(${id})`), sql`, `)
  return sql`INSERT INTO [version_chunks] ([version_id], [chunk_id])
    SELECT ${versionId}, src.c FROM (VALUES ${values}) AS src(c)
    WHERE NOT EXISTS (SELECT 1 FROM [version_chunks] x WITH (UPDLOCK, HOLDLOCK) WHERE x.[version_id] = ${versionId} AND x.[chunk_id] = src.c)`
}

/** Takes the image row's update lock until the transaction ends. */
export function lockImageStatement (imageId: number): SQL {
  return sql`UPDATE [images] SET [last_version] = [last_version] WHERE [id] = ${imageId}`
}

// The shared code builds conditions from `tables`, which here are this schema's: its
// columns are SQL Server columns, whatever the union type says.
const own = (columns: ReadonlyArray<SQL | Column>): Array<SQL | MsSqlColumn> => columns as Array<SQL | MsSqlColumn>
const table = (name: keyof Tables): MsSqlTable => s[name]
/** A column to count changed rows by, through OUTPUT (a row count would vanish under SET NOCOUNT ON). */
const counted = (name: keyof Tables): MsSqlColumn => Object.values(getTableColumns(table(name)))[0]!

/** The SQL Server dialect over a drizzle node-mssql database (connected or not: building T-SQL needs no server). */
export function mssqlDialect (db: Db): Dialect {
  let closed = false

  return {
    name: 'mssql',
    tables: s,
    async run (work) {
      return runAwaiting(workOf(work), db)
    },
    async transaction (work) {
      return db.transaction(async (tx) => runAwaiting(workOf(work), tx))
    },
    async write (work) {
      return runAwaiting(workOf(work), db)
    },
    isUniqueViolation,

    select<F extends Fields> (fields: F, name: keyof Tables, q: SelectQuery = {}) {
      return statement(async (conn) => {
        const chosen = conn.select(fields as Record<string, MsSqlColumn | SQL | SQL.Aliased>)
        let query = (q.limit === undefined ? chosen.from(table(name)) : chosen.top(q.limit).from(table(name))).$dynamic()
        for (const j of q.join ?? []) query = query.innerJoin(table(j.table), j.on)
        if (q.where !== undefined) query = query.where(q.where)
        if (q.groupBy !== undefined) query = query.groupBy(...own(q.groupBy))
        if (q.orderBy !== undefined) query = query.orderBy(...own(q.orderBy))
        return await query as Array<Selected<F>>
      })
    },
    insert (name, row) {
      return statement(async (conn) => (await conn.insert(table(name)).output().values(row))[0] as Row<typeof name>)
    },
    insertMany (name, rows) {
      return statement(async (conn) => { await conn.insert(table(name)).values([...rows]) })
    },
    update (name, changes, where) {
      return statement(async (conn) => (await conn.update(table(name)).set(changes).output({ inserted: { k: counted(name) } }).where(where)).length)
    },
    updateOne (name, changes, where) {
      return statement(async (conn) => (await conn.update(table(name)).set(changes).output().where(where))[0] as Row<typeof name> | undefined)
    },
    delete (name, where) {
      return statement(async (conn) => (await conn.delete(table(name)).output({ k: counted(name) }).where(where)).length)
    },
    upsert (name, row, { key, update }) {
      const keys = key.map(String)
      const merge = mergeStatement(table(name), row, keys, (current) => update(current as ColumnsOf<typeof name>))
      const columns: Record<string, MsSqlColumn> = getTableColumns(table(name))
      const where = and(...keys.map((k) => eq(columns[k]!, (row as Record<string, unknown>)[k])))
      return statement(async (conn) => {
        await conn.execute(merge)
        const [found] = await conn.select().from(table(name)).where(where)
        return found as Row<typeof name>
      })
    },

    lockImage (imageId) {
      return statement(async (conn) => { await conn.execute(lockImageStatement(imageId)) })
    },
    addChunkIds (versionId, chunkIds) {
      return statement(async (conn) => {
        for (const ids of batches(chunkIds, CHUNK_IDS_PER_STMT)) await conn.execute(insertChunksStatement(versionId, ids))
      })
    },

    async ping () {
      await db.execute(sql`select 1 as ok`)
    },
    async close () {
      if (closed) return
      closed = true
      await (db.$client as unknown as { close: () => Promise<void> }).close()
    }
  }
}
