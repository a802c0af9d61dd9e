/**
 * Group commit for the SQLite dialect: the transactions asked for during one turn of the
 * event loop run together in one `BEGIN IMMEDIATE … COMMIT`, each in its own savepoint.
 *
 * Why: a commit writes every page the transaction dirtied to the WAL, and now and then
 * checkpoints it into the database file; under event ingest that was a quarter of the
 * tracker's CPU. Concurrent requests' transactions share the pages they all touch (index
 * tails, the rollups, the counters) and the commit itself.
 *
 * What does not change: each transaction's writes are all kept or all undone (a throw rolls
 * back its savepoint only, and rejects its promise alone); a promise resolves only once its
 * writes are committed; writers stay serialised across processes (`BEGIN IMMEDIATE`). A
 * failed COMMIT rejects every transaction of the group — none of them was kept.
 */
import { setImmediate } from 'node:timers'

/** Transactions in one group commit at most: bounds how long one commit holds the event loop. */
export const SQLITE_GROUP_COMMIT_MAX = 16

export interface GroupCommitConnection<Tx> {
  /** Runs `body` in `BEGIN IMMEDIATE … COMMIT` (ROLLBACK when it throws), synchronously. */
  transaction: (body: (tx: Tx) => void) => void
  /** Runs `body` in a savepoint of `tx`, released or rolled back to, synchronously. */
  savepoint: <T>(tx: Tx, body: (sp: Tx) => T) => T
}

export interface GroupCommit<Tx> {
  /** Queues `body` for the next group; resolves with what it returned once committed. */
  transaction: <T>(body: (tx: Tx) => T) => Promise<T>
  /** Commits what is queued now (before closing the connection). */
  flush: () => void
}

interface Job<Tx> {
  body: (tx: Tx) => unknown
  resolve: (value: unknown) => void
  reject: (err: unknown) => void
}

type Outcome = { ok: true, value: unknown } | { ok: false, err: unknown }

export function createGroupCommit<Tx> (conn: GroupCommitConnection<Tx>, maxJobs = SQLITE_GROUP_COMMIT_MAX): GroupCommit<Tx> {
  if (!Number.isInteger(maxJobs) || maxJobs < 1) throw new TypeError('maxJobs must be a positive integer')
  let queue: Array<Job<Tx>> = []
  let scheduled = false

  function commitGroup (): void {
    scheduled = false
    const group = queue.slice(0, maxJobs)
    queue = queue.slice(group.length)
    if (queue.length > 0) schedule()
    if (group.length === 0) return
    const outcomes: Outcome[] = []
    try {
      conn.transaction((tx) => {
        if (group.length === 1) {
          // alone: its own transaction, no savepoint (a throw rolls back the whole of it)
          outcomes.push({ ok: true, value: group[0]!.body(tx) })
          return
        }
        for (const job of group) {
          try {
            outcomes.push({ ok: true, value: conn.savepoint(tx, job.body) })
          } catch (err) {
            outcomes.push({ ok: false, err })
          }
        }
      })
    } catch (err) {
      for (const job of group) job.reject(err)
      return
    }
    group.forEach((job, i) => {
      const o = outcomes[i]!
      if (o.ok) job.resolve(o.value)
      else job.reject(o.err)
    })
  }

  function schedule (): void {
    if (scheduled) return
    scheduled = true
    // after the I/O of this turn: the requests that arrived together commit together
    setImmediate(commitGroup)
  }

  return {
    async transaction<T> (body: (tx: Tx) => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ body, resolve: resolve as (value: unknown) => void, reject })
        schedule()
      })
    },
    flush () {
      while (queue.length > 0) commitGroup()
    }
  }
}
