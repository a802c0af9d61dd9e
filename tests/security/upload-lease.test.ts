// Issue 11, finding 11: an admin upload trickling a byte at a time held the GC horizon
// (the start of the oldest live upload lease) back forever. Below the minimum rate it now
// fails with ERR_UPLOAD_TOO_SLOW, rolls back and ends its lease, and GC proceeds.
import { randomBytes } from 'node:crypto'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createImageRepository } from '../../tracker/repository/index.ts'
import { rejects } from '../helpers/rejects.ts'
import { startTestTracker } from '../helpers/tracker.ts'
import type { TestTracker } from '../helpers/tracker.ts'

let t: TestTracker
test.before(async () => {
  t = await startTestTracker()
  await t.tracker.components.repository.createImage('img')
})
test.after(async () => { await t?.stop() })

test('a trickling upload fails with ERR_UPLOAD_TOO_SLOW, ends its lease, and GC moves on', async () => {
  const { store } = t.tracker.components
  // a window of 300 ms at ≥ 4 KiB/s; the idle timeout alone (2 s) would never fire
  const repo = createImageRepository(t.tracker.components, { uploadIdleMs: 2_000, uploadMinBytesPerSec: 4096, uploadRateWindowMs: 300 })
  await repo.start()
  let sent = 0
  let stop = false
  async function * trickle (): AsyncGenerator<Uint8Array> {
    yield randomBytes(64 * 1024) // a good start …
    while (!stop) { // … then a byte every 20 ms, forever
      await new Promise((resolve) => setTimeout(resolve, 20))
      sent++
      yield randomBytes(1)
    }
  }
  const upload = repo.publish({ image: 'img', source: trickle(), createdBy: 'admin' })
  try {
    const bound = new Promise((_resolve, reject) => setTimeout(() => reject(Object.assign(new Error('still uploading after 10 s'), { code: 'TIMEOUT' })), 10_000).unref())
    await rejects(Promise.race([upload, bound]), { code: 'ERR_UPLOAD_TOO_SLOW' })
  } finally {
    stop = true
    await upload.catch(() => {})
    await repo.stop()
  }
  assert.ok(sent < 200, `cut within a few windows (${sent} trickled bytes)`)
  const nowMs = Date.now()
  assert.equal(await store.activeUploads(nowMs), [], 'the lease is gone')
  assert.is(await store.gcHorizonMs(nowMs), nowMs, 'the GC horizon is no longer held back')
  const versions = await store.listVersions((await store.getImage('img'))!.id)
  assert.equal(versions, [], 'the draft was rolled back')
})

test('an upload at a steady rate above the minimum completes', async () => {
  const repo = createImageRepository(t.tracker.components, { uploadMinBytesPerSec: 4096, uploadRateWindowMs: 300 })
  await repo.start()
  async function * steady (): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < 8; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      yield randomBytes(32 * 1024)
    }
  }
  try {
    const r = await repo.publish({ image: 'img', source: steady(), createdBy: 'admin' })
    assert.is(r.totalBytes, 8 * 32 * 1024)
  } finally {
    await repo.stop()
  }
})

test.run()
