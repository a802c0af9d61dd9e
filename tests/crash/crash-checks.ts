/**
 * What must hold after a kill -9 (issue 11, tests/crash/): the tracker's database opens,
 * every version it would present (finalized or published) is whole — its manifest verifies
 * and its chunks, read back from the store, hash to the image's SHA-256 — and the number
 * of kills per scenario (`CRASH_N`, default 3; `npm run crash -- --n 100`).
 */
import { createHash, createPublicKey } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createChunkStore } from '../../protocol/store/chunk-store.ts'
import { readChunkList } from '../../protocol/manifest/chunk-list.ts'
import { verifyManifest } from '../../protocol/manifest/manifest.ts'
import { createLogger } from '../../protocol/logger.ts'
import { openStore } from '../../tracker/db/index.ts'
import type { TrackerStore } from '../../tracker/db/store.ts'

export const CRASH_N = Math.max(1, Number(process.env.CRASH_N ?? 3))

/** A uniformly random integer in [0, max). */
export const randomBelow = (max: number): number => Math.floor(Math.random() * max)

export interface PresentedCheck {
  /** finalized or published versions checked whole */
  versions: number
  /** versions whose bytes did not hash to their manifest's image SHA-256 (must be 0) */
  corrupt: string[]
}

/** Opens the stopped tracker's database and chunk store and checks every presented version. */
export async function checkTrackerData (dataDir: string): Promise<PresentedCheck> {
  const store: TrackerStore = await openStore({ url: `sqlite:${join(dataDir, 'tracker.db')}` })
  const chunks = await createChunkStore({ dir: join(dataDir, 'store'), fsyncFiles: false, logger: createLogger({ level: 'silent' }) })
  const publicKey = createPublicKey(await readFile(join(dataDir, 'keys', 'repository.pem'), 'utf8'))
  const result: PresentedCheck = { versions: 0, corrupt: [] }
  try {
    for (const image of await store.listImages()) {
      for (const v of await store.listVersions(image.id)) {
        if (v.manifestRoot === null) continue // a draft still uploading when killed: never presented
        result.versions++
        const name = `${image.name} v${v.number}`
        try {
          const manifest = verifyManifest(v.manifestRoot, { publicKey, nowMs: Date.now() })
          const hash = createHash('sha256')
          for await (const ref of readChunkList(manifest, async (id) => await chunks.get(id))) hash.update(await chunks.get(ref.id))
          if (hash.digest('hex') !== manifest.imageSha256) result.corrupt.push(name)
        } catch (err) {
          result.corrupt.push(`${name}: ${(err as Error).message}`)
        }
      }
    }
  } finally {
    await store.close()
  }
  return result
}
