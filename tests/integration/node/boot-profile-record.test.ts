// A boot profile no admin made: a real guest (TCG) boots lazily on a node whose image has
// no profile; the node records the chunks the guest reads until its agent answers and hands
// them to the tracker (`profile.recorded`, `profile.submitted`). Once three users'
// recordings agree the tracker publishes the merge itself, signed and served by the origin;
// a node booting lazily after that fetches it with its pull and hands in nothing.
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createApiClient, decodeManifest, importPublicKey } from '../../../protocol/index.ts'
import type { OriginAccess } from '../../../protocol/index.ts'
import { readChunkList } from '../../../protocol/manifest/chunk-list.ts'
import { createLogger } from '../../../protocol/logger.ts'
import { loadNodeConfig } from '../../../node/config.ts'
import { createControlClient, readControlFile } from '../../../node/control/index.ts'
import { startNode } from '../../../node/daemon/index.ts'
import type { RunningNode } from '../../../node/daemon/index.ts'
import { fetchBootProfile } from '../../../node/origin/index.ts'
import { until } from '../../helpers/abuse.ts'
import { tinyGuest } from '../../helpers/guest.ts'
import { publishAndAssign, randomImage } from '../../helpers/swarm.ts'
import { makeTmpDir } from '../../helpers/tmp-dir.ts'
import { call, haveOf, newPeerId, withProof } from '../../helpers/tracker-swarm.ts'
import { startTestTracker } from '../../helpers/tracker.ts'

const logger = createLogger({ level: 'silent' })
/** A cold boot under TCG on a loaded 2-core host, and the recording's hand-in. */
const BOOT_TIMEOUT_MS = 150_000
const IMAGE = 'profws'

