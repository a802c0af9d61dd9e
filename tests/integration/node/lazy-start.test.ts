// Instant start with a real guest under TCG: `branchcast start` (the control API) of a
// workspace whose image the node does not hold boots at once on the node's NBD export,
// while the image arrives from a peer and the origin, with a lying peer in the swarm. The
// guest reads its whole disk and prints its SHA-256: it equals the published image's. The
// pull ends while the VM runs (it keeps going); the next start uses the local file. A node
// that loses its sources pauses the guest instead of failing its reads, and resumes it
// when chunks flow again; so does a daemon that stops under a lazy boot, once it is back.
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { PrivateKey } from '@libp2p/interface'
import { createApiClient, decodeManifest } from '../../../protocol/index.ts'
import { createLogger } from '../../../protocol/logger.ts'
import { loadNodeConfig } from '../../../node/config.ts'
import { createControlClient, readControlFile } from '../../../node/control/index.ts'
import type { ControlClient } from '../../../node/control/index.ts'
import { startNode } from '../../../node/daemon/index.ts'
import type { RunningNode } from '../../../node/daemon/index.ts'
import { loadOrCreatePeerKey } from '../../../node/peer/index.ts'
import type { PeerNode } from '../../../node/peer/index.ts'
import { QmpClient, readBackingFile } from '../../../node/session/index.ts'
import { createTrackerClient } from '../../../node/tracker-client.ts'
import { loadTrackerConfig } from '../../../tracker/config.ts'
import { startTracker } from '../../../tracker/server.ts'
import { until } from '../../helpers/abuse.ts'
import { DISK_SHA256_ARG, DISK_SHA256_LINE_RE, GUEST_READY_LINE, tinyGuest, waitForConsole } from '../../helpers/guest.ts'
import type { TinyGuest } from '../../helpers/guest.ts'
import { startLyingPeer } from '../../helpers/lying-peer.ts'
import { publishAndAssign, randomImage, startTestNode } from '../../helpers/swarm.ts'
import type { Workspace } from '../../helpers/swarm.ts'
import { makeTmpDir } from '../../helpers/tmp-dir.ts'
import { call } from '../../helpers/tracker-swarm.ts'
import { startTestTracker } from '../../helpers/tracker.ts'
import type { TestTracker } from '../../helpers/tracker.ts'

const logger = createLogger({ level: 'silent' })
/** A cold boot plus a whole-disk read under TCG on a loaded 2-core host. */
const BOOT_TIMEOUT_MS = 150_000
const SITE = 'branch-lazy'

let guest: TinyGuest
test.before(async () => { guest = await tinyGuest() })

function configFor (dataDir: string, tracker: string, token: string, originRateBytesPerSec?: number) {
  // no automatic delivery: the start is what pulls
  return loadNodeConfig({ flags: { dataDir, tracker, token, site: SITE, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, autoDeliver: false, originRateBytesPerSec }, env: {} })
}

/** Announces `node` as holding the first `fraction` of the chunks of the image's latest version. */
async function announceHolding (tt: TestTracker, ws: Workspace, node: PeerNode, privateKey: PrivateKey, fraction: number): Promise<void> {
  const tracker = createTrackerClient(createApiClient({ baseUrl: tt.url, token: ws.userToken }), { peerKey: privateKey })
  const m = decodeManifest(await tracker.manifest(ws.image, 'latest'))
  const count = Math.floor(m.chunkCount * fraction)
  const have = new Uint8Array(Math.ceil(m.chunkCount / 8))
  for (let i = 0; i < count; i++) have[i >> 3]! |= 0x80 >> (i & 7)
  await tracker.announce({ image: ws.image, version: m.version, peerId: node.peerId, site: SITE, addrs: node.multiaddrs, have: Buffer.from(have).toString('base64'), haveCount: count })
}

async function lazyStart (control: ControlClient, image: string): Promise<void> {
  const s = await control.sessionStart(image, {
    memoryMb: 256, network: 'none', kernel: guest.kernelPath, initrd: guest.initrdPath, append: `${guest.append} ${DISK_SHA256_ARG}`, timeoutMs: 60_000
  })
  assert.is(s.state, 'running')
}

