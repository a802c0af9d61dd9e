import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash } from 'node:crypto'
import { copyFile, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createLogger } from '../../../protocol/logger.ts'
import { decodeManifest, encodeManifest, generateSigningKey } from '../../../protocol/index.ts'
import { writeBundle } from '../../../node/bundle/index.ts'
import { loadNodeConfig } from '../../../node/config.ts'
import { startNode } from '../../../node/daemon/index.ts'
import type { RunningNode } from '../../../node/daemon/index.ts'
import { startTestTracker } from '../../helpers/tracker.ts'
import { publishAndAssign, sampleImage } from '../../helpers/swarm.ts'
import { makeTmpDir } from '../../helpers/tmp-dir.ts'
import { runCli } from '../../helpers/cli.ts'

const logger = createLogger({ level: 'silent' })
const IMAGE_BYTES = 3 * 1024 * 1024
const env = { ...process.env, BRANCHCAST_LOG_LEVEL: 'warn', BRANCHCAST_NODE_DATA: '', BRANCHCAST_TRACKER: '', BRANCHCAST_TOKEN: '' }

function configFor (dataDir: string, tracker: string, token: string, keepVersions?: number) {
  return loadNodeConfig({ flags: { dataDir, tracker, token, site: 'branch-a', listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, autoDeliver: false, keepVersions }, env: {} })
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** `branchcast ARGS --data DIR --json`, parsed. */
async function cli (dir: string, ...args: string[]): Promise<{ code: number, out: any, stderr: string }> {
  const r = await runCli([...args, '--data', dir, '--json'], { env, timeoutMs: 120_000 })
  let out: any
  try { out = JSON.parse(r.stdout) } catch { out = r.stdout }
  return { code: r.code, out, stderr: r.stderr }
}

/** Where the first chunk payload of a bundle starts (read from its header, part table and index). */
async function firstPayload (path: string): Promise<{ offset: number, length: number }> {
  const b = await readFile(path)
  const rootBytes = b.readUInt32BE(8)
  const parts = b.readUInt32BE(12)
  let pos = 24 + rootBytes
  let partBytes = 0
  for (let i = 0; i < parts; i++) partBytes += b.readUInt32BE(pos + 4 * i)
  pos += 4 * parts + partBytes
  return { offset: Number(b.readBigUInt64BE(pos + 32)), length: b.readUInt32BE(pos + 40) }
}

/** Every file under `dir` with its size and hash: what "nothing on disk changed" compares. */
async function snapshot (dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const f of await readdir(dir, { recursive: true })) {
    // the event spool drains while we read, and the seed index is a cache the node rewrites
    if (f.startsWith('events') || f.startsWith('seeds.index')) continue
    const p = join(dir, f)
    if ((await stat(p)).isFile()) out[f] = sha256(await readFile(p))
  }
  return out
}

