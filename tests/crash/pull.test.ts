// kill -9 of a pulling node process at a random moment, CRASH_N times on one data directory:
// after each kill, an image the node presents as ready (`images/<name>/<v>.img`) must hash
// to the published image; the next pull resumes (or, after a finished one, starts over), and
// the last one completes and verifies.
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { imagePaths } from '../../node/pull/index.ts'
import { publishAndAssign, sampleImage, startTestNode } from '../helpers/swarm.ts'
import { makeTmpDir } from '../helpers/tmp-dir.ts'
import { startTestTracker } from '../helpers/tracker.ts'
import { CRASH_N, randomBelow } from './crash-checks.ts'

const CHILD = fileURLToPath(new URL('../integration/node/fixtures/pull-child.ts', import.meta.url))
const IMAGE = 4 * 1024 * 1024
/** ~4 s per whole pull, so a kill usually lands mid-transfer (a finished pull is checked too). */
const ORIGIN_RATE = 1024 * 1024

test(`pull: ${CRASH_N} × kill -9 of the node mid-pull, no corrupt image presented`, async () => {
  const tt = await startTestTracker()
  const dataDir = await makeTmpDir('branchcast-crash-pull-')
  const totals = { kills: 0, readyAfterKill: 0, corrupt: 0 }
  try {
    const ws = await publishAndAssign(tt, { bytes: sampleImage(IMAGE, 77) })
    const paths = imagePaths(dataDir, ws.image, ws.version)
    const readyHash = async (): Promise<string | undefined> => await readFile(paths.image).then((b) => createHash('sha256').update(b).digest('hex'), () => undefined)
    for (let i = 0; i < CRASH_N; i++) {
      const child = spawn(process.execPath, [CHILD, JSON.stringify({ trackerUrl: tt.url, token: ws.userToken, dataDir, image: ws.image, originRateBytesPerSec: ORIGIN_RATE })], { stdio: ['ignore', 'pipe', 'pipe'] })
      child.stdout!.resume()
      child.stderr!.resume()
      const exited = new Promise((resolve) => child.once('exit', resolve))
      // start-up takes ~1 s and the transfer ~4 s: anywhere in between
      const killAfter = new Promise((resolve) => setTimeout(resolve, 300 + randomBelow(4000)))
      await Promise.race([killAfter, exited])
      child.kill('SIGKILL')
      await exited
      totals.kills++
      const hash = await readyHash()
      if (hash !== undefined) {
        totals.readyAfterKill++
        if (hash !== ws.sha256) totals.corrupt++
      }
      assert.is(totals.corrupt, 0, `kill ${i + 1}: a ready image does not hash to the published one`)
      // A finished pull starts over from nothing next round (so kills keep landing mid-transfer);
      // a killed one is resumed from what it had verified.
      if (hash !== undefined) for (const d of ['images', 'cache']) await rm(join(dataDir, d), { recursive: true, force: true })
    }
    const node = await startTestNode(tt, ws.userToken, { dataDir })
    try {
      const r = await node.puller.pull({ image: ws.image, signal: AbortSignal.timeout(120_000) })
      assert.is(r.sha256, ws.sha256)
      assert.is(await readyHash(), ws.sha256)
    } finally {
      await node.stop()
    }
    console.log(`  crash pull: ${totals.kills} kills, ${totals.readyAfterKill} ready images after a kill checked, ${totals.corrupt} corrupt`)
  } finally {
    await rm(dataDir, { recursive: true, force: true })
    await tt.stop()
  }
})

test.run()
