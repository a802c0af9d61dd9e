// kill -9 of the tracker process at a random point of a publish, CRASH_N times: after each,
// the tracker starts again on the same data (the database opens), and every version it
// would present hashes to its manifest's image SHA-256. A last publish after the kills
// succeeds. Totals go to docs/security.md.
import { randomBytes } from 'node:crypto'
import { readFile, rm } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { makeTmpDir } from '../helpers/tmp-dir.ts'
import { spawnTracker, stopTracker } from '../helpers/tracker-process.ts'
import type { TrackerProcess } from '../helpers/tracker-process.ts'
import { call } from '../helpers/tracker-swarm.ts'
import { CRASH_N, checkTrackerData, randomBelow } from './crash-checks.ts'

const IMAGE_BYTES = 6 * 1024 * 1024

/** Streams `bytes` as an upload in 64 KiB pieces; resolves with the status, or 0 when the connection died. */
async function upload (url: string, token: string, bytes: Uint8Array): Promise<number> {
  return await new Promise((resolve) => {
    const req = request(`${url}/api/v1/images/crash/versions?publish=true`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': String(bytes.byteLength) }
    }, (res) => { res.resume(); res.once('end', () => resolve(res.statusCode ?? 0)); res.once('error', () => resolve(0)) })
    req.once('error', () => resolve(0))
    let at = 0
    const next = (): void => {
      while (at < bytes.byteLength) {
        const piece = bytes.subarray(at, at + 65536)
        at += piece.byteLength
        if (!req.write(piece)) { req.once('drain', next); return }
      }
      req.end()
    }
    next()
  })
}

test(`publish: ${CRASH_N} × kill -9 of the tracker mid-upload, nothing corrupt presented`, async () => {
  const dir = await makeTmpDir('branchcast-crash-publish-')
  let tracker: TrackerProcess | undefined
  const totals = { kills: 0, presented: 0, corrupt: 0 }
  try {
    tracker = await spawnTracker(dir)
    const token = (await readFile(join(dir, 'initial-admin-token'), 'utf8')).trim()
    assert.is((await call(tracker.url, 'POST', '/api/v1/images', { token, json: { name: 'crash' } })).status, 201)
    for (let i = 0; i < CRASH_N; i++) {
      const uploading = upload(tracker.url, token, new Uint8Array(randomBytes(IMAGE_BYTES)))
      // anywhere from before the first byte to after the version is signed
      await new Promise((resolve) => setTimeout(resolve, randomBelow(1500)))
      const exited = new Promise((resolve) => tracker!.child.once('exit', resolve))
      tracker.child.kill('SIGKILL')
      await exited
      await uploading
      totals.kills++
      const check = await checkTrackerData(dir)
      totals.presented += check.versions
      totals.corrupt += check.corrupt.length
      assert.equal(check.corrupt, [], `kill ${i + 1}: corrupt versions`)
      tracker = await spawnTracker(dir) // the database and store open again
    }
    assert.is(await upload(tracker.url, token, new Uint8Array(randomBytes(IMAGE_BYTES))), 201, 'publishing works after the kills')
    await stopTracker(tracker)
    const last = await checkTrackerData(dir)
    assert.equal(last.corrupt, [])
    console.log(`  crash publish: ${totals.kills} kills, ${totals.presented} presented versions checked, ${totals.corrupt} corrupt`)
  } finally {
    await stopTracker(tracker)
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
