import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash } from 'node:crypto'
import { appendFile, mkdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createLogger } from '../../../protocol/logger.ts'
import { loadNodeConfig } from '../../../node/config.ts'
import { startNode } from '../../../node/daemon/index.ts'
import type { RunningNode } from '../../../node/daemon/index.ts'
import { startTestTracker } from '../../helpers/tracker.ts'
import type { TestTracker } from '../../helpers/tracker.ts'
import { publishAndAssign } from '../../helpers/swarm.ts'
import { makeTmpDir } from '../../helpers/tmp-dir.ts'

const logger = createLogger({ level: 'silent' })
const FILE_BYTES = 1536 * 1024
const FILES = 5
/** files 0..3 are in the seed directory; file 4 is only in the image */
const SEEDED = 4

/** Deterministic incompressible bytes. */
function noise (bytes: number, seed: string): Buffer {
  const out = Buffer.alloc(bytes)
  for (let o = 0, i = 0; o < bytes; o += 32, i++) createHash('sha256').update(`${seed}:${i}`).digest().copy(out, o)
  return out
}

/** An image laid out as a file system would: each file 4 KiB-aligned after a block of other data. */
function imageOf (files: Buffer[]): Uint8Array {
  return new Uint8Array(Buffer.concat(files.flatMap((f, i) => [noise(4096, `meta-${i}`), f, Buffer.alloc((4096 - f.length % 4096) % 4096)])))
}

function configFor (dataDir: string, tt: TestTracker, token: string, seeds: string[], seedReadBytesPerSec?: number) {
  return loadNodeConfig({ flags: { dataDir, tracker: tt.url, token, site: 'seeds', listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, autoDeliver: false, seeds, seedReadBytesPerSec }, env: {} })
}

async function fixture (seedDir: string): Promise<Buffer[]> {
  const files = Array.from({ length: FILES }, (_, i) => noise(FILE_BYTES + i * 1000, `file-${i}`))
  await mkdir(join(seedDir, 'sub'), { recursive: true })
  for (let i = 0; i < SEEDED; i++) await writeFile(join(seedDir, i % 2 === 0 ? 'sub' : '', `f${i}.bin`), files[i]!)
  return files
}

const seedPath = (dir: string, i: number): string => join(dir, i % 2 === 0 ? 'sub' : '', `f${i}.bin`)

interface Env { tt: TestTracker, dataDir: string, seedDir: string, node?: RunningNode }

/** A tracker, a data directory and a seed directory, all removed afterwards (and the node stopped). */
async function withEnv (fn: (env: Env) => Promise<void>): Promise<void> {
  const env: Env = { tt: await startTestTracker(), dataDir: await makeTmpDir('branchcast-seeds-node-'), seedDir: await makeTmpDir('branchcast-seeds-dir-') }
  try {
    await fn(env)
  } finally {
    await env.node?.stop()
    await env.tt.stop()
    await rm(env.dataDir, { recursive: true, force: true })
    await rm(env.seedDir, { recursive: true, force: true })
  }
}

test('a first pull with a seed directory takes most of the image from it, byte-identical; the index persists and re-reads only what changed', async () => {
  await withEnv(async (env) => {
    const { tt, dataDir, seedDir } = env
    const files = await fixture(seedDir)
    const bytes = imageOf(files)
    const ws = await publishAndAssign(tt, { bytes })
    let node = env.node = await startNode({ config: configFor(dataDir, tt, ws.userToken, [seedDir]), logger })
    await node.seeds.refresh({ signal: AbortSignal.timeout(60_000) })
    const s0 = node.seeds.status()
    assert.is(s0.files, SEEDED)
    assert.is(s0.filesRead, SEEDED)

    const r = await node.pull({ image: ws.image })
    assert.is(r.sha256, ws.sha256)
    assert.is(createHash('sha256').update(await readFile(r.path)).digest('hex'), ws.sha256)
    const seeded = SEEDED * FILE_BYTES
    assert.ok((r.bytesFromLocalSources.seed ?? 0) > 0.8 * seeded, `seed supplied ${r.bytesFromLocalSources.seed} of ${seeded} seeded bytes`)
    assert.ok(r.bytesFromOrigin < 0.45 * bytes.length, `origin sent ${r.bytesFromOrigin} of ${bytes.length}`)
    await node.stop()
    env.node = undefined

    // Restart: the index is read back from the data directory, nothing unchanged is read again.
    node = env.node = await startNode({ config: configFor(dataDir, tt, ws.userToken, [seedDir]), logger })
    assert.is(node.seeds.status().files, SEEDED, 'the index was loaded from disk')
    await node.seeds.refresh({ signal: AbortSignal.timeout(60_000) })
    assert.is(node.seeds.status().filesRead, 0, 'unchanged files (size, mtime, inode) are not re-read')
    assert.ok(node.seeds.status().imageChunks > 0, 'the pulled image is itself a source now')

    // One file changed, one removed: only the changed one is read; the removed one is dropped.
    await appendFile(seedPath(seedDir, 0), 'patched')
    await rm(seedPath(seedDir, 1))
    await node.seeds.refresh({ signal: AbortSignal.timeout(60_000) })
    const s2 = node.seeds.status()
    assert.is(s2.filesRead, 1)
    assert.is(s2.files, SEEDED - 1)
  })
})

