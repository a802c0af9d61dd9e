/**
 * A pull killed with SIGKILL resumes without refetching what it made durable (issues 5
 * and 9): a child process pulls with an origin rate limit, is killed mid-transfer, and a
 * later pull with the same data directory trusts the presence bitmap (no read-back) and
 * fetches only the rest. The image must come out byte-identical however many kills, at
 * whatever points: a bit on disk never claims data that is not there.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createInterface } from 'node:readline'
import { readFile, readdir, rm, stat } from 'node:fs/promises'
import type { Workspace } from '../../helpers/swarm.ts'
import { fileURLToPath } from 'node:url'
import { imagePaths } from '../../../node/pull/index.ts'
import type { PullProgress, PullReport } from '../../../node/pull/index.ts'
import { startTestTracker } from '../../helpers/tracker.ts'
import type { TestTracker } from '../../helpers/tracker.ts'
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

interface ResumeRig {
  tt: TestTracker
  dataDir: string
  /** a child process pulls `ws` at `rate` and is SIGKILLed at its first progress at or past `bytes` */
  killAt: (ws: Workspace, rate: number, bytes: number) => Promise<PullProgress>
  /** an in-process node on the same data directory pulls `ws` to the end */
  resume: (ws: Workspace) => Promise<PullReport>
}

/** A tracker, a data directory, child pulls to kill and a node to resume with; all cleaned up. */
async function withResumeRig (fn: (rig: ResumeRig) => Promise<void>): Promise<void> {
  const tt = await startTestTracker()
  const dataDir = await makeTmpDir('branchcast-resume-')
  let child: ChildProcess | undefined
  let node: TestNode | undefined
  try {
    await fn({
      tt,
      dataDir,
      async killAt (ws, rate, bytes) {
        child = spawn(process.execPath, [CHILD, JSON.stringify({ trackerUrl: tt.url, token: ws.userToken, dataDir, image: ws.image, originRateBytesPerSec: rate })], { stdio: ['ignore', 'pipe', 'pipe'] })
        const c = child
        const exited = new Promise<NodeJS.Signals | null>((resolve) => { c.on('exit', (_code, sig) => { resolve(sig) }) })
        const p = await pullUntilProgress(c, bytes)
        c.kill('SIGKILL')
        assert.is(await exited, 'SIGKILL')
        return p
      },
      async resume (ws) {
        node = await startTestNode(tt, ws.userToken, { dataDir })
        const r = await node.puller.pull({ image: ws.image, signal: AbortSignal.timeout(120_000) })
        assert.is(createHash('sha256').update(await readFile(r.path)).digest('hex'), ws.sha256, 'the resumed image is byte-identical')
        // no partial file or temp file is left behind
        const left = await readdir(imagePaths(dataDir, ws.image, ws.version).dir)
        assert.equal(left.filter((f) => f.includes('partial') || f.endsWith('.tmp')), [], left.join(','))
        return r
      }
    })
  } finally {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await node?.stop()
    await rm(dataDir, { recursive: true, force: true })
    await tt.stop()
  }
}

test('a pull killed with SIGKILL resumes from its verified chunks', async () => {
  await withResumeRig(async ({ tt, dataDir, killAt, resume }) => {
    const ws = await publishAndAssign(tt, { bytes: sampleImage(IMAGE, 51) })
    const p = await killAt(ws, ORIGIN_RATE, IMAGE / 4)
    assert.ok(p.doneBytes < IMAGE, 'killed mid-transfer')

    // Nothing half-done is presented as ready.
    const paths = imagePaths(dataDir, ws.image, ws.version)
    assert.is(await stat(paths.image).then(() => true, () => false), false, 'no ready image after the kill')
    const left = await readdir(paths.dir).catch(() => [] as string[])
    assert.ok(left.every((f) => f !== `${ws.version}.img`), left.join(','))

    const r = await resume(ws)
    assert.is(r.sha256, ws.sha256)
    assert.ok(r.bytesFromLocal > 0, 'verified chunks came from the bitmap')
    assert.ok(r.decodedBytesFromOrigin + r.decodedBytesFromPeers < IMAGE, `refetched ${r.decodedBytesFromOrigin + r.decodedBytesFromPeers} of ${IMAGE}`)
    // bits are saved after each fdatasync (≤ IMAGE_SYNC_INTERVAL_MS apart): at most the last
    // second or so of arrivals is fetched again
    assert.ok(r.bytesFromLocal >= p.bytesFromOrigin - 3 * ORIGIN_RATE, `kept ${r.bytesFromLocal}, had ${p.bytesFromOrigin} before the kill`)
  })
})

function seededRandom (seed: number): () => number {
  let x = seed >>> 0 || 1
  return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 2 ** 32 }
}

test('killed again and again at random points, the pull still ends byte-identical', async () => {
  const seed = Number(process.env.RESUME_SEED ?? Date.now() % 100_000)
  const random = seededRandom(seed)
  await withResumeRig(async ({ tt, killAt, resume }) => {
    const ws = await publishAndAssign(tt, { bytes: sampleImage(IMAGE, 77) })
    let lastDone = 0
    for (let round = 0; round < 3; round++) {
      // somewhere past what the last round reached: each child gets a little further
      // The first two land anywhere in the first quarter; the last child runs on for half the
      // image (≥ 2 s at the cap, past IMAGE_SYNC_INTERVAL_MS), so at least one sync saved bits
      // whatever points the seed picked.
      const at = round < 2 ? lastDone + Math.floor(random() * (IMAGE / 4 - lastDone)) : lastDone + IMAGE / 2
      lastDone = (await killAt(ws, 2 * ORIGIN_RATE, at)).doneBytes
    }
    const r = await resume(ws)
    assert.ok(r.bytesFromLocal > 0, `seed ${seed}: the bitmap carried over`)
  })
})

test.run()
