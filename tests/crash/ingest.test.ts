// kill -9 of the tracker process at a random point of event ingest, CRASH_N times: a client
// posts batches with fixed event ids and, like the node's reporter, re-sends every batch it
// got no answer for. At the end the database holds exactly the ids sent: none lost, none
// stored twice.
import { randomUUID } from 'node:crypto'
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { DatabaseSync } from 'node:sqlite'
import { makeTmpDir } from '../helpers/tmp-dir.ts'
import { spawnTracker, stopTracker } from '../helpers/tracker-process.ts'
import type { TrackerProcess } from '../helpers/tracker-process.ts'
import { CRASH_N, randomBelow } from './crash-checks.ts'

const BATCHES_PER_ROUND = 8
const EVENTS_PER_BATCH = 50

interface Batch { events: Array<{ id: string, type: string, at: number, payload: Record<string, unknown> }> }

/** Posts until the tracker answers 200 (429: after its retry-after); false when the connection failed. */
async function post (url: string, token: string, batch: Batch, client: string): Promise<boolean> {
  for (;;) {
    let res: Response
    try {
      res = await fetch(`${url}/api/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-branchcast-client': client }, body: JSON.stringify(batch), signal: AbortSignal.timeout(10_000) })
    } catch {
      return false
    }
    const text = await res.text().catch(() => "")
    if (res.status === 200) return true
    if (res.status !== 429) throw new Error(`events answered ${res.status}: ${text}`)
    await new Promise((resolve) => setTimeout(resolve, 1000 * Number(res.headers.get('retry-after') ?? 1)))
  }
}

test(`ingest: ${CRASH_N} × kill -9 of the tracker mid-ingest, no event lost or duplicated`, async () => {
  const dir = await makeTmpDir('branchcast-crash-ingest-')
  let tracker: TrackerProcess | undefined
  const sent = new Set<string>()
  let pending: Batch[] = []
  const client = 'crash-reporter'
  try {
    tracker = await spawnTracker(dir)
    const token = (await readFile(join(dir, 'initial-admin-token'), 'utf8')).trim()
    const flush = async (url: string): Promise<void> => {
      const left: Batch[] = []
      for (const b of pending) if (!await post(url, token, b, client)) left.push(b)
      pending = left
    }
    for (let i = 0; i < CRASH_N; i++) {
      for (let b = 0; b < BATCHES_PER_ROUND; b++) {
        const events = Array.from({ length: EVENTS_PER_BATCH }, () => ({ id: randomUUID(), type: 'session.started', at: Date.now(), payload: { image: 'crash', round: i } }))
        for (const e of events) sent.add(e.id)
        pending.push({ events })
      }
      const posting = flush(tracker.url)
      await new Promise((resolve) => setTimeout(resolve, randomBelow(400)))
      const exited = new Promise((resolve) => tracker!.child.once('exit', resolve))
      tracker.child.kill('SIGKILL')
      await exited
      await posting
      tracker = await spawnTracker(dir) // the database opens after the kill
    }
    await flush(tracker.url)
    assert.is(pending.length, 0, 'every batch acknowledged in the end')
    await stopTracker(tracker)
    // read straight from the file: the API pages at 10 000 events, and integrity_check is the file's own verdict
    const db = new DatabaseSync(join(dir, 'tracker.db'), { readOnly: true })
    try {
      assert.equal(db.prepare('PRAGMA integrity_check').all().map((r) => Object.values(r)[0]), ['ok'])
      const stored = db.prepare('SELECT id FROM events WHERE client_id = ?').all(client).map((r) => String(r.id))
      const unique = new Set(stored)
      const lost = [...sent].filter((id) => !unique.has(id))
      console.log(`  crash ingest: ${CRASH_N} kills, ${sent.size} events sent, ${stored.length} stored, ${lost.length} lost, ${stored.length - unique.size} duplicated`)
      assert.is(stored.length, unique.size, 'no event stored twice')
      assert.equal(lost, [], 'no event lost')
      assert.is(unique.size, sent.size)
    } finally {
      db.close()
    }
  } finally {
    await stopTracker(tracker)
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
