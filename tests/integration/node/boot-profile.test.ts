// Boot profiles end to end: recorded from real NBD reads (qemu-io as the guest), published
// by an admin (signed by the tracker), served by the origin, refused when tampered with or
// meant for another version, and used by a pull to fetch the profiled chunks first.
import { execFile } from 'node:child_process'
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createBootRecorder } from '../../../node/block/boot-recorder.ts'
import { imageBlockSource } from '../../../node/block/image-source.ts'
import { startNbdServer } from '../../../node/block/nbd-server.ts'
import { fetchBootProfile } from '../../../node/origin/index.ts'
import type { ImageVersion } from '../../../node/image-store/index.ts'
import { bootProfilePath, createApiClient, importPublicKey } from '../../../protocol/index.ts'
import type { OriginAccess } from '../../../protocol/index.ts'
import { publishAndAssign, randomImage, startTestNode } from '../../helpers/swarm.ts'
import type { TestNode, Workspace } from '../../helpers/swarm.ts'
import { makeTmpDir } from '../../helpers/tmp-dir.ts'
import { startTestTracker } from '../../helpers/tracker.ts'
import { startNginxOrigin } from '../../helpers/nginx.ts'
import { loadTrackerKeys } from '../../../tracker/keys.ts'
import { signOriginLink } from '../../../tracker/origin/index.ts'
import type { TestTracker } from '../../helpers/tracker.ts'

const run = promisify(execFile)
const IMAGE_BYTES = 4 * 2 ** 20

interface Ctx { tt: TestTracker, ws: Workspace, node: TestNode, version: ImageVersion, dir: string }

