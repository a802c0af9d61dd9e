// A node pulling an update takes delta chunks from the origin (docs/deltas.md): the real
// tracker computes them after the publish, the node finds the signed index, rebuilds each
// chunk from bases it holds and verifies it; every failure (a base gone or damaged here, a
// bad delta or index on the origin) ends in the whole chunk and a byte-identical image.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash } from 'node:crypto'
import { open, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { deltaIndexPath, deltaPath, verifyDeltaIndex } from '../../../protocol/index.ts'
import type { DeltaIndex } from '../../../protocol/index.ts'
import { unitOffset } from '../../../node/pull/chunk-table.ts'
import type { DryRunReport, EventSink } from '../../../node/pull/index.ts'
import { createControlClient, createControlServer, readControlFile } from '../../../node/control/index.ts'
import { describeDryRun } from '../../../node/cli/pull.ts'
import { createLogger } from '../../../protocol/logger.ts'
import { startTestTracker } from '../../helpers/tracker.ts'
import type { TestTracker } from '../../helpers/tracker.ts'
import { publishAndAssign, sampleImage, startTestNode } from '../../helpers/swarm.ts'
import type { TestNode, Workspace } from '../../helpers/swarm.ts'

const IMAGE_BYTES = 4 * 1024 * 1024
const silent = createLogger({ level: 'silent' })
let tt: TestTracker

test.before(async () => { tt = await startTestTracker() })
test.after(async () => { await tt?.stop() })

/** v2 of `v1`: a few bytes patched every 200 KiB ("an OS patch"), so most chunks change a little. */
function patched (v1: Uint8Array): Uint8Array {
  const v2 = Uint8Array.from(v1)
  for (let o = 777; o < v2.length; o += 200 * 1024) v2.set(Buffer.from('patched!'), o)
  return v2
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** Publishes v1 and v2 of `image`; v2's deltas are computed once the upload answered: waits for them. */
async function twoVersions (image: string, seed: number): Promise<{ v1: Workspace, v2: Workspace, index: DeltaIndex, indexPath: string }> {
  const bytes = sampleImage(IMAGE_BYTES, seed)
  // a user per image: the tracker caps the peer ids one user announces per site
  const v1 = await publishAndAssign(tt, { image, bytes, user: `user-${image}` })
  const v2 = await publishAndAssign(tt, { image, bytes: patched(bytes), user: `user-${image}` })
  await tt.tracker.components.repository.deltasIdle()
  const { store, chunks, keys } = tt.tracker.components
  const manifestId = (await store.getVersion((await store.getImage(image))!.id, v2.version))!.manifestId!
  const indexPath = join(chunks.dir, deltaIndexPath(manifestId))
  const index = verifyDeltaIndex(new Uint8Array(await readFile(indexPath)), { publicKey: keys.repository.publicKey, manifestDigest: manifestId })
  assert.ok(index.entries.length >= 5, `${index.entries.length} deltas for the update`)
  return { v1, v2, index, indexPath }
}

async function withNode (ws: Workspace, fn: (n: TestNode) => Promise<void>, events?: EventSink): Promise<void> {
  const n = await startTestNode(tt, ws.userToken, { events })
  try { await fn(n) } finally { await n.stop() }
}

test('an update comes as deltas against the version held: far fewer origin bytes, byte-identical image', async () => {
  const { v1, v2, index } = await twoVersions('up', 3)
  const completed: Array<Record<string, unknown>> = []
  await withNode(v1, async (n) => {
    const first = await n.puller.pull({ image: 'up', version: 1 })
    assert.is(first.deltas.chunks, 0, 'nothing to rebuild on a first pull')
    const r = await n.puller.pull({ image: 'up', version: 2 })
    assert.is(sha(await readFile(r.path)), v2.sha256)
    assert.is(r.deltas.indexEntries, index.entries.length)
    assert.is(r.deltas.chunks, index.entries.length, 'every delta of the index was usable and used')
    assert.is(r.deltas.refused + r.deltas.fallbacks, 0)
    assert.ok(r.deltaBytesFromOrigin > 0 && r.deltaBytesFromOrigin < r.bytesFromOrigin, JSON.stringify(r))
    assert.ok(r.decodedBytesFromDeltas > 20 * r.deltaBytesFromOrigin, `${r.decodedBytesFromDeltas} B rebuilt from ${r.deltaBytesFromOrigin} B of deltas`)
    assert.ok(r.decodedBytesFromDeltas <= r.decodedBytesFromOrigin)
    assert.ok(r.bytesFromOrigin < first.bytesFromOrigin / 5, `update ${r.bytesFromOrigin} B against a first pull of ${first.bytesFromOrigin} B`)
    const event = completed.find((p) => p.version === 2)
    assert.is(event?.deltaBytesFromOrigin, r.deltaBytesFromOrigin, 'pull.completed carries the delta bytes')
    assert.is(event?.decodedBytesFromDeltas, r.decodedBytesFromDeltas)
  }, { emit: (type, payload) => { if (type === 'pull.completed') completed.push(payload) } })
})

test('a base the node no longer holds, or holds damaged, gives the whole chunk', async () => {
  const { v1, v2, index } = await twoVersions('gone', 5)
  // deleted: the node holds no version the deltas were made against
  await withNode(v1, async (n) => {
    await n.puller.pull({ image: 'gone', version: 1 })
    assert.equal(await n.images.deleteVersions('gone', [1]), [1])
    const r = await n.puller.pull({ image: 'gone', version: 2 })
    assert.is(sha(await readFile(r.path)), v2.sha256)
    assert.is(r.deltas.indexEntries, index.entries.length)
    assert.is(r.deltas.chunks, 0)
    assert.is(r.deltaBytesFromOrigin, 0)
  })
  // damaged on disk: every base of the first delta overwritten in v1's file
  await withNode(v1, async (n) => {
    const first = await n.puller.pull({ image: 'gone', version: 1 })
    const held = (await n.images.versions('gone')).find((v) => v.version === 1)!
    const fh = await open(first.path, 'r+')
    try {
      const rot = Buffer.from('rotten bits')
      for (const b of index.entries[0]!.bases) await fh.write(rot, 0, rot.length, unitOffset(held.table, held.table.unitOfId(b)!) + 100)
    } finally { await fh.close() }
    const r = await n.puller.pull({ image: 'gone', version: 2 })
    assert.is(sha(await readFile(r.path)), v2.sha256)
    assert.ok(r.deltas.fallbacks >= 1, JSON.stringify(r.deltas))
    assert.is(r.deltas.refused, 0, 'our damaged base is not the origin\'s fault')
    assert.ok(r.deltas.chunks >= 1 && r.deltas.chunks < index.entries.length, JSON.stringify(r.deltas))
    assert.ok(n.corrupt.some((c) => c.version === 1), 'the damaged base was found and dropped from v1')
  })
})

test('a corrupt delta on the origin is refused and the chunk fetched whole', async () => {
  const { v1, v2, index } = await twoVersions('bad', 7)
  const dir = tt.tracker.components.chunks.dir
  // the same length, one byte flipped in the middle of each delta file
  for (const e of index.entries) {
    const p = join(dir, deltaPath(e.target, e.bases))
    const bytes = await readFile(p)
    bytes[bytes.length >> 1]! ^= 0x40
    await writeFile(p, bytes)
  }
  await withNode(v1, async (n) => {
    await n.puller.pull({ image: 'bad', version: 1 })
    const r = await n.puller.pull({ image: 'bad', version: 2 })
    assert.is(sha(await readFile(r.path)), v2.sha256)
    assert.is(r.deltas.chunks, 0)
    assert.is(r.deltas.refused, index.entries.length, 'each bad delta counted against the origin')
    assert.ok(r.failures.corrupt >= index.entries.length, 'as bad pieces')
    assert.ok(r.deltaBytesFromOrigin > 0, 'the refused deltas were on the wire')
  })
})

test('a tampered delta index is ignored: whole chunks, byte-identical image', async () => {
  const { v1, v2, indexPath } = await twoVersions('tampered', 9)
  const bytes = await readFile(indexPath)
  bytes[60]! ^= 0x01 // inside the first entry's target id: the signature no longer verifies
  await writeFile(indexPath, bytes)
  await withNode(v1, async (n) => {
    await n.puller.pull({ image: 'tampered', version: 1 })
    const r = await n.puller.pull({ image: 'tampered', version: 2 })
    assert.is(sha(await readFile(r.path)), v2.sha256)
    assert.is(r.deltas.indexEntries, 0)
    assert.is(r.deltas.chunks, 0)
    assert.is(r.deltaBytesFromOrigin, 0)
  })
})

test('a dry run through the control API says what the pull then does, and writes no image data', async () => {
  const { v1, v2, index } = await twoVersions('dry', 11)
  await withNode(v1, async (n) => {
    await n.puller.pull({ image: 'dry', version: 1 })
    const server = createControlServer({ dataDir: n.dataDir }, { pull: n.puller.pull, dryRun: n.puller.dryRun, images: async () => [], status: async () => { throw new Error('unused') }, logger: silent })
    await server.start()
    let dry: DryRunReport
    try {
      dry = await createControlClient(await readControlFile(n.dataDir)).pullDryRun('dry', { version: 2 })
    } finally { await server.stop() }
    assert.equal((await n.images.versions('dry')).map((v) => v.version), [1], 'no file for v2')
    assert.is(dry.deltaIndex, 'used')
    assert.is(dry.deltas.indexEntries, index.entries.length)
    assert.is(dry.deltas.chunks, index.entries.length)
    assert.ok(dry.copies.chunks > 0, JSON.stringify(dry))
    assert.is(dry.whole.chunks + dry.deltas.chunks, dry.network.chunks)
    assert.is(dry.held.bytes, 0)
    const text = describeDryRun(dry)
    assert.match(text, /as deltas .* from the origin for \d+ chunk/)
    for (const line of text.split('\n')) assert.ok(line.length <= 80, line)

    const r = await n.puller.pull({ image: 'dry', version: 2 })
    assert.is(sha(await readFile(r.path)), v2.sha256)
    assert.is(r.deltas.chunks, dry.deltas.chunks)
    assert.is(r.deltaBytesFromOrigin, dry.deltas.wireBytes)
    assert.is(r.decodedBytesFromDeltas, dry.deltas.bytes)
    assert.is(r.bytesFromLocal, dry.held.bytes + dry.copies.bytes)
    // alone in its swarm, the node takes the rest from the origin; the list parts the dry run cached are not fetched again
    assert.is(r.decodedBytesFromOrigin, dry.network.bytes)
  })
})

test.run()
