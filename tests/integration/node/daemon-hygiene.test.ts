// The daemon's hygiene, with a real tracker and real nodes: one daemon per data directory
// (real processes, a SIGKILLed holder's lock taken over), leave-on-stop, and the enrolled
// identity winning over an environment token.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { chmod, readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { createApiClient } from '../../../protocol/index.ts'
import { createLogger } from '../../../protocol/logger.ts'
import { loadNodeConfig, updateNodeConfigFile } from '../../../node/config.ts'
import { startNode } from '../../../node/daemon/index.ts'
import type { RunningNode } from '../../../node/daemon/index.ts'
import { controlFilePath } from '../../../node/control/index.ts'
import { DATA_DIR_LOCK_FILE } from '../../../node/daemon/data-dir-lock.ts'
import { DAEMON_GLIBC_TUNABLES } from '../../../node/daemon/malloc-tuning.ts'
import { startNodeProcess } from '../../../bin/node-process.ts'
import type { NodeProcess } from '../../../bin/node-process.ts'
import { startTestTracker } from '../../helpers/tracker.ts'
import type { TestTracker } from '../../helpers/tracker.ts'
import { publishAndAssign, sampleImage } from '../../helpers/swarm.ts'
import type { Workspace } from '../../helpers/swarm.ts'
import { makeTmpDir } from '../../helpers/tmp-dir.ts'
import { newPeerId, withProof } from '../../helpers/tracker-swarm.ts'
import { rejects } from '../../helpers/rejects.ts'
import { until } from '../../helpers/abuse.ts'
import { ACCELERATOR_FILE } from '../../../node/constants.ts'

const logger = createLogger({ level: 'silent' })
let tt: TestTracker
let ws: Workspace
const dirs: string[] = []

