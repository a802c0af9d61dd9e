import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { rm, stat, access } from 'node:fs/promises'
import { join } from 'node:path'
import { READY_LINE_RE } from '../../../node/daemon/index.ts'
import { startTestTracker } from '../../helpers/tracker.ts'
import { publishAndAssign, sampleImage } from '../../helpers/swarm.ts'
import { makeTmpDir } from '../../helpers/tmp-dir.ts'
import { rejects } from '../../helpers/rejects.ts'
import { BRANCHCAST_BIN, runCli } from '../../helpers/cli.ts'
import type { CliResult } from '../../helpers/cli.ts'

const IMAGE_BYTES = 2 * 1024 * 1024
const env = { ...process.env, BRANCHCAST_LOG_LEVEL: 'warn', BRANCHCAST_NODE_DATA: '', BRANCHCAST_TRACKER: '', BRANCHCAST_TOKEN: '' }

async function run (args: string[]): Promise<CliResult> { return await runCli(args, { env }) }

interface NodeProcess { child: ChildProcess, peerId: string, exited: Promise<number> }

/** Starts `branchcast node` and waits (bounded) for its ready line. */
async function startNodeProcess (dataDir: string, site: string): Promise<NodeProcess> {
  const child = spawn(process.execPath, [BRANCHCAST_BIN, 'node', '--data', dataDir, '--site', site, '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--no-auto-deliver', '--cpu-nice', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (b: Buffer) => { stderr += b.toString() })
  const exited = new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)))
  const lines = createInterface({ input: child.stdout! })
  try {
    const peerId = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ready line in 60 s: ${stderr}`)), 60_000)
      lines.on('line', (line) => {
        const m = READY_LINE_RE.exec(line)
        if (m !== null) { clearTimeout(timer); resolve(m[1]!) }
      })
      void exited.then((code) => { clearTimeout(timer); reject(new Error(`node exited with ${code}: ${stderr}`)) })
    })
    return { child, peerId, exited }
  } catch (err) {
    child.kill('SIGKILL')
    throw err
  }
}

async function stopNodeProcess (n: NodeProcess): Promise<number> {
  if (n.child.exitCode !== null) return n.child.exitCode
  n.child.kill('SIGTERM')
  const timer = setTimeout(() => n.child.kill('SIGKILL'), 20_000)
  const code = await n.exited
  clearTimeout(timer)
  return code
}

test('enroll, then two "branchcast node" processes; "pull --json" prints the summary and the second pull leans on the first', async () => {
  const tt = await startTestTracker()
  const dirs = [await makeTmpDir('branchcast-cli-'), await makeTmpDir('branchcast-cli-')]
  const nodes: NodeProcess[] = []
  try {
    const ws = await publishAndAssign(tt, { bytes: sampleImage(IMAGE_BYTES, 9) })
    const enrolled = await Promise.all(dirs.map(async (dir) => await run(['enroll', '--tracker', tt.url, '--token', ws.userToken, '--data', dir])))
    for (const [i, dir] of dirs.entries()) {
      assert.is(enrolled[i]!.code, 0, enrolled[i]!.stderr)
      assert.is((await stat(join(dir, 'config.json'))).mode & 0o777, 0o600)
      assert.ok((await stat(join(dir, 'trust.json'))).isFile())
    }
    // no tracker or token flags: enrollment saved them
    const started = await Promise.allSettled(dirs.map(async (dir) => await startNodeProcess(dir, 'branch-a')))
    for (const s of started) if (s.status === 'fulfilled') nodes.push(s.value)
    for (const s of started) if (s.status === 'rejected') throw s.reason
    assert.is((await stat(join(dirs[0]!, 'control.json'))).mode & 0o777, 0o600)

    const p1 = await run(['pull', ws.image, '--data', dirs[0]!, '--json'])
    assert.is(p1.code, 0, p1.stderr)
    const s1 = JSON.parse(p1.stdout)
    assert.is(s1.sha256, ws.sha256)
    for (const k of ['bytesFromPeers', 'bytesFromOrigin', 'bytesFromLocal', 'durationMs']) assert.type(s1[k], 'number', k)
    assert.type(s1.originBytesByReason, 'object')
    assert.is(p1.stdout.trim().split('\n').length, 1, '--json prints one line only')

    const p2 = await run(['pull', ws.image, '--data', dirs[1]!, '--json', '--version', String(ws.version)])
    assert.is(p2.code, 0, p2.stderr)
    const s2 = JSON.parse(p2.stdout)
    assert.is(s2.sha256, ws.sha256)
    assert.ok(s2.bytesFromPeers > 0, `second node took ${s2.bytesFromPeers} bytes from peers`)

    // the human form names the split and the origin reasons
    const p3 = await run(['pull', ws.image, '--data', dirs[1]!])
    assert.is(p3.code, 0, p3.stderr)
    assert.match(p3.stdout, /sha256\s+[0-9a-f]{64}/)
    assert.match(p3.stdout, /peers .*origin .*local /s)

    const bad = await run(['pull', 'no-such-image', '--data', dirs[0]!, '--json'])
    assert.is(bad.code, 1)
    assert.type(JSON.parse(bad.stdout).error.code, 'string')

    assert.equal(await Promise.all(nodes.splice(0).map(stopNodeProcess)), [0, 0])
    await rejects(access(join(dirs[0]!, 'control.json')), { code: 'ENOENT' })
    const gone = await run(['pull', ws.image, '--data', dirs[0]!, '--json'])
    assert.is(gone.code, 1)
    assert.is(JSON.parse(gone.stdout).error.code, 'ERR_NODE_NOT_RUNNING')
  } finally {
    for (const n of nodes) await stopNodeProcess(n)
    await tt.stop()
    for (const d of dirs) await rm(d, { recursive: true, force: true })
  }
})

test('"branchcast node" without a tracker exits non-zero with a message', async () => {
  const dir = await makeTmpDir('branchcast-cli-')
  try {
    const r = await run(['node', '--data', dir, '--no-mdns'])
    assert.not.equal(r.code, 0)
    assert.match(r.stderr, /no tracker/)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
