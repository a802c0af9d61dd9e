import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { randomBytes } from 'node:crypto'
import * as fsp from 'node:fs/promises'
import { join } from 'node:path'
import { createChunkStore } from '../../../../protocol/store/chunk-store.ts'
import type { ChunkStore, ChunkStoreFs } from '../../../../protocol/store/chunk-store.ts'
import { createLogger } from '../../../../protocol/logger.ts'
import { rejects } from '../../../helpers/rejects.ts'
import { withTmpDir } from '../../../helpers/tmp-dir.ts'
import { withTmpfs } from '../../../helpers/tmpfs.ts'

const logger = createLogger({ level: 'silent' })

async function chunkFiles (root: string): Promise<string[]> {
  const out: string[] = []
  for (const d of await fsp.readdir(join(root, 'chunks'))) out.push(...await fsp.readdir(join(root, 'chunks', d)))
  return out.sort()
}

/** Nothing half-written: tmp/ empty, chunks/ holds exactly the accounted chunks, each readable. */
async function assertConsistent (store: ChunkStore): Promise<void> {
  assert.equal(await fsp.readdir(join(store.dir, 'tmp')), [])
  assert.equal(await chunkFiles(store.dir), [...store.ids()].sort())
  for (const id of store.ids()) await store.get(id)
}

test('disk full on a real 256 KiB tmpfs → ERR_DISK_FULL, nothing left behind, usable after space is freed', async () => {
  const outcome = await withTmpfs(256 * 1024, async (dir) => {
    const store = await createChunkStore({ dir, logger })
    const chunks = Array.from({ length: 4 }, () => randomBytes(100 * 1024)) // incompressible: stored raw
    const stored: string[] = []
    let failedAt = -1
    for (const [i, c] of chunks.entries()) {
      try {
        stored.push((await store.put(c)).id)
      } catch (err) {
        const e = err as { code?: string, peerFault?: boolean }
        assert.is(e.code, 'ERR_DISK_FULL')
        assert.is(e.peerFault, false)
        failedAt = i
        break
      }
    }
    assert.ok(failedAt >= 1, `expected ENOSPC after at least one chunk (failed at ${failedAt})`)
    const usedBefore = store.usedBytes
    assert.is(store.count, stored.length)
    await assertConsistent(store)
    // the failure is repeatable and still leaves nothing behind
    await rejects(store.put(chunks[failedAt]!), { code: 'ERR_DISK_FULL' })
    assert.is(store.usedBytes, usedBefore)
    await assertConsistent(store)
    // free space, then the same chunk goes in
    assert.ok(await store.delete(stored[0]!))
    const r = await store.put(chunks[failedAt]!)
    assert.is(r.stored, true)
    assert.ok(Buffer.from(await store.get(r.id)).equals(chunks[failedAt]!))
    await assertConsistent(store)
    return failedAt
  })
  if (outcome.mounted) console.log(`  disk full: real tmpfs (ENOSPC at chunk ${outcome.value + 1})`)
  else console.log(`  disk full: tmpfs not permitted (${outcome.reason}); covered by the injected-error tests below`)
})

type Stage = 'open' | 'write' | 'sync' | 'rename'
const errnoError = (code: string): Error => Object.assign(new Error(`${code}: injected`), { code })

/** node:fs/promises with one failure injected at `stage`, after writing half the bytes on 'write'. */
function failingFs (stage: Stage, code: string): ChunkStoreFs {
  return {
    ...fsp,
    rename: async (from, to) => {
      if (stage === 'rename' && String(from).includes(`${join('tmp', '')}`)) throw errnoError(code)
      return fsp.rename(from, to)
    },
    open: (async (path: string, flags?: string) => {
      if (flags !== 'wx') return fsp.open(path, flags)
      if (stage === 'open') throw errnoError(code)
      const handle = await fsp.open(path, flags)
      return new Proxy(handle, {
        get (target, prop) {
          if (prop === 'writeFile' && stage === 'write') {
            return async (data: Uint8Array) => {
              await target.writeFile(data.subarray(0, data.byteLength >> 1))
              throw errnoError(code)
            }
          }
          if (prop === 'sync' && stage === 'sync') return async () => { throw errnoError(code) }
          const v = Reflect.get(target, prop, target)
          return typeof v === 'function' ? v.bind(target) : v
        }
      })
    }) as ChunkStoreFs['open']
  }
}

const INJECTED: Array<{ stage: Stage, errno: string, code: string }> = [
  { stage: 'write', errno: 'ENOSPC', code: 'ERR_DISK_FULL' },
  { stage: 'write', errno: 'EDQUOT', code: 'ERR_DISK_FULL' },
  { stage: 'sync', errno: 'ENOSPC', code: 'ERR_DISK_FULL' },
  { stage: 'open', errno: 'ENOSPC', code: 'ERR_DISK_FULL' },
  { stage: 'rename', errno: 'ENOSPC', code: 'ERR_DISK_FULL' },
  { stage: 'write', errno: 'EIO', code: 'ERR_STORE_WRITE' },
  { stage: 'rename', errno: 'EACCES', code: 'ERR_STORE_WRITE' }
]
for (const c of INJECTED) {
  test(`injected ${c.errno} at ${c.stage} → ${c.code}, temp removed, nothing in chunks/`, () => withTmpDir(async (dir) => {
    const good = await createChunkStore({ dir, logger })
    const kept = await good.put(randomBytes(3000))
    const store = await createChunkStore({ dir, logger, fs: failingFs(c.stage, c.errno) })
    const bytes = randomBytes(50_000)
    const err = await rejects(store.put(bytes), { code: c.code }) as Error & { cause?: { code?: string } }
    assert.is(err.cause?.code, c.errno)
    assert.is(store.count, 1)
    assert.is(store.usedBytes, kept.diskBytes)
    await assertConsistent(store)
    // the same chunk through a healthy store
    assert.is((await good.put(bytes)).stored, true)
    await assertConsistent(good)
  }))
}

test.run()