test('lazy boots record what the guest reads; three users agreeing publish a profile the next lazy boot uses', async () => {
  const guest = await tinyGuest()
  const tt = await startTestTracker()
  const dirs: string[] = []
  const nodes: RunningNode[] = []
  try {
    const ws = await publishAndAssign(tt, { image: IMAGE, bytes: randomImage(16 * 2 ** 20), user: 'alice' })
    const admin = createApiClient({ baseUrl: tt.url, token: tt.adminToken })
    for (const user of ['bob', 'carol', 'erin']) await admin.request('POST', '/api/v1/assignments', { json: { policy: `${IMAGE}-alice-${ws.version}`, user } })
    const base = `/api/v1/images/${IMAGE}/versions/${ws.version}/boot-profile`
    const { chunks: store, repository } = tt.tracker.components
    const { version: v, bytes: root } = await repository.getManifest(IMAGE, ws.version)
    const ids: string[] = []
    for await (const ref of readChunkList(decodeManifest(root), async (id) => await store.get(id))) ids.push(ref.id)

    /** A node of `user` that boots the workspace lazily (the guest reads only what its kernel does at boot). */
    const lazyBoot = async (user: string): Promise<RunningNode> => {
      const dir = await makeTmpDir(`branchcast-profrec-${user}-`)
      dirs.push(dir)
      const config = loadNodeConfig({ flags: { dataDir: dir, tracker: tt.url, token: await tt.tokenFor(user), site: 'branch-rec', listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, autoDeliver: false, originRateBytesPerSec: 1024 * 1024 }, env: {} })
      const node = await startNode({ config, logger, sessions: { accel: 'tcg' } })
      nodes.push(node)
      await node.workspaces.refresh()
      const control = createControlClient(await readControlFile(dir))
      const s = await control.sessionStart(IMAGE, { memoryMb: 256, network: 'none', kernel: guest.kernelPath, initrd: guest.initrdPath, append: guest.append, timeoutMs: 60_000 })
      assert.is(s.lazy, true, 'the VM boots on the node\'s NBD export')
      return node
    }
    const events = async (type: string): Promise<Array<Record<string, any>>> => (await call(tt.url, 'GET', `/api/v1/events?type=${type}&limit=100`, { token: tt.adminToken })).body.events.map((e: { clientId: string, payload: Record<string, unknown> }) => ({ clientId: e.clientId, ...e.payload }))

    // 1. alice's lazy boot is recorded and handed in
    const alice = await lazyBoot('alice')
    await until(async () => (await tt.tracker.components.store.listBootProfileCandidates(v.id)).length === 1, BOOT_TIMEOUT_MS, 500, 'alice\'s recording to reach the tracker')
    const [held] = await tt.tracker.components.store.listBootProfileCandidates(v.id)
    assert.is(held!.user, 'alice')
    assert.is(held!.clientId, alice.peerId, 'from alice\'s own node')
    // the guest agent answers about a second after the kernel's reads; on a starved host 10 s of quiet may come first
    assert.ok(['agent', 'quiet'].includes(held!.end), `recorded until the guest was up (${held!.end})`)
    assert.ok(held!.chunks.includes(ids[0]!), 'the kernel read the disk\'s first chunk (its partition table) while booting')
    assert.ok(held!.chunks.length < ids.length / 2, `the boot read ${held!.chunks.length} of ${ids.length} chunks, not the image`)
    await alice.flushEvents({ signal: AbortSignal.timeout(30_000) })
    const recorded = (await events('profile.recorded')).filter((e) => e.clientId === alice.peerId)
    assert.equal(recorded.map((e) => [e.image, e.version, e.chunks, e.end]), [[IMAGE, ws.version, held!.chunks.length, held!.end]])
    const submitted = (await events('profile.submitted')).filter((e) => e.clientId === alice.peerId)
    assert.equal(submitted.map((e) => [e.chunks, e.candidates, e.published]), [[held!.chunks.length, 1, false]])

    // 2. bob and carol hand in the same reads from their nodes (registered by an announce): the third publishes
    for (const user of ['bob', 'carol']) {
      const token = await tt.tokenFor(user)
      const peerId = await newPeerId()
      const a = await call(tt.url, 'POST', '/api/v1/swarm/announce', { token, json: await withProof({ image: IMAGE, version: ws.version, peerId, site: 'branch-rec', addrs: [], ...haveOf(ids.length, [0]) }, Date.now()) })
      assert.is(a.status, 200, JSON.stringify(a.body))
      const r = await call(tt.url, 'POST', `${base}/candidates`, { token, json: { clientId: peerId, chunks: held!.chunks, end: 'agent', durationMs: held!.durationMs } })
      assert.is(r.status, 200, JSON.stringify(r.body))
    }
    const listed = (await call(tt.url, 'GET', `${base}/candidates`, { token: tt.adminToken })).body
    assert.is(listed.published, 'auto')
    const keys = await admin.json<{ repository: { publicKey: string } }>('GET', '/api/v1/repository')
    const access = await admin.json<OriginAccess>('POST', `/api/v1/images/${IMAGE}/origin-token`, { json: { clientId: 'profrec-test' } })
    const profile = await fetchBootProfile(access, { publicKey: importPublicKey(keys.repository.publicKey), manifestDigest: v.manifestId! })
    assert.equal(profile?.chunks, held!.chunks, 'the published profile is the agreed recording, signed by the repository key')

    // 3. erin boots lazily after publication: its pull takes the profile, and it hands in nothing
    const erin = await lazyBoot('erin')
    await until(async () => {
      await erin.flushEvents({ signal: AbortSignal.timeout(30_000) })
      return (await events('profile.recorded')).some((e) => e.clientId === erin.peerId)
    }, BOOT_TIMEOUT_MS, 1000, 'erin\'s boot to be recorded')
    assert.is((await events('profile.submitted')).filter((e) => e.clientId === erin.peerId).length, 0, 'a profiled version takes no recording')
    assert.equal((await tt.tracker.components.store.listBootProfileCandidates(v.id)), [])
    assert.is((await tt.tracker.components.store.getBootProfile(v.id))?.source, 'auto')
  } finally {
    for (const n of nodes) await n.stop().catch(() => {})
    for (const dir of dirs) {
      const record = await readFile(join(dir, 'sessions', IMAGE, 'session.json'), 'utf8').then((t) => JSON.parse(t) as { pid: number }, () => undefined)
      if (record !== undefined) try { process.kill(record.pid, 'SIGKILL') } catch {}
      await rm(dir, { recursive: true, force: true })
    }
    await tt.stop()
  }
})

test.run()