test('a guest boots from an image still arriving from a peer and the origin, a liar among them, and reads it byte for byte; the next start uses the local file', async () => {
  const tt = await startTestTracker()
  const dir = await makeTmpDir('branchcast-lazy-start-')
  const ws = await publishAndAssign(tt, { image: 'lazyws', bytes: randomImage(12 * 2 ** 20) })
  // a holder on the branch that says it has half the image; a liar that says it has all
  const seeder = await startTestNode(tt, ws.userToken, { site: SITE, server: { uploadRateBytesPerSec: 1024 * 1024 } })
  const liar = await startLyingPeer('bad-bytes')
  let node: RunningNode | undefined
  try {
    assert.is((await seeder.puller.pull({ image: ws.image })).sha256, ws.sha256)
    await announceHolding(tt, ws, seeder.node, await loadOrCreatePeerKey(seeder.dataDir), 0.5)
    await announceHolding(tt, ws, liar.node, liar.privateKey, 1)

    node = await startNode({ config: configFor(dir, tt.url, ws.userToken, 1024 * 1024), logger, sessions: { accel: 'tcg' } })
    await node.workspaces.refresh()
    const control = createControlClient(await readControlFile(dir))
    assert.equal(await control.images(), [], 'the node holds nothing when the start is asked')

    await lazyStart(control, ws.image)
    const status = await control.sessionStatus(ws.image)
    assert.is(status.lazy, true, 'the VM reads its base through the node\'s NBD export')
    const serial = join(dir, 'sessions', ws.image, 'serial.log')
    const [, seen] = await waitForConsole(serial, DISK_SHA256_LINE_RE, AbortSignal.timeout(BOOT_TIMEOUT_MS))
    assert.is(seen, ws.sha256, 'the guest read the published image, byte for byte')
    assert.ok(seeder.server.stats.chunksServed > 0, 'the peer carried chunks')
    assert.ok(liar.requests > 0, 'the liar was asked')

    // hand-over: the pull ends while the VM runs on NBD
    await until(async () => (await control.images()).some((i) => i.image === ws.image), 120_000, 200, 'the pull to end')
    const running = await control.sessionStatus(ws.image)
    assert.equal([running.state, running.lazy], ['running', true], 'the VM keeps running on NBD after the pull')
    const overlay = running.overlayPath!
    const ready = (await control.images()).find((i) => i.image === ws.image)!
    assert.is(await readBackingFile(overlay), ready.path, 'the overlay names the local file all along')
    const stopped = await control.sessionStop(ws.image, { timeoutMs: 30_000 })
    assert.is(stopped.forced, false)

    await lazyStart(control, ws.image)
    const again = await control.sessionStatus(ws.image)
    assert.is(again.lazy, undefined, 'the next start reads the local file')
    const [, second] = await waitForConsole(serial, DISK_SHA256_LINE_RE, AbortSignal.timeout(BOOT_TIMEOUT_MS))
    assert.is(second, ws.sha256)
    await control.sessionStop(ws.image, { timeoutMs: 30_000 })

    await node.flushEvents({ signal: AbortSignal.timeout(30_000) })
    const events = async (type: string): Promise<Array<Record<string, any>>> => (await call(tt.url, 'GET', `/api/v1/events?type=${type}&limit=100`, { token: tt.adminToken })).body.events.map((e: { payload: Record<string, unknown> }) => e.payload)
    const [pulled] = await events('pull.completed')
    assert.ok(pulled!.decodedBytesFromPeers > 0 && pulled!.decodedBytesFromOrigin > 2 ** 20, `chunks from the peer and the origin: ${JSON.stringify(pulled)}`)
    const banned = await events('peer.banned')
    assert.equal(banned.map((b) => [b.peerId, b.reason])[0], [liar.node.peerId, 'corrupt-chunk'], 'the liar\'s bytes were refused and it was banned')
  } finally {
    await node?.stop()
    await killVms(dir)
    await liar.stop()
    await seeder.stop()
    await tt.stop()
    await rm(dir, { recursive: true, force: true })
  }
})

