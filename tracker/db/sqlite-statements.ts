/**
 * A `DatabaseSync` whose `prepare()` hands back the statement it compiled for the same SQL
 * text before. drizzle's node-sqlite driver prepares every query it runs afresh — SQLite's
 * compiler was 13 % of the tracker's CPU under event ingest — while the store sends the same
 * few dozen texts over and over. Statements are kept least recently used first, at most
 * `maxStatements`; a text seen once more after eviction is compiled again.
 *
 * Safe to share: node:sqlite runs a statement to its end (`all`, `get`, `run`) before it
 * returns, and resets it, so no two uses of one statement overlap. drizzle sets
 * `setReturnArrays` before each use; nothing else about a statement is changed.
 */
import { DatabaseSync } from 'node:sqlite'
import type { DatabaseSyncOptions, StatementSync, PrepareOptions } from 'node:sqlite'

/** Distinct SQL texts kept compiled: the store's hot texts are a few dozen; IN-lists of many lengths share the rest. */
export const SQLITE_STATEMENT_CACHE_SIZE = 256

export class StatementCachingDatabase extends DatabaseSync {
  readonly #statements = new Map<string, StatementSync>()
  readonly #max: number

  constructor (path: string, options: DatabaseSyncOptions = {}, maxStatements = SQLITE_STATEMENT_CACHE_SIZE) {
    super(path, options)
    if (!Number.isInteger(maxStatements) || maxStatements < 1) throw new TypeError('maxStatements must be a positive integer')
    this.#max = maxStatements
  }

  override prepare (sql: string, options?: PrepareOptions): StatementSync {
    if (options !== undefined) return super.prepare(sql, options)
    let stmt = this.#statements.get(sql)
    if (stmt !== undefined) {
      // most recently used last: Map iteration order is insertion order
      this.#statements.delete(sql)
    } else {
      stmt = super.prepare(sql)
      if (this.#statements.size >= this.#max) this.#statements.delete(this.#statements.keys().next().value as string)
    }
    this.#statements.set(sql, stmt)
    return stmt
  }

  /** Compiled statements kept now (for tests). */
  get cachedStatements (): number {
    return this.#statements.size
  }
}
