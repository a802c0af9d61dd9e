import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { randomBytes } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { chunkId } from '../../../../protocol/store/chunk-id.ts'
import { decodeStoredChunk } from '../../../../protocol/store/chunk-codec.ts'
import { createChunkStore } from '../../../../protocol/store/chunk-store.ts'
import { createLogger } from '../../../../protocol/logger.ts'
import { withTmpDir } from '../../../helpers/tmp-dir.ts'

const logger = createLogger({ level: 'silent' })

/** Half compressible, half random, so both file forms race. */
function makeChunks (n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => i % 2 === 0
    ? randomBytes(2000 + i)
    : new TextEncoder().encode(`block ${i} `.repeat(300)))
}

/** Puts `chunks` into a store on `dir` from a worker thread; resolves to its put results. */
function putFromWorker (dir: string, chunks: Uint8Array[], timeoutMs = 10_000): Promise<Array<{ id: string, stored: boolean }>> {
  const code = `
    const { workerData, parentPort } = require('node:worker_threads')
    import(workerData.storeUrl).then(async ({ createChunkStore }) => {
      const store = await createChunkStore({ dir: workerData.dir, logger: { debug () {}, info () {}, warn () {}, error () {}, forComponent () { return this } } })
      const results = await Promise.all(workerData.chunks.map(c => store.put(c)))
      parentPort.postMessage(results.map(r => ({ id: r.id, stored: r.stored })))
    })`
  const worker = new Worker(code, { eval: true, workerData: { storeUrl: new URL('../../../../protocol/store/chunk-store.ts', import.meta.url).href, dir, chunks } })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error('worker timed out')); void worker.terminate() }, timeoutMs)
    worker.once('message', (m) => { clearTimeout(timer); resolve(m); void worker.terminate() })
    worker.once('error', (err) => { clearTimeout(timer); reject(err) })
  })
}

async function allChunkFiles (root: string): Promise<string[]> {
  const out: string[] = []
  for (const d of await readdir(join(root, 'chunks'))) out.push(...await readdir(join(root, 'chunks', d)))
  return out.sort()
}

test('many concurrent puts of one chunk in one store: one write, counted once', () => withTmpDir(async (dir) => {
  const store = await createChunkStore({ dir, logger })
  const bytes = randomBytes(10_000)
  const results = await Promise.all(Array.from({ length: 25 }, () => store.put(bytes)))
  assert.is(results.filter(r => r.stored).length, 1)
  assert.ok(results.every(r => r.id === chunkId(bytes) && r.diskBytes === 10_000))
  assert.is(store.count, 1)
  assert.is(store.usedBytes, 10_000)
  assert.equal(await readdir(join(dir, 'tmp')), [])
}))

test('two stores and a worker thread writing the same chunks: all succeed, every file valid', () => withTmpDir(async (dir) => {
  const chunks = makeChunks(60)
  const ids = chunks.map(chunkId)
  const a = await createChunkStore({ dir, logger })
  const b = await createChunkStore({ dir, logger })
  // readers never see a partial file: each get is the chunk or not-found, never corrupt
  let readerErrors = 0
  let reads = 0
  let writing = true
  const reader = (async () => {
    while (writing) {
      for (const id of ids) {
        try {
          await b.get(id)
          reads++
        } catch (err) {
          if ((err as { code?: string }).code !== 'ERR_CHUNK_NOT_FOUND') readerErrors++
        }
      }
      await new Promise(resolve => setImmediate(resolve))
    }
  })()
  const [fromA, fromB, fromWorker] = await Promise.all([
    Promise.all(chunks.map(c => a.put(c))),
    Promise.all([...chunks].reverse().map(c => b.put(c))),
    putFromWorker(dir, chunks)
  ])
  writing = false
  await reader
  assert.is(readerErrors, 0, 'a reader saw a corrupt or half-written file')
  for (const r of [...fromA, ...fromB, ...fromWorker]) assert.ok(ids.includes(r.id))
  assert.equal(await allChunkFiles(dir), [...ids].sort())
  for (const [i, id] of ids.entries()) {
    const file = await readFile(a.pathOf(id))
    assert.ok(Buffer.from(decodeStoredChunk(id, file)).equals(Buffer.from(chunks[i]!)))
  }
  assert.equal(await readdir(join(dir, 'tmp')), [])
  assert.equal(await readdir(join(dir, 'quarantine')), [])
  // each store counts each chunk once
  for (const s of [a, b]) {
    assert.is(s.count, 60)
    assert.is(s.usedBytes, (await createChunkStore({ dir, logger })).usedBytes)
  }
}))

test.run()