test('a node that loses its sources pauses the guest on its reads and resumes it when chunks flow again', async () => {
  const trackerDir = await makeTmpDir('branchcast-lazy-tracker-')
  const dir = await makeTmpDir('branchcast-lazy-stall-')
  const tt = await startTestTracker({ config: { dataDir: trackerDir } })
  let restarted: Awaited<ReturnType<typeof startTracker>> | undefined
  let node: RunningNode | undefined
  try {
    const ws = await publishAndAssign(tt, { image: 'stallws', bytes: randomImage(48 * 2 ** 20) })
    // the origin alone, at 2 MiB/s: the guest's whole-disk read outlasts its boot
    node = await startNode({ config: configFor(dir, tt.url, ws.userToken, 2 * 1024 * 1024), logger, sessions: { accel: 'tcg' } })
    await node.workspaces.refresh()
    const control = createControlClient(await readControlFile(dir))
    await lazyStart(control, ws.image)
    const serial = join(dir, 'sessions', ws.image, 'serial.log')
    await waitForConsole(serial, new RegExp(GUEST_READY_LINE), AbortSignal.timeout(BOOT_TIMEOUT_MS))
    assert.ok(!(await control.images()).some((i) => i.image === ws.image), 'the image is still arriving')

    // the node loses its only source
    const port = new URL(tt.url).port
    await tt.tracker.stop({ graceMs: 0 })
    await until(async () => (await control.sessionStatus(ws.image)).qemuStatus === 'io-error', 60_000, 200, 'the guest to pause')
    assert.is((await control.sessionStatus(ws.image)).state, 'running', 'a pause on reads is not a lock')

    // the source comes back on the same address: chunks flow, the guest goes on
    restarted = await startTracker(loadTrackerConfig({ flags: { port: Number(port), logLevel: 'silent', dataDir: trackerDir }, env: {} }), { logger })
    const [, seen] = await waitForConsole(serial, DISK_SHA256_LINE_RE, AbortSignal.timeout(BOOT_TIMEOUT_MS))
    assert.is(seen, ws.sha256, 'the guest read every byte right across the pause')
    assert.is((await control.sessionStatus(ws.image)).qemuStatus, 'running')

    await node.flushEvents({ signal: AbortSignal.timeout(30_000) })
    const paused = await call(restarted.url, 'GET', '/api/v1/events?type=session.paused&limit=100', { token: tt.adminToken })
    const resumed = await call(restarted.url, 'GET', '/api/v1/events?type=session.resumed&limit=100', { token: tt.adminToken })
    assert.ok(paused.body.events.length >= 1, JSON.stringify(paused.body))
    assert.is(paused.body.events[0].payload.reason, 'chunks-stalled')
    assert.ok(resumed.body.events.length >= 1, JSON.stringify(resumed.body))
    assert.is(resumed.body.events[0].payload.reason, 'chunks-arrived')
    await control.sessionStop(ws.image, { timeoutMs: 30_000 })
  } finally {
    await node?.stop()
    await killVms(dir)
    await restarted?.stop({ graceMs: 0 })
    await tt.stop().catch(() => {}) // stopped already, by the test
    await rm(dir, { recursive: true, force: true })
    await rm(trackerDir, { recursive: true, force: true })
  }
})

