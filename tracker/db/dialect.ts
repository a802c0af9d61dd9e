/**
 * What the one store (`queries.ts`) asks of a SQL dialect: a few typed statements over the
 * tables of `schema.sqlite.ts` / `schema.mssql.ts`, and a way to run them.
 *
 * The store's code is written once as **work**: generator functions that `yield*` the
 * dialect's statements and get their results back. The dialect drives the generator:
 * SQLite runs every statement synchronously — so a transaction is a synchronous callback,
 * the only kind drizzle makes real on node:sqlite — and SQL Server awaits each one. Work
 * cannot `await` (tsc refuses an async generator as `Work`): it reaches the database only
 * by yielding statements, which the dialect runs inside the transaction, and SQLite's
 * driver refuses a statement that answers with a promise. (Babel's `gensync` writes code
 * once for sync and async the same way.)
 *
 * Conditions and orderings are built once with drizzle's dialect-neutral operators (`eq`,
 * `and`, `asc`, `sql`) over `dialect.tables`; each dialect renders them in its own SQL.
 */
import type { Column, GetColumnData, SQL } from 'drizzle-orm'
import type * as Lite from './schema.sqlite.ts'
import type * as Ms from './schema.mssql.ts'

type LiteTables = typeof Lite
type MsTables = typeof Ms

export type TableName = keyof LiteTables & keyof MsTables
/** A table of either schema: its columns work in drizzle's operators and `sql` whichever dialect renders them. */
export type Tables = { [K in TableName]: LiteTables[K] | MsTables[K] }
/** A row as either driver reads it (numbers, strings, Buffers, booleans; see `records.ts`). */
export type Row<K extends TableName> = LiteTables[K]['$inferSelect'] | MsTables[K]['$inferSelect']
/** A row to insert: it must suit both schemas. */
export type NewRow<K extends TableName> = LiteTables[K]['$inferInsert'] & MsTables[K]['$inferInsert']
/** Column values to set: plain values or SQL expressions. */
export type Changes<K extends TableName> = { [C in keyof NewRow<K>]?: NewRow<K>[C] | SQL }
/** The columns of a table, by property name. */
export type ColumnsOf<K extends TableName> = Tables[K]['_']['columns']

type SameColumns<K extends TableName> = [keyof LiteTables[K]['_']['columns']] extends [keyof MsTables[K]['_']['columns']]
  ? [keyof MsTables[K]['_']['columns']] extends [keyof LiteTables[K]['_']['columns']] ? true : false : false
type AllTrue<T extends Record<TableName, true>> = T
/** Fails to compile unless both schemas name the same tables and columns (the README's rule). */
export type SchemasAgree = AllTrue<{ [K in TableName]: SameColumns<K> }>

export type Fields = Record<string, Column | SQL | SQL.Aliased>
/** The row a `select` of `fields` reads. */
export type Selected<F extends Fields> = {
  [K in keyof F]: F[K] extends SQL<infer T> | SQL.Aliased<infer T> ? T : F[K] extends Column ? GetColumnData<F[K]> : never
}

export interface SelectQuery {
  /** inner joins, in order */
  join?: ReadonlyArray<{ table: TableName, on: SQL }>
  where?: SQL | undefined
  groupBy?: readonly Column[]
  orderBy?: ReadonlyArray<SQL | Column>
  /** at most this many rows (`LIMIT` / `TOP`) */
  limit?: number
}

export interface UpsertOptions<K extends TableName> {
  /** the columns of the unique key a conflicting row shares */
  key: ReadonlyArray<keyof ColumnsOf<K> & keyof NewRow<K>>
  /** what to set on the existing row; `current` names its columns as they were before */
  update: (current: ColumnsOf<K>) => Changes<K>
}

declare const resultType: unique symbol
/** One statement a dialect built: opaque here, run only by that dialect. */
export interface Statement<T> { readonly [resultType]?: T }

/** Database work: yields statements, is resumed with their results (or their errors). */
export type Work<T> = Generator<Statement<unknown>, T, unknown>

/** `run` and `transaction` take work or a generator function that makes it. */
export function workOf<T> (work: Work<T> | (() => Work<T>)): Work<T> {
  return typeof work === 'function' ? work() : work
}

/** The work of one statement: yields it and returns its result. */
export function * exec<T> (statement: Statement<T>): Work<T> {
  return (yield statement) as T
}

export interface Dialect {
  readonly name: 'sqlite' | 'mssql'
  readonly tables: Tables

  /** Runs work statement by statement, each committing on its own. */
  run<T> (work: Work<T> | (() => Work<T>)): Promise<T>
  /**
   * Runs work in one transaction that serialises writers (SQLite: `BEGIN IMMEDIATE`; SQL
   * Server: row locks, with `lockImage` for read-then-write on an image). A throw rolls
   * it back. SQLite commits the transactions asked for in one event-loop turn together,
   * each in a savepoint: a throw rolls back that one alone.
   */
  transaction<T> (work: Work<T> | (() => Work<T>)): Promise<T>
  /**
   * Runs work that writes but needs no transaction of its own (one upsert, one update):
   * SQLite commits it with the next group (see `transaction`), SQL Server as `run` does.
   */
  write<T> (work: Work<T> | (() => Work<T>)): Promise<T>
  /** Whether the error is a unique-constraint violation (the dialects' codes differ). */
  isUniqueViolation (err: unknown): boolean

  select<F extends Fields> (fields: F, from: TableName, query?: SelectQuery): Work<Array<Selected<F>>>
  /** Inserts one row and reads it back (`RETURNING` / `OUTPUT`). */
  insert<K extends TableName> (table: K, row: NewRow<K>): Work<Row<K>>
  /** Inserts rows without reading them back: keep a batch under SQL Server's 2100 parameters. */
  insertMany<K extends TableName> (table: K, rows: ReadonlyArray<NewRow<K>>): Work<void>
  /** Returns how many rows changed. */
  update<K extends TableName> (table: K, changes: Changes<K>, where: SQL): Work<number>
  /** Updates at most one row and reads it back; undefined when none matched. */
  updateOne<K extends TableName> (table: K, changes: Changes<K>, where: SQL): Work<Row<K> | undefined>
  /** Returns how many rows went. */
  delete<K extends TableName> (table: K, where: SQL): Work<number>
  /** Inserts the row, or updates the one with the same key (`ON CONFLICT` / `MERGE`); reads it back. */
  upsert<K extends TableName> (table: K, row: NewRow<K>, options: UpsertOptions<K>): Work<Row<K>>

  /**
   * Holds the image row against other writers until the transaction ends, so a
   * read-then-write on its versions cannot interleave with another process's. SQLite's
   * `BEGIN IMMEDIATE` already holds the whole file: nothing to do there.
   */
  lockImage (imageId: number): Work<void>
  /**
   * Adds (version, chunk) rows, skipping pairs already there. `chunkIds` are distinct and
   * sorted; the dialect batches them to its parameter limits.
   */
  addChunkIds (versionId: number, chunkIds: readonly string[]): Work<void>

  ping (): Promise<void>
  close (): Promise<void>
}