test('a pull asked for as the node starts waits for the index\'s first pass instead of taking the seeded bytes from the origin', async () => {
  await withEnv(async (env) => {
    const { tt, dataDir, seedDir } = env
    const files = await fixture(seedDir)
    const ws = await publishAndAssign(tt, { bytes: imageOf(files) })
    // slow seed reads: the first pass takes seconds, and the pull is asked for at once
    const node = env.node = await startNode({ config: configFor(dataDir, tt, ws.userToken, [seedDir], 2 * 1024 * 1024), logger })
    assert.is(node.seeds.status().passes, 0)
    const r = await node.pull({ image: ws.image })
    assert.is(r.sha256, ws.sha256)
    assert.ok(node.seeds.status().passes >= 1)
    assert.ok((r.bytesFromLocalSources.seed ?? 0) > 0.8 * SEEDED * FILE_BYTES, `seed supplied ${r.bytesFromLocalSources.seed}`)
  })
})

test('seed files rewritten between indexing and the pull do not corrupt the image: those chunks come from the network', async () => {
  await withEnv(async (env) => {
    const { tt, dataDir, seedDir } = env
    const files = await fixture(seedDir)
    // a round mtime, so the rewrite below can put it back exactly
    await utimes(seedPath(seedDir, 0), 1_000_000_000, 1_000_000_000)
    const ws = await publishAndAssign(tt, { bytes: imageOf(files) })
    const node = env.node = await startNode({ config: configFor(dataDir, tt, ws.userToken, [seedDir]), logger })
    await node.seeds.refresh({ signal: AbortSignal.timeout(60_000) })
    assert.is(node.seeds.status().files, SEEDED)

    // file 0: other bytes, same size, same inode, mtime put back: only the chunk hash can tell
    const ino = (await stat(seedPath(seedDir, 0))).ino
    await writeFile(seedPath(seedDir, 0), noise(files[0]!.length, 'other'))
    await utimes(seedPath(seedDir, 0), 1_000_000_000, 1_000_000_000)
    assert.is((await stat(seedPath(seedDir, 0))).ino, ino)
    // file 1: rewritten plainly (its mtime moves): skipped by the size + mtime check
    await writeFile(seedPath(seedDir, 1), noise(files[1]!.length, 'other-1'))

    const r = await node.pull({ image: ws.image })
    assert.is(r.sha256, ws.sha256)
    assert.is(createHash('sha256').update(await readFile(r.path)).digest('hex'), ws.sha256)
    const seed = r.bytesFromLocalSources.seed ?? 0
    assert.ok(seed > 0 && seed <= files[2]!.length + files[3]!.length, `seed supplied ${seed}: only files 2 and 3 still match`)
    assert.ok(r.bytesFromOrigin > 2 * FILE_BYTES, `the rewritten files' chunks came from the origin (${r.bytesFromOrigin})`)
  })
})

test('the node\'s other images are a source: a second image sharing most of the first comes mostly from it', async () => {
  await withEnv(async (env) => {
    const { tt, dataDir } = env
    const files = Array.from({ length: FILES }, (_, i) => noise(FILE_BYTES, `img-${i}`))
    const a = await publishAndAssign(tt, { image: 'desk-a', bytes: imageOf(files) })
    const b = await publishAndAssign(tt, { image: 'desk-b', bytes: imageOf([noise(300_000, 'new'), ...files.slice(1)]) })
    const node = env.node = await startNode({ config: configFor(dataDir, tt, a.userToken, []), logger })
    assert.is((await node.pull({ image: 'desk-a' })).sha256, a.sha256)
    await node.seeds.refresh({ signal: AbortSignal.timeout(60_000) })
    assert.ok(node.seeds.status().imageChunks > 0)
    const r = await node.pull({ image: 'desk-b' })
    assert.is(r.sha256, b.sha256)
    assert.ok((r.bytesFromLocalSources.image ?? 0) > 0.8 * (FILES - 1) * FILE_BYTES, `other images supplied ${r.bytesFromLocalSources.image}`)
    assert.ok(r.bytesFromOrigin < 0.35 * b.imageBytes.length, `origin sent ${r.bytesFromOrigin} of ${b.imageBytes.length}`)
  })
})

test.run()