test('bundles: full and --since, imported online and offline; tampered chunks refused and refetched; bad bundles refused whole', async () => {
  const tt = await startTestTracker()
  let trackerUp = true
  const dirs = { a: await makeTmpDir('branchcast-bundle-a-'), b: await makeTmpDir('branchcast-bundle-b-'), c: await makeTmpDir('branchcast-bundle-c-'), out: await makeTmpDir('branchcast-bundle-out-') }
  const nodes: RunningNode[] = []
  try {
    const v1 = sampleImage(IMAGE_BYTES, 21)
    const v2 = v1.slice()
    // an update: a few regions rewritten, the rest shared
    for (const at of [100_000, 1_200_000, 2_500_000]) v2.set(sampleImage(40_000, at), at)
    const ws1 = await publishAndAssign(tt, { bytes: v1 })
    const ws2 = await publishAndAssign(tt, { bytes: v2 })
    assert.is(ws2.version, ws1.version + 1)
    // node A keeps one version: v1 is gone once it holds v2, so --since 1 reads v1's list from the tracker and origin
    const [a, b, c] = await Promise.all([dirs.a, dirs.b, dirs.c].map(async (d) => await startNode({ config: configFor(d, tt.url, ws1.userToken, d === dirs.a ? 1 : undefined), logger })))
    nodes.push(a!, b!, c!)

    // Node A holds v1, then v2; it writes a full bundle of v1 and one of v2 since v1.
    await a!.pull({ image: ws1.image, version: ws1.version })
    const full = join(dirs.out, 'v1.bundle')
    const made = await cli(dirs.a, 'bundle', ws1.image, '--version', '1', full)
    assert.is(made.code, 0, made.stderr)
    assert.is(made.out.version, 1)
    assert.is(made.out.since, null)
    assert.is((await stat(full)).size, made.out.fileBytes)
    await a!.pull({ image: ws2.image, version: ws2.version })
    assert.equal((await a!.images()).map((i) => i.version), [2])
    const delta = join(dirs.out, 'v2-since-1.bundle')
    const madeDelta = await cli(dirs.a, 'bundle', ws2.image, '--since', '1', delta)
    assert.is(madeDelta.code, 0, madeDelta.stderr)
    assert.is(madeDelta.out.version, 2)
    assert.ok(madeDelta.out.chunks > 0 && madeDelta.out.chunkBytes < made.out.chunkBytes / 2, `delta ${madeDelta.out.chunkBytes} B of a ${made.out.chunkBytes} B version`)

    // An existing OUT is refused without --force and left as it was; with --force it is replaced.
    const before = await readFile(delta)
    const again = await cli(dirs.a, 'bundle', ws2.image, '--since', '1', delta)
    assert.is(again.code, 1)
    assert.is(again.out.error.code, 'ERR_BUNDLE_EXISTS')
    assert.equal(await readFile(delta), before)
    const forced = await cli(dirs.a, 'bundle', ws2.image, '--since', '1', '--force', delta)
    assert.is(forced.code, 0, forced.stderr)
    assert.not.ok((await readdir(dirs.out)).some((f) => f.endsWith('.partial')), 'no partial file left')

    // A bundle with one chunk flipped: that chunk is refused and fetched from the origin (node A,
    // a peer holding it, is stopped), the rest is used.
    await a!.stop()
    nodes.splice(nodes.indexOf(a!), 1)
    const flipped = join(dirs.out, 'flipped.bundle')
    await copyFile(full, flipped)
    const p = await firstPayload(flipped)
    const bytes = await readFile(flipped)
    bytes[p.offset + (p.length >> 1)]! ^= 0x01
    await writeFile(flipped, bytes)
    const imported = await cli(dirs.b, 'import', flipped)
    assert.is(imported.code, 0, imported.stderr)
    assert.is(imported.out.bundle.refused, 1)
    assert.is(imported.out.sha256, ws1.sha256)
    assert.ok(imported.out.bytesFromOrigin > 0, 'the refused chunk came from the origin')
    assert.is(imported.out.bytesFromPeers, 0)
    assert.ok(imported.out.bundle.bytesUsed > 0 && imported.out.bytesFromOrigin < made.out.fileBytes / 4, `bundle supplied ${imported.out.bundle.bytesUsed} B, origin ${imported.out.bytesFromOrigin} B`)
    assert.is(sha256(await readFile(imported.out.path)), ws1.sha256)
    // the human form says so
    const human = await runCli(['import', flipped, '--data', dirs.c], { env })
    assert.is(human.code, 0, human.stderr)
    assert.match(human.stdout, /REFUSED\s+1 chunk\(s\)/)
    await rm(join(dirs.c, 'images'), { recursive: true, force: true }) // node C must start empty below
    await c!.stop()
    nodes.splice(nodes.indexOf(c!), 1)

    // v2 since v1 on a node holding v1: ready, and nothing more from the network.
    const up = await cli(dirs.b, 'import', delta)
    assert.is(up.code, 0, up.stderr)
    assert.is(up.out.version, 2)
    assert.is(up.out.sha256, ws2.sha256)
    assert.is(up.out.bundle.refused, 0)
    assert.is(up.out.bytesFromOrigin + up.out.bytesFromPeers, 0)
    assert.is(sha256(await readFile(up.out.path)), ws2.sha256)

    // Refused whole, nothing on disk touched: a truncated bundle, a forged manifest, a version below the floor.
    const held = await snapshot(dirs.b)
    const truncated = join(dirs.out, 'truncated.bundle')
    await copyFile(delta, truncated)
    await truncate(truncated, (await stat(delta)).size - 100)
    const t = await cli(dirs.b, 'import', truncated)
    assert.is(t.code, 1)
    assert.is(t.out.error.code, 'ERR_BUNDLE_TRUNCATED')
    assert.match(t.out.error.message, /truncated/)
    const forged = join(dirs.out, 'forged.bundle')
    const fb = await readFile(delta)
    const rootEnd = 24 + fb.readUInt32BE(8)
    fb[rootEnd - 1]! ^= 0x80 // the signature's last byte
    await writeFile(forged, fb)
    const f = await cli(dirs.b, 'import', forged)
    assert.is(f.code, 1)
    assert.is(f.out.error.code, 'ERR_MANIFEST_TAMPERED')
    assert.match(f.out.error.message, /bundle's manifest is refused/)
    // signed by a key this node did not pin (another repository)
    const otherKey = join(dirs.out, 'other-key.bundle')
    const { keyId: _k, ...body } = decodeManifest(fb.subarray(24, rootEnd))
    await writeBundle(otherKey, { root: encodeManifest(body, generateSigningKey().privateKey), parts: [], chunks: [], read: async () => new Uint8Array() })
    const k = await cli(dirs.b, 'import', otherKey)
    assert.is(k.code, 1)
    assert.is(k.out.error.code, 'ERR_MANIFEST_WRONG_KEY')
    const old = await cli(dirs.b, 'import', full)
    assert.is(old.code, 1)
    assert.is(old.out.error.code, 'ERR_MANIFEST_ROLLBACK')
    assert.equal(await snapshot(dirs.b), held)

    // Offline: the tracker (and its origin) stopped, a fresh node makes v1 ready from the bundle alone.
    await tt.stop()
    trackerUp = false
    const c2 = await startNode({ config: configFor(dirs.c, tt.url, ws1.userToken), logger })
    nodes.push(c2)
    const offline = await cli(dirs.c, 'import', full)
    assert.is(offline.code, 0, offline.stderr + JSON.stringify(offline.out))
    assert.is(offline.out.sha256, ws1.sha256)
    assert.is(offline.out.bytesFromOrigin, 0)
    assert.is(offline.out.bytesFromPeers, 0)
    assert.is(offline.out.bundle.refused, 0)
    assert.is(sha256(await readFile(offline.out.path)), ws1.sha256)
    assert.equal((await c2.images()).map((i) => i.version), [1])
  } finally {
    for (const n of nodes) await n.stop()
    if (trackerUp) await tt.stop()
    for (const d of Object.values(dirs)) await rm(d, { recursive: true, force: true })
  }
})

test.run()
