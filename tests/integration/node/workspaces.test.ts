// Automatic delivery and policy enforcement against a real tracker process and the real
// node daemon (QEMU with no guest, `-machine none`, for the session it locks): a policy
// assigned and the image arrives with no command typed; a download window keeps the pull
// waiting; revocation deletes; expiry and the offline grace lock; the admin extends and
// the user unlocks; a tampered policy cache is refused; each event reaches the tracker once.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createApiClient } from '../../../protocol/index.ts'
import type { ApiClient } from '../../../protocol/index.ts'
import { createLogger } from '../../../protocol/logger.ts'
import { loadNodeConfig } from '../../../node/config.ts'
import { startNode } from '../../../node/daemon/index.ts'
import type { RunningNode } from '../../../node/daemon/index.ts'
import { ControlError, createControlClient, readControlFile } from '../../../node/control/index.ts'
import type { ControlClient } from '../../../node/control/index.ts'
import { policyCachePath } from '../../../node/workspaces/index.ts'
import type { WorkspacesStatus, WorkspaceView } from '../../../node/workspaces/index.ts'
import { spawnTracker, stopTracker } from '../../helpers/tracker-process.ts'
import type { TrackerProcess } from '../../helpers/tracker-process.ts'
import { sampleImage } from '../../helpers/swarm.ts'
import { makeTmpDir } from '../../helpers/tmp-dir.ts'
import { rejects } from '../../helpers/rejects.ts'
import { runCli } from '../../helpers/cli.ts'

const IMAGE = 'desk'
const GROUP = 'branch-1'
const IMAGE_BYTES = 1024 * 1024
const logger = createLogger({ level: 'silent' })

interface Desk {
  tracker: TrackerProcess
  trackerDir: string
  admin: ApiClient
  userToken: string
  nodeDir: string
  node?: RunningNode
  control?: ControlClient
}

