/**
 * A pull killed with SIGKILL resumes without refetching what it verified (issue 5, "Done
 * when"): a child process pulls with an origin rate limit, is killed once chunks have
 * arrived, and a second pull with the same data directory takes them from its cache.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createInterface } from 'node:readline'
import { readFile, readdir, rm, stat } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { imagePaths } from '../../../node/pull/index.ts'
import type { PullProgress } from '../../../node/pull/index.ts'
import { startTestTracker } from '../../helpers/tracker.ts'
import { publishAndAssign, sampleImage, startTestNode } from '../../helpers/swarm.ts'
import type { TestNode } from '../../helpers/swarm.ts'
import { makeTmpDir } from '../../helpers/tmp-dir.ts'

const CHILD = fileURLToPath(new URL('./fixtures/pull-child.ts', import.meta.url))
const IMAGE = 8 * 1024 * 1024
/** ~8 s for the whole image: the kill, sent once a quarter is in, lands long before the end. */
const ORIGIN_RATE = 1024 * 1024
const WAIT_MS = 60_000

/** Resolves with the first transfer progress at or past `bytes`; the child keeps running. */
async function pullUntilProgress (child: ChildProcess, bytes: number): Promise<PullProgress> {
  const lines = createInterface({ input: child.stdout! })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
  return await new Promise<PullProgress>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`no progress within ${WAIT_MS} ms: ${stderr}`)) }, WAIT_MS)
    lines.on('line', (line) => {
      const msg = JSON.parse(line) as { progress?: PullProgress, done?: unknown }
      if (msg.done !== undefined) { clearTimeout(timer); reject(new Error('the child finished its pull before the kill: make the image bigger or the origin slower')); return }
      const p = msg.progress
      if (p?.phase === 'transfer' && p.doneBytes >= bytes) { clearTimeout(timer); resolve(p) }
    })
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`child exited with ${code} before any progress: ${stderr}`)) })
  })
}

test('a pull killed with SIGKILL resumes from its verified chunks', async () => {
  const tt = await startTestTracker()
  const dataDir = await makeTmpDir('branchcast-resume-')
  let child: ChildProcess | undefined
  let node: TestNode | undefined
  try {
    const ws = await publishAndAssign(tt, { bytes: sampleImage(IMAGE, 51) })
    child = spawn(process.execPath, [CHILD, JSON.stringify({ trackerUrl: tt.url, token: ws.userToken, dataDir, image: ws.image, originRateBytesPerSec: ORIGIN_RATE })], { stdio: ['ignore', 'pipe', 'pipe'] })
    const exited = new Promise<NodeJS.Signals | null>((resolve) => { child!.on('exit', (_code, sig) => { resolve(sig) }) })
    const p = await pullUntilProgress(child, IMAGE / 4)
    assert.ok(p.doneBytes < IMAGE, 'killed mid-transfer')
    child.kill('SIGKILL')
    assert.is(await exited, 'SIGKILL')

    // Nothing half-done is presented as ready.
    const paths = imagePaths(dataDir, ws.image, ws.version)
    assert.is(await stat(paths.image).then(() => true, () => false), false, 'no ready image after the kill')
    const left = await readdir(paths.dir).catch(() => [] as string[])
    assert.ok(left.every((f) => f !== `${ws.version}.img`), left.join(','))

    node = await startTestNode(tt, ws.userToken, { dataDir })
    const r = await node.puller.pull({ image: ws.image, signal: AbortSignal.timeout(120_000) })
    assert.is(r.sha256, ws.sha256)
    assert.is(createHash('sha256').update(await readFile(r.path)).digest('hex'), ws.sha256)
    assert.ok(r.bytesFromLocal > 0, 'verified chunks came from the cache')
    assert.ok(r.bytesFromOrigin + r.bytesFromPeers < IMAGE, `refetched ${r.bytesFromOrigin + r.bytesFromPeers} of ${IMAGE}`)
    assert.ok(r.bytesFromLocal >= p.bytesFromOrigin, `kept ${r.bytesFromLocal}, had ${p.bytesFromOrigin} before the kill`)
  } finally {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await node?.stop()
    await rm(dataDir, { recursive: true, force: true })
    await tt.stop()
  }
})

test.run()