async function withPulledImage (fn: (ctx: Ctx) => Promise<void>): Promise<void> {
  const tt = await startTestTracker()
  const dir = await makeTmpDir('branchcast-profile-')
  try {
    const ws = await publishAndAssign(tt, { bytes: randomImage(IMAGE_BYTES) })
    const node = await startTestNode(tt, ws.userToken)
    try {
      await node.puller.pull({ image: ws.image })
      const version = (await node.images.versions(ws.image))[0]!
      await fn({ tt, ws, node, version, dir })
    } finally { await node.stop() }
  } finally {
    await tt.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

/** The unit ids covering `offset` in the version's table. */
function unitIdAt (v: ImageVersion, offset: number): string {
  const t = v.table
  let i = 0
  while (i + 1 < t.offsets.length && t.offsets[i + 1]! <= offset) i++
  return t.idAt(i)
}

test('the recorder lists chunks in first-read order, distinct, until stopped or full', async () => {
  await withPulledImage(async ({ ws, version, dir }) => {
    const stopRecording = new AbortController()
    const recorder = createBootRecorder(imageBlockSource(version, { size: IMAGE_BYTES }), { table: version.table, until: stopRecording.signal })
    const small = createBootRecorder(imageBlockSource(version, { size: IMAGE_BYTES }), { table: version.table, maxChunks: 2 })
    const server = await startNbdServer({ socketPath: join(dir, 'nbd.sock'), lookup: (n) => n === 'rec' ? recorder.source : n === 'small' ? small.source : undefined })
    try {
      const offsets = [IMAGE_BYTES - 4096, 0, 2 * 2 ** 20, IMAGE_BYTES - 4096, 0]
      const io = async (name: string, offs: number[]): Promise<void> => {
        await run('qemu-io', ['-r', '-f', 'raw', ...offs.flatMap((o) => ['-c', `read ${o} 512`]), `nbd+unix:///${name}?socket=${server.socketPath}`])
      }
      await io('rec', offsets)
      assert.ok(recorder.recording)
      stopRecording.abort() // the guest is up
      const rec = await recorder.done
      await io('rec', [1 * 2 ** 20]) // after the stop: not recorded
      const expected = [...new Set(offsets.map((o) => unitIdAt(version, o)))]
      assert.equal(rec.chunks, expected)
      assert.is(rec.end, 'signal')
      assert.equal(recorder.stop().chunks, expected, 'nothing recorded after the stop')

      await io('small', offsets)
      const full = await small.done
      assert.is(full.end, 'full')
      assert.equal(full.chunks, expected.slice(0, 2))
      assert.ok(ws.imageBytes.byteLength === IMAGE_BYTES)
    } finally { await server.close() }
  })
})

async function originAccess (tt: TestTracker, token: string, image: string): Promise<OriginAccess> {
  return await createApiClient({ baseUrl: tt.url, token }).json<OriginAccess>('POST', `/api/v1/images/${image}/origin-token`, { json: { clientId: 'profile-test' } })
}

test('only an admin publishes a profile, only of the version\'s chunks; tampered or other-version profiles are refused', async () => {
  await withPulledImage(async ({ tt, ws, version }) => {
    const admin = createApiClient({ baseUrl: tt.url, token: tt.adminToken })
    const user = createApiClient({ baseUrl: tt.url, token: ws.userToken })
    const chunks = [version.table.unitId(version.table.units - 1), version.table.unitId(0)]
    const path = `/api/v1/images/${ws.image}/versions/${ws.version}/boot-profile`
    const status = async (p: Promise<unknown>): Promise<number> => await p.then(() => 200, (err: { status: number }) => err.status)
    assert.is(await status(user.json('PUT', path, { json: { chunks } })), 403)
    assert.is(await status(admin.json('PUT', path, { json: { chunks: ['0'.repeat(64)] } })), 400)
    assert.is(await status(admin.json('PUT', path, { json: { chunks: [] } })), 400)
    const published = await admin.json<{ manifestDigest: string, chunks: number, path: string }>('PUT', path, { json: { chunks: [...chunks, chunks[0]!] } })
    assert.is(published.chunks, 2)
    assert.is(published.path, bootProfilePath(published.manifestDigest))

    const keys = await createApiClient({ baseUrl: tt.url, token: ws.userToken }).json<{ repository: { publicKey: string } }>('GET', '/api/v1/repository')
    const publicKey = importPublicKey(keys.repository.publicKey)
    const access = await originAccess(tt, ws.userToken, ws.image)
    const got = await fetchBootProfile(access, { publicKey, manifestDigest: published.manifestDigest })
    assert.equal(got?.chunks, chunks)

    // nginx serving the same store: the same profile under a signed link
    const linkSecret = (await loadTrackerKeys(tt.dataDir)).originLinkSecret
    const nginx = await startNginxOrigin({ dataDir: tt.dataDir, secret: linkSecret })
    try {
      const query = signOriginLink({ secret: linkSecret, clientId: 'node-a', image: ws.image, expiresAtSec: Math.floor(Date.now() / 1000) + 300 })
      const viaNginx = await fetchBootProfile({ originUrl: nginx.url, query: { ...query } }, { publicKey, manifestDigest: published.manifestDigest })
      assert.equal(viaNginx?.chunks, chunks)
    } finally { await nginx.stop() }

    // A second version: no profile (undefined), then v1's profile put in its place is refused.
    const ws2 = await publishAndAssign(tt, { bytes: randomImage(IMAGE_BYTES), user: 'bob' })
    const v2 = (await admin.json<{ versions: Array<{ version: number, manifestId: string }> }>('GET', `/api/v1/images/${ws.image}/versions`)).versions.find((v) => v.version === ws2.version)!
    const access2 = await originAccess(tt, ws2.userToken, ws.image)
    assert.is(await fetchBootProfile(access2, { publicKey, manifestDigest: v2.manifestId }), undefined)
    const store = join(tt.dataDir, 'store')
    await mkdir(dirname(join(store, bootProfilePath(v2.manifestId))), { recursive: true })
    await copyFile(join(store, published.path), join(store, bootProfilePath(v2.manifestId)))
    const refused = await fetchBootProfile(access2, { publicKey, manifestDigest: v2.manifestId }).then(() => 'accepted', (err: { code?: string }) => err.code)
    assert.is(refused, 'ERR_BOOT_PROFILE_TAMPERED')

    // Tampered on the origin: the order changed in the stored file.
    const file = join(store, published.path)
    const text = await readFile(file, 'utf8')
    await writeFile(file, text.replace(chunks[0]!, 'X').replace(chunks[1]!, chunks[0]!).replace('X', chunks[1]!))
    const tampered = await fetchBootProfile(access, { publicKey, manifestDigest: published.manifestDigest }).then(() => 'accepted', (err: { code?: string }) => err.code)
    assert.is(tampered, 'ERR_BOOT_PROFILE_TAMPERED')
  })
})

test('a pull with a boot profile fetches the profiled chunks first', async () => {
  const tt = await startTestTracker()
  try {
    const ws = await publishAndAssign(tt, { bytes: randomImage(IMAGE_BYTES) })
    // the profile: the image's last quarter, whose chunks a plain pull (ascending) takes last
    const probe = await startTestNode(tt, ws.userToken)
    let profileIds: string[]
    try {
      await probe.puller.pull({ image: ws.image })
      const t = (await probe.images.versions(ws.image))[0]!.table
      profileIds = Array.from({ length: t.units }, (_, u) => t.unitId(u)).slice(Math.floor(t.units * 3 / 4)).reverse()
    } finally { await probe.stop() }
    const admin = createApiClient({ baseUrl: tt.url, token: tt.adminToken })
    await admin.json('PUT', `/api/v1/images/${ws.image}/versions/${ws.version}/boot-profile`, { json: { chunks: profileIds } })

    for (const useProfile of [true, false]) {
      const node = await startTestNode(tt, ws.userToken)
      try {
        let heldAtHalf: boolean | undefined
        let version: ImageVersion | undefined
        await node.puller.pull({
          image: ws.image,
          bootProfile: useProfile,
          originRateBytesPerSec: 2 * 2 ** 20,
          onProgress: (p) => {
            if (p.phase !== 'transfer') return
            if (version === undefined) void node.images.versions(ws.image).then((vs) => { version ??= vs[0] })
            if (heldAtHalf === undefined && version !== undefined && p.doneBytes >= p.totalBytes * 0.6) {
              heldAtHalf = profileIds.every((id) => version!.has(version!.table.unitOfId(id)!))
            }
          }
        })
        assert.is(heldAtHalf, useProfile, useProfile ? 'the profiled chunks were all in before 60 % of the image' : 'without the profile the tail comes last')
      } finally { await node.stop() }
    }
  } finally { await tt.stop() }
})

test.run()