async function until<T> (what: string, get: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: T | undefined
  for (;;) {
    last = await get()
    if (ok(last)) return last
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; last ${JSON.stringify(last)}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

async function publish (d: Desk, seed: number): Promise<number> {
  await d.admin.request('POST', '/api/v1/images', { json: { name: IMAGE } }).catch((err) => { if (err.status !== 409) throw err })
  const up = await d.admin.json<{ version: number }>('POST', `/api/v1/images/${IMAGE}/versions`, {
    query: { publish: true }, body: sampleImage(IMAGE_BYTES, seed), headers: { 'content-type': 'application/octet-stream' }
  })
  return up.version
}

async function assign (d: Desk, fields: Record<string, unknown> = {}): Promise<void> {
  // -machine none has one CPU
  await d.admin.request('POST', '/api/v1/policies', { json: { name: 'desk-policy', image: IMAGE, vmCpus: 1, vmMemoryMb: 64, ...fields } })
  await d.admin.request('POST', '/api/v1/assignments', { json: { policy: 'desk-policy', group: GROUP } })
}

async function patchPolicy (d: Desk, fields: Record<string, unknown>): Promise<void> {
  await d.admin.request('PATCH', '/api/v1/policies/desk-policy', { json: fields })
}

async function startDaemon (d: Desk, flags: { hostCheck?: string[] } = {}): Promise<ControlClient> {
  d.node = await startNode({
    config: loadNodeConfig({ flags: { dataDir: d.nodeDir, tracker: d.tracker.url, token: d.userToken, site: GROUP, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, reconcileIntervalMs: 600_000, ...flags }, env: {} }),
    logger,
    eventRetryMinMs: 50,
    sessions: { machine: 'none', accel: 'tcg', powerdownTimeoutMs: 200 },
    applicationsDir: join(d.nodeDir, 'applications')
  })
  d.control = createControlClient(await readControlFile(d.nodeDir))
  return d.control
}

async function withDesk (fn: (d: Desk) => Promise<void>): Promise<void> {
  const trackerDir = await makeTmpDir('branchcast-ws-tracker-')
  const nodeDir = await makeTmpDir('branchcast-ws-node-')
  let tracker: TrackerProcess | undefined
  let d: Desk | undefined
  try {
    tracker = await spawnTracker(trackerDir)
    const [, tokenPath] = await tracker.waitFor(/admin API token was written to (\S+)/)
    const admin = createApiClient({ baseUrl: tracker.url, token: (await readFile(tokenPath!, 'utf8')).trim() })
    const { token } = await admin.json<{ token: string }>('POST', '/api/v1/tokens', { json: { user: 'alice', groups: [GROUP] } })
    d = { tracker, trackerDir, admin, userToken: token, nodeDir }
    await fn(d)
  } finally {
    if (d?.control !== undefined) {
      for (const s of await d.control.sessions().catch(() => [])) await d.control.sessionStop(s.image, { timeoutMs: 200 }).catch(() => {})
    }
    await d?.node?.stop()
    await stopTracker(d?.tracker ?? tracker)
    await rm(trackerDir, { recursive: true, force: true })
    await rm(nodeDir, { recursive: true, force: true })
  }
}

const view = (s: WorkspacesStatus, image = IMAGE): WorkspaceView | undefined => s.workspaces.find((w) => w.image === image)
async function versionsOnDisk (d: Desk): Promise<number[]> {
  const files = await readdir(join(d.nodeDir, 'images', IMAGE)).catch(() => [] as string[])
  return files.filter((f) => /^\d+\.img$/.test(f)).map((f) => Number(f.split('.')[0])).sort((a, b) => b - a)
}

/** The events of `type` the tracker stored, once the node flushed its queue. */
async function events (d: Desk, type: string): Promise<Array<Record<string, unknown>>> {
  await d.node!.flushEvents({ signal: AbortSignal.timeout(30_000) })
  const r = await d.admin.json<{ events: Array<{ payload: Record<string, unknown> }> }>('GET', '/api/v1/events', { query: { type, limit: 1000, order: 'asc' } })
  return r.events.map((e) => e.payload)
}

test('assigned: the image arrives with no command typed, updates follow, N versions are kept, revocation deletes; each event once', async () => {
  await withDesk(async (d) => {
    const v1 = await publish(d, 1)
    await assign(d, { publishedApps: [{ name: 'Ledger', command: '/usr/bin/ledger --today' }] })
    let control = await startDaemon(d)
    const first = await until('first delivery', async () => await control.workspaces(), (s) => view(s)?.state === 'current')
    // the policy's published application is in the desktop's menu
    const appsDir = join(d.nodeDir, 'applications', 'branchcast', IMAGE)
    const entries = await until('desktop entry written', async () => await readdir(appsDir).catch(() => [] as string[]), (f) => f.length === 1)
    assert.match(await readFile(join(appsDir, entries[0]!), 'utf8'), /^Name=Ledger$/m)
    assert.equal([view(first)!.held, view(first)!.wanted], [v1, v1])
    assert.equal(view(first)!.policy?.via, { kind: 'group', subject: GROUP }, 'which policy is in force and why')
    assert.equal(await versionsOnDisk(d), [v1])

    const shown = await runCli(['desk', '--data', d.nodeDir], { timeoutMs: 30_000 })
    assert.is(shown.code, 0, shown.stderr)
    assert.match(shown.stdout, new RegExp(`^desk  v${v1} held, v${v1} wanted: current$`, 'm'))
    assert.match(shown.stdout, /policy   desk-policy \(via group branch-1\)/)
    assert.match(shown.stdout, /policy cache: verified/)
    // `branchcast status` shows the same workspace lines above the VMs
    const status = await runCli(['status', '--data', d.nodeDir], { timeoutMs: 30_000 })
    assert.is(status.code, 0, status.stderr)
    assert.match(status.stdout, new RegExp(`^desk  v${v1} held, v${v1} wanted: current$`, 'm'))
    assert.match(status.stdout, /no VM session is running/)

    const v2 = await publish(d, 2)
    const statePath = join(d.nodeDir, 'workspaces-state.json')
    const beforeUpdate = await readFile(statePath, 'utf8')
    const refreshed = await runCli(['refresh', '--data', d.nodeDir, '--json'], { timeoutMs: 30_000 })
    assert.is(refreshed.code, 0, refreshed.stderr)
    assert.is(view(JSON.parse(refreshed.stdout))!.wanted, v2)
    await until('v2 delivered', async () => await control.workspaces(), (s) => view(s)?.held === v2 && view(s)?.state === 'current')
    await until('update reported', async () => await events(d, 'update.applied'), (e) => e.length === 1)
    // A crash after the event was queued and before the state file recorded it: the next
    // start reports the update again, under the same id, and the tracker keeps one.
    await d.node!.stop()
    await writeFile(statePath, beforeUpdate)
    control = await startDaemon(d)
    await until('v2 current again', async () => await control.workspaces(), (s) => view(s)?.held === v2 && view(s)?.state === 'current')
    assert.equal((await events(d, 'update.applied')).map((e) => [e.version, e.from]), [[v2, v1]], 'the repeated report was stored once')
    const v3 = await publish(d, 3)
    await control.refreshWorkspaces()
    await until('v3 delivered', async () => await control.workspaces(), (s) => view(s)?.held === v3 && view(s)?.state === 'current')
    await until('older versions pruned', async () => await versionsOnDisk(d), (v) => v.join() === [v3, v2].join())

    await d.admin.request('DELETE', '/api/v1/assignments', { query: { policy: 'desk-policy', group: GROUP } })
    await control.refreshWorkspaces()
    await until('revoked image deleted', async () => await versionsOnDisk(d), (v) => v.length === 0)
    assert.equal((await control.images()).filter((i) => i.image === IMAGE), [])
    await until('no workspace left', async () => await control.workspaces(), (s) => s.workspaces.length === 0)
    assert.equal(await readdir(appsDir).catch(() => 'gone'), 'gone', 'the desktop entries went with the workspace')

    assert.equal((await events(d, 'workspace.delivered')).map((e) => [e.image, e.version]), [[IMAGE, v1]])
    assert.equal((await events(d, 'update.applied')).map((e) => [e.version, e.from]), [[v2, v1], [v3, v2]])
    assert.equal((await events(d, 'policy.applied')).map((e) => [e.policy, (e.via as { subject: string }).subject]), [['desk-policy', GROUP]])
    assert.equal((await events(d, 'workspace.removed')).map((e) => [e.image, e.versions, e.reason]), [[IMAGE, [v3, v2], 'revoked']])
  })
})

test('a download window keeps the pull waiting and says until when; once the window holds the present, the pull runs; the host check gates a start', async () => {
  await withDesk(async (d) => {
    const v1 = await publish(d, 4)
    const now = new Date()
    const minute = now.getHours() * 60 + now.getMinutes()
    const at = (m: number): number => ((m % 1440) + 1440) % 1440
    const hhmm = (m: number): string => `${String(Math.floor(at(m) / 60)).padStart(2, '0')}:${String(at(m) % 60).padStart(2, '0')}`
    // two to three hours from now, local time: closed for the whole test
    await assign(d, { downloadWindow: { startMinute: at(minute + 120), endMinute: at(minute + 180) } })
    const hostOk = join(d.nodeDir, 'host-ok')
    const control = await startDaemon(d, { hostCheck: ['test', '-e', hostOk] })
    const waiting = await until('waiting for the window', async () => await control.workspaces(), (s) => view(s)?.state === 'waiting')
    assert.match(view(waiting)!.reason, new RegExp(`waiting for download window ${hhmm(minute + 120)}–${hhmm(minute + 180)} until ${hhmm(minute + 120)}`))
    assert.equal(await versionsOnDisk(d), [])
    assert.is((await control.status()).pulls.active, 0, 'no pull runs outside the window')
    assert.equal((await events(d, 'pull.completed')), [])

    await patchPolicy(d, { downloadWindow: { startMinute: at(minute - 5), endMinute: at(minute + 60) } })
    await control.refreshWorkspaces()
    await until('delivered in the window', async () => await control.workspaces(), (s) => view(s)?.state === 'current')
    assert.equal(await versionsOnDisk(d), [v1])

    // the host verification command must succeed before a start
    await rejects(control.sessionStart(IMAGE, {}), { code: 'ERR_POLICY_DENIED', message: /host check "test" failed \(exit 1\)/ })
    await writeFile(hostOk, '')
    assert.is((await control.sessionStart(IMAGE, {})).state, 'running')
    assert.equal((await events(d, 'policy.violated')).map((e) => e.rule), ['host-check'])
  })
})

test('expiry locks the running session and refuses a start; the admin extends and unlock works; offline beyond the grace locks; a tampered cache is refused; events once', async () => {
  await withDesk(async (d) => {
    const v1 = await publish(d, 5)
    await assign(d, { expiresAt: Date.now() + 3 * 86_400_000 + 3_600_000, offlineGraceSeconds: 2 })
    const control = await startDaemon(d)
    const ready = await until('delivered', async () => await control.workspaces(), (s) => view(s)?.state === 'current')
    assert.is(view(ready)!.warning, 'expires in 3 days', 'warned days before')

    const started = await control.sessionStart(IMAGE, {})
    assert.equal([started.state, started.version], ['running', v1])

    // expired: the running session is locked at once, a start and an unlock are refused
    await patchPolicy(d, { expiresAt: Date.now() - 60_000 })
    const expired = await control.refreshWorkspaces()
    assert.is(view(expired)!.state, 'locked')
    assert.match(view(expired)!.reason, /locked: expired/)
    await until('session locked', async () => await control.sessionStatus(IMAGE), (s) => s.state === 'locked')
    await rejects(control.sessionUnlock(IMAGE), { code: 'ERR_POLICY_DENIED', message: /expired/ })
    assert.ok((await control.sessionStatus(IMAGE)).state === 'locked', 'still locked after the refused unlock')
    await rejects(control.sessionRestart(IMAGE, { timeoutMs: 200 }), { code: 'ERR_POLICY_DENIED' })
    assert.equal(await versionsOnDisk(d), [v1], 'expiry locks, it does not delete')

    // the admin extends: after a refresh the user may unlock
    await patchPolicy(d, { expiresAt: Date.now() + 30 * 86_400_000 })
    await control.refreshWorkspaces()
    assert.is((await control.sessionUnlock(IMAGE)).state, 'running')

    // offline beyond the grace (2 s): locked
    const port = new URL(d.tracker.url).port
    await stopTracker(d.tracker)
    const offline = await until('offline lock', async () => await control.refreshWorkspaces(), (s) => view(s)?.state === 'locked', 30_000)
    assert.match(view(offline)!.reason, /locked: offline for \d+ seconds? > grace 2 seconds/)
    assert.is(offline.contact.state, 'failed')
    await until('session locked offline', async () => await control.sessionStatus(IMAGE), (s) => s.state === 'locked')
    await rejects(control.sessionUnlock(IMAGE), { code: 'ERR_POLICY_DENIED', message: /offline/ })
    await control.sessionStop(IMAGE, { timeoutMs: 200 })

    // a cache changed on disk, with the tracker away: refused, everything locked, nothing deleted
    await d.node!.stop()
    d.node = undefined
    const file = JSON.parse(await readFile(policyCachePath(d.nodeDir), 'utf8'))
    file.signed.payload = file.signed.payload.replace(/"offlineGraceSeconds":2/, '"offlineGraceSeconds":31536000')
    await writeFile(policyCachePath(d.nodeDir), JSON.stringify(file))
    const again = await startDaemon(d)
    const refused = await again.workspaces()
    assert.is(refused.cache.state, 'refused')
    assert.match(refused.cache.message ?? '', /ERR_POLICY_CACHE_TAMPERED/)
    assert.is(view(refused)!.state, 'locked')
    await rejects(again.sessionStart(IMAGE, {}), { code: 'ERR_POLICY_DENIED', message: /policy cache refused/ })
    assert.equal(await versionsOnDisk(d), [v1], 'a refused cache deletes nothing')

    // the tracker back: the next read replaces the refused cache, the events arrive once
    d.tracker = await spawnTracker(d.trackerDir, ['--port', port])
    const back = await again.refreshWorkspaces()
    assert.is(back.cache.state, 'verified')
    assert.is(view(back)!.state, 'current')
    const violated = (await events(d, 'policy.violated')).map((e) => e.rule)
    assert.equal(violated, ['expired', 'offline', 'tamper'])
    assert.equal((await events(d, 'workspace.delivered')).length, 1)
    assert.equal((await events(d, 'session.locked')).map((e) => e.reason), ['expired', 'offline'])
  })
})

test.run()
