import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { chunkId, chunkStream, DEFAULT_CHUNKING } from '../../../protocol/index.ts'
import { createLogger } from '../../../protocol/logger.ts'
import { createSeedIndex, decodeSeedIndex, SEED_INDEX_FILE } from '../../../node/seeds/index.ts'
import type { SeedIndex, SeedIndexInit } from '../../../node/seeds/index.ts'
import { until } from '../../helpers/abuse.ts'
import { makeTmpDir } from '../../helpers/tmp-dir.ts'

const logger = createLogger({ level: 'silent' })

function noise (bytes: number, seed: string): Buffer {
  const out = Buffer.alloc(bytes)
  for (let o = 0, i = 0; o < bytes; o += 32, i++) createHash('sha256').update(`${seed}:${i}`).digest().copy(out, o)
  return out
}

async function chunkIds (bytes: Uint8Array): Promise<Array<{ id: string, length: number }>> {
  const out = []
  for await (const c of chunkStream((async function * () { yield bytes })(), DEFAULT_CHUNKING)) out.push({ id: c.id, length: c.length })
  return out
}

/** A data directory and a seed directory, removed afterwards; the index stopped. */
async function withIndex (init: Omit<SeedIndexInit, 'dataDir' | 'roots'> & { roots?: (seedDir: string, outside: string) => string[] }, fn: (ctx: { seedDir: string, outside: string, dataDir: string, index: () => SeedIndex }) => Promise<void>, prepare?: (seedDir: string, outside: string) => Promise<void>): Promise<void> {
  const dataDir = await makeTmpDir('branchcast-seedidx-data-')
  const seedDir = await makeTmpDir('branchcast-seedidx-seed-')
  const outside = await makeTmpDir('branchcast-seedidx-outside-')
  let index: SeedIndex | undefined
  try {
    await prepare?.(seedDir, outside)
    index = createSeedIndex({ ...init, dataDir, roots: init.roots?.(seedDir, outside) ?? [seedDir] }, { logger })
    await index.start()
    await fn({ seedDir, outside, dataDir, index: () => index! })
  } finally {
    await index?.stop()
    for (const d of [dataDir, seedDir, outside]) await rm(d, { recursive: true, force: true })
  }
}

// each file indexes to 25-27 chunks (its plain chunks and the shifted starts): one fits under 40, two do not
test('the cap is enforced: files beyond it are not indexed, the saved index stays within it, and space freed is used again', async () => {
  await withIndex({ maxChunks: 40 }, async ({ seedDir, dataDir, index }) => {
    await index().refresh({ signal: AbortSignal.timeout(60_000) })
    const s = index().status()
    assert.ok(s.full, 'status says the index is full')
    assert.ok(s.chunks <= 40 && s.chunks > 0, `${s.chunks} chunks`)
    assert.ok(s.files >= 1 && s.files < 3, `${s.files} files`)
    const saved = decodeSeedIndex(await readFile(join(dataDir, SEED_INDEX_FILE)), 40)
    const indexed = saved.flatMap((set) => set.files.map((f) => f.path))
    assert.is(indexed.length, s.files)
    // the indexed file goes: the next pass indexes one that did not fit
    for (const p of indexed) await rm(p)
    await index().refresh({ signal: AbortSignal.timeout(60_000) })
    const after = decodeSeedIndex(await readFile(join(dataDir, SEED_INDEX_FILE)), 40).flatMap((set) => set.files.map((f) => f.path))
    assert.ok(after.length >= 1 && after.every((p) => !indexed.includes(p)), after.join(','))
    assert.ok(index().status().chunks <= 40)
    assert.ok(after.every((p) => p.startsWith(seedDir)))
  }, async (seedDir) => {
    for (let i = 0; i < 3; i++) await writeFile(join(seedDir, `f${i}.bin`), noise(1024 * 1024, `cap-${i}`))
  })
})

test('links inside a root are not followed, special and empty files are skipped; a root that is a link or a file is taken', async () => {
  await withIndex({ roots: (seedDir, outside) => [join(outside, 'root-link'), join(outside, 'single.bin')] }, async ({ index }) => {
    await index().refresh({ signal: AbortSignal.timeout(60_000) })
    assert.is(index().status().files, 2, 'real.bin through the linked root, and the file root')
  }, async (seedDir, outside) => {
    await writeFile(join(seedDir, 'real.bin'), noise(100_000, 'real'))
    await writeFile(join(seedDir, 'empty'), '')
    await writeFile(join(outside, 'secret.bin'), noise(100_000, 'secret'))
    await mkdir(join(outside, 'dir'))
    await writeFile(join(outside, 'dir', 'x.bin'), noise(100_000, 'x'))
    await writeFile(join(outside, 'single.bin'), noise(100_000, 'single'))
    await symlink(join(outside, 'secret.bin'), join(seedDir, 'link-to-file'))
    await symlink(join(outside, 'dir'), join(seedDir, 'link-to-dir'))
    assert.is(spawnSync('mkfifo', [join(seedDir, 'fifo')]).status, 0)
    await symlink(seedDir, join(outside, 'root-link'))
  })
})

test('a pull during indexing uses what is indexed so far; stop cancels indexing at once and keeps what was done', async () => {
  const files = [noise(2 * 1024 * 1024, 'slow-0'), noise(6 * 1024 * 1024, 'slow-1')]
  await withIndex({ readBytesPerSec: 1024 * 1024 }, async ({ dataDir, index }) => {
    await until(() => index().status().files >= 1, 60_000, 20, 'the first file indexed')
    assert.ok(index().status().indexing, 'the pass is still running')
    const source = index().sources()[0]!
    assert.is(source.kind, 'seed')
    const ids = await chunkIds(files[0]!)
    const hits = ids.filter((c) => source.has(c.id))
    assert.ok(hits.length >= ids.length - 1, `${hits.length} of ${ids.length} chunks of the first file usable already`)
    for (const c of hits.slice(0, 3)) assert.is(chunkId((await source.read(c.id, c.length))!), c.id)
    assert.is(await source.read(hits[0]!.id, hits[0]!.length + 1), undefined, 'a length that does not match is not read')
    await index().stop()
    const s = index().status()
    assert.not.ok(s.indexing)
    assert.ok(s.bytesRead < files[0]!.length + files[1]!.length, 'the second file was not read to its end')
    const saved = decodeSeedIndex(await readFile(join(dataDir, SEED_INDEX_FILE)), 1_000_000)
    assert.is(saved.flatMap((set) => set.files).length, 1, 'what was indexed was saved at stop')
  }, async (seedDir) => {
    await writeFile(join(seedDir, 'a.bin'), files[0]!)
    await writeFile(join(seedDir, 'b.bin'), files[1]!)
  })
})

test.run()