test('a workspace its policy starts automatically starts on a lazy base when the node starts without it', async () => {
  const tt = await startTestTracker()
  const dir = await makeTmpDir('branchcast-lazy-auto-')
  let node: RunningNode | undefined
  try {
    const ws = await publishAndAssign(tt, { image: 'autows', bytes: randomImage(4 * 2 ** 20), user: 'bob' })
    const admin = createApiClient({ baseUrl: tt.url, token: tt.adminToken })
    await admin.request('POST', '/api/v1/policies', { json: { name: 'autows-auto', image: ws.image, vmMemoryMb: 96, vmCpus: 1, startup: { mode: 'auto' } } })
    await admin.request('POST', '/api/v1/assignments', { json: { policy: 'autows-auto', user: 'alice' } })
    const config = configFor(dir, tt.url, await tt.tokenFor('alice'), 256 * 1024)
    const sessions = { accel: 'tcg' as const, machine: 'none' as const, powerdownTimeoutMs: 100 }
    // a first run learns the desk's workspaces; the next start of the node starts the workspace
    node = await startNode({ config, logger, sessions })
    await node.workspaces.refresh()
    await node.stop()
    node = await startNode({ config, logger, sessions })
    const control = createControlClient(await readControlFile(dir))
    await until(async () => (await control.sessionStatus(ws.image)).state === 'running', 60_000, 200, 'the automatic start')
    const s = await control.sessionStatus(ws.image)
    assert.equal([s.lazy, s.memoryMb, s.version], [true, 96, ws.version], 'started on the version arriving, as the policy says')
    await control.sessionStop(ws.image)
  } finally {
    await node?.stop()
    await killVms(dir)
    await tt.stop()
    await rm(dir, { recursive: true, force: true })
  }
})

/** Ends any VM a failed test left behind (a daemon's stop lets its VMs run on). */
async function killVms (dataDir: string): Promise<void> {
  for (const image of ['lazyws', 'stallws', 'restartws', 'autows']) {
    const record = await readFile(join(dataDir, 'sessions', image, 'session.json'), 'utf8').then((t) => JSON.parse(t) as { pid: number }, () => undefined)
    if (record !== undefined) try { process.kill(record.pid, 'SIGKILL') } catch {}
  }
}

/** QEMU's own run state, asked over the session's monitor (no daemon needed). */
async function qemuStatus (dataDir: string, image: string): Promise<string | undefined> {
  const record = JSON.parse(await readFile(join(dataDir, 'sessions', image, 'session.json'), 'utf8')) as { qmpSocket: string }
  const qmp = await QmpClient.connect(record.qmpSocket, { signal: AbortSignal.timeout(10_000) })
  try {
    return (await qmp.execute<{ status?: string }>('query-status')).status
  } finally {
    qmp.close()
  }
}

test('a daemon that stops under a lazy boot leaves the guest paused, not failed; started again, it serves the base again and the guest goes on', async () => {
  const tt = await startTestTracker()
  const dir = await makeTmpDir('branchcast-lazy-restart-')
  let node: RunningNode | undefined
  try {
    const ws = await publishAndAssign(tt, { image: 'restartws', bytes: randomImage(48 * 2 ** 20) })
    const config = configFor(dir, tt.url, ws.userToken, 2 * 1024 * 1024)
    node = await startNode({ config, logger, sessions: { accel: 'tcg' } })
    await node.workspaces.refresh()
    await lazyStart(createControlClient(await readControlFile(dir)), ws.image)
    const serial = join(dir, 'sessions', ws.image, 'serial.log')
    await waitForConsole(serial, new RegExp(GUEST_READY_LINE), AbortSignal.timeout(BOOT_TIMEOUT_MS))

    // the daemon goes away: the NBD socket closes under the guest's reads
    await node.stop()
    node = undefined
    await until(async () => await qemuStatus(dir, ws.image) === 'io-error', 60_000, 200, 'the guest to pause on its reads')

    node = await startNode({ config, logger, sessions: { accel: 'tcg' } })
    const control = createControlClient(await readControlFile(dir))
    const s = await control.sessionStatus(ws.image)
    assert.equal([s.state, s.lazy], ['running', true], 'the restarted daemon found the session')
    const [, seen] = await waitForConsole(serial, DISK_SHA256_LINE_RE, AbortSignal.timeout(BOOT_TIMEOUT_MS))
    assert.is(seen, ws.sha256, 'the guest read every byte right across the restart')
    assert.is((await control.sessionStatus(ws.image)).qemuStatus, 'running')
    await control.sessionStop(ws.image, { timeoutMs: 30_000 })
  } finally {
    await node?.stop()
    await killVms(dir)
    await tt.stop()
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