test.before(async () => {
  tt = await startTestTracker()
  ws = await publishAndAssign(tt, { bytes: sampleImage(2 * 1024 * 1024, 21) })
})
test.after(async () => {
  await tt?.stop()
  if (process.env.KEEP === '1') return
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

async function dir (): Promise<string> {
  const d = await makeTmpDir('branchcast-hygiene-')
  dirs.push(d)
  return d
}

function configFor (dataDir: string, env: NodeJS.ProcessEnv = {}, token: string | undefined = ws.userToken) {
  return loadNodeConfig({ flags: { dataDir, tracker: tt.url, token, site: 'hygiene', listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false }, env })
}

test('a second daemon on one data directory refuses, naming the first\'s pid; a SIGKILLed holder\'s lock is taken over', async () => {
  const d = await dir()
  const procs: NodeProcess[] = []
  try {
    const first = await startNodeProcess({ dataDir: d, tracker: tt.url, token: ws.userToken, site: 'hygiene', logFile: `${d}-1.log` })
    procs.push(first)
    const control = await readFile(controlFilePath(d), 'utf8')
    const secondLog = `${d}-2.log`
    dirs.push(secondLog)
    await rejects(startNodeProcess({ dataDir: d, tracker: tt.url, token: ws.userToken, site: 'hygiene', logFile: secondLog, readyTimeoutMs: 60_000 }), { message: /exited with 1 before it was ready/ })
    const said = await readFile(secondLog, 'utf8')
    assert.match(said, new RegExp(`in use by another branchcast node \\(pid ${first.child.pid}`), said)
    assert.is(await readFile(controlFilePath(d), 'utf8'), control, 'the first\'s control.json survives the second\'s exit')

    first.child.kill('SIGKILL')
    await first.stop()
    await stat(join(d, DATA_DIR_LOCK_FILE)) // left behind by the killed process
    const third = await startNodeProcess({ dataDir: d, tracker: tt.url, token: ws.userToken, site: 'hygiene', logFile: `${d}-3.log` })
    dirs.push(`${d}-1.log`, `${d}-3.log`)
    procs.push(third)
    assert.is(third.peerId, first.peerId, 'same data directory, same peer')
    assert.is(JSON.parse(await readFile(join(d, DATA_DIR_LOCK_FILE), 'utf8')).pid, third.child.pid)
    // (A node SIGTERMed right after its ready line sometimes dies of the signal before its
    // handler runs — seen before this lock existed; either way the next start must succeed.)
    const code = await third.stop()
    if (code === 0) await rejects(stat(join(d, DATA_DIR_LOCK_FILE)), { code: 'ENOENT' })
    const fourth = await startNodeProcess({ dataDir: d, tracker: tt.url, token: ws.userToken, site: 'hygiene', logFile: `${d}-4.log` })
    dirs.push(`${d}-4.log`)
    procs.push(fourth)
    assert.is(fourth.peerId, first.peerId)
  } finally {
    for (const p of procs) await p.stop(2_000)
  }
})

test('the daemon runs itself again with its allocator settings, keeping its pid; settings of the environment\'s own are left alone', async () => {
  const environ = async (pid: number): Promise<Map<string, string>> =>
    new Map((await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0').filter((kv) => kv.includes('=')).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]))
  const cases: Array<{ env: NodeJS.ProcessEnv, want: string | undefined }> = [
    { env: { GLIBC_TUNABLES: undefined }, want: DAEMON_GLIBC_TUNABLES },
    { env: { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, want: 'glibc.malloc.arena_max=2' },
    { env: { GLIBC_TUNABLES: undefined, BRANCHCAST_MALLOC_TUNING: '0' }, want: undefined }
  ]
  for (const [i, c] of cases.entries()) {
    const d = await dir()
    dirs.push(`${d}.log`)
    // a site of its own each: a user's live peer ids per site are capped
    const p = await startNodeProcess({ dataDir: d, tracker: tt.url, token: ws.userToken, site: `malloc-${i}`, logFile: `${d}.log`, env: c.env })
    try {
      // glibc keeps the first setting of the variable's value in place once it has read them all
      // (ld.so --list-tunables shows both in force)
      assert.is((await environ(p.child.pid!)).get('GLIBC_TUNABLES')?.split(':')[0], c.want?.split(':')[0], JSON.stringify(c.env))
      assert.is(JSON.parse(await readFile(join(d, DATA_DIR_LOCK_FILE), 'utf8')).pid, p.child.pid, 'the lock names the pid the daemon was started as')
    } finally {
      await p.stop(2_000)
    }
  }
})

test('the daemon keeps Node\'s TypeScript transpiler out of its memory: a cold compile cache is written and the daemon runs itself once more; a warm one serves it from the start; an unsafe folder is not used', async () => {
  const cacheHome = await dir()
  const cache = join(cacheHome, 'branchcast', 'compile-cache')
  // the daemon's own log line, at info: its compile cache and whether the transpiler loaded
  const runtime = async (i: number, env: NodeJS.ProcessEnv): Promise<{ dir: string | null, transpilerLoaded: boolean, pidKept: boolean, refusals: number }> => {
    const d = await dir()
    dirs.push(`${d}.log`)
    const p = await startNodeProcess({ dataDir: d, tracker: tt.url, token: ws.userToken, site: `cache-${i}`, logFile: `${d}.log`, env: { XDG_CACHE_HOME: cacheHome, NODE_COMPILE_CACHE: undefined, BRANCHCAST_LOG_LEVEL: 'info', ...env } })
    try {
      const pidKept = JSON.parse(await readFile(join(d, DATA_DIR_LOCK_FILE), 'utf8')).pid === p.child.pid
      await p.stop(5_000)
      const log = (await readFile(`${d}.log`, 'utf8')).split('\n')
      const line = log.filter((l) => l.includes('"compile cache"'))
      assert.is(line.length, 1, 'one start logged (the re-runs happen before the node starts)')
      const { dir, transpilerLoaded } = JSON.parse(line[0]!)
      return { dir, transpilerLoaded, pidKept, refusals: log.filter((l) => l.includes('as the compile cache')).length }
    } finally {
      await p.stop(2_000)
    }
  }
  const cold = await runtime(0, {})
  assert.ok(cold.dir?.startsWith(cache), `${String(cold.dir)} is under ${cache}`)
  assert.is(cold.transpilerLoaded, false, 'a cold cache: written, then the daemon ran again without the transpiler')
  assert.ok(cold.pidKept, 'the lock names the pid the daemon was started as')
  assert.is(cold.refusals, 0)
  assert.is((await stat(cache)).mode & 0o777, 0o700)
  const warm = await runtime(1, {})
  assert.equal(warm, cold)
  // turned off: the transpiler stays, as before
  assert.equal(await runtime(2, { BRANCHCAST_COMPILE_CACHE: '0' }), { dir: null, transpilerLoaded: true, pidKept: true, refusals: 0 })
  // a folder others may write to could hold code the daemon would run: not used, said once
  await chmod(cache, 0o777)
  assert.equal(await runtime(3, {}), { dir: null, transpilerLoaded: true, pidKept: true, refusals: 1 })
})

test('a node whose user has workspaces learns its VM accelerator when it starts, before any VM start asks', async () => {
  const d = await dir()
  // a site of its own: a user's live peer ids per site are capped
  const config = loadNodeConfig({ flags: { dataDir: d, tracker: tt.url, token: ws.userToken, site: 'hygiene-accel', listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false }, env: {} })
  const node = await startNode({ config, logger, sessions: { accel: 'auto', kvmProbeTimeoutMs: 2_000 } })
  try {
    const kept = join(d, 'sessions', ACCELERATOR_FILE)
    await until(async () => await stat(kept).then(() => true, () => false), 15_000, 100, 'the probe\'s answer')
    assert.match(JSON.parse(await readFile(kept, 'utf8')).accel, /^(kvm|tcg)$/)
  } finally {
    await node.stop()
  }
})

test('on stop a node leaves every swarm, the version it just pulled included: a newcomer right after gets no entry for it', async () => {
  const nodes: RunningNode[] = []
  try {
    // the seeder's periodic rounds far apart: only the puller announced this version
    const a = await startNode({ config: configFor(await dir()), logger, seedIntervalMs: 3_600_000 })
    nodes.push(a)
    await a.pull({ image: ws.image })
    const newcomer = createApiClient({ baseUrl: tt.url, token: ws.userToken })
    const ask = async (): Promise<string[]> => {
      const r = await newcomer.json<{ peers: Array<{ peerId: string }> }>('POST', '/api/v1/swarm/announce', {
        json: await withProof({ image: ws.image, version: ws.version, peerId: await newPeerId(), site: 'hygiene', addrs: [], have: '', haveCount: 0 }, Date.now())
      })
      return r.peers.map((p) => p.peerId)
    }
    assert.ok((await ask()).includes(a.peerId), 'listed while it runs')
    const t0 = Date.now()
    await a.stop()
    assert.ok(Date.now() - t0 < 10_000, 'stop is bounded')
    assert.not.ok((await ask()).includes(a.peerId), 'gone right after its stop, not 120 s later')
  } finally {
    for (const n of nodes) await n.stop()
  }
})

test('an environment token naming another user: the daemon refuses, naming both; the same user\'s other token: it runs as enrolled', async () => {
  const d = await dir()
  await updateNodeConfigFile(d, { tracker: tt.url, token: ws.userToken }) // what `branchcast enroll` saves
  const enrolled = (env: NodeJS.ProcessEnv) => loadNodeConfig({ flags: { dataDir: d, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false }, env })
  const err = await rejects(startNode({ config: enrolled({ BRANCHCAST_TOKEN: tt.adminToken }), logger }), { code: 'ERR_NODE_CONFIG' })
  assert.match(err.message, /BRANCHCAST_TOKEN names user "admin", but this node is enrolled as "alice"/)
  await rejects(stat(controlFilePath(d)), { code: 'ENOENT' })
  await rejects(stat(join(d, DATA_DIR_LOCK_FILE)), { code: 'ENOENT' })

  const lines: string[] = []
  const node = await startNode({
    config: enrolled({ BRANCHCAST_TOKEN: await tt.tokenFor('alice') }),
    logger: createLogger({ level: 'warn', write: (line) => { lines.push(line) } })
  })
  try {
    assert.is(node.config.token, ws.userToken, 'the enrolled token')
    assert.ok(lines.some((l) => l.includes('BRANCHCAST_TOKEN is set but differs from the enrolled token')), 'said loudly')
    assert.not.ok(lines.some((l) => l.includes(ws.userToken)), 'no token in a log line')
  } finally {
    await node.stop()
  }
})

test.run()
