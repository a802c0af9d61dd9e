/**
 * Garbage collection of the chunk store: delete chunk files that no protecting version
 * references (drafts and published versions protect; retired ones for `retiredKeepMs`).
 *
 * Safe while publishes run, in this process or another on the same database: a file
 * modified at or after the GC horizon (the start of the oldest live upload lease) is never
 * deleted, and a publish refreshes the mtime of every chunk it finds already stored, so
 * everything a running publish has touched but not yet referenced is newer than the
 * horizon. In this process, pinned ids are skipped outright (chunk-pins.ts).
 */
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { isChunkId } from '../../protocol/index.ts'
import type { ChunkPins } from './chunk-pins.ts'
import { GC_QUERY_BATCH } from './constants.ts'
import type { GcResult, ImageRepositoryComponents } from './index.ts'

const FANOUT_RE = /^[0-9a-f]{2}$/

async function mtimeOf (path: string): Promise<{ mtimeMs: number, size: number } | undefined> {
  try {
    const st = await stat(path)
    return st.isFile() ? { mtimeMs: st.mtimeMs, size: st.size } : undefined
  } catch { return undefined }
}

export async function collectGarbage (components: ImageRepositoryComponents, pins: ChunkPins, opts: { retiredKeepMs: number, signal?: AbortSignal }): Promise<GcResult> {
  const { store, chunks } = components
  const started = performance.now()
  const nowMs = components.now()
  const deletedDrafts = await store.deleteAbandonedDrafts(nowMs)
  const horizonMs = await store.gcHorizonMs(nowMs)
  const retiredCutoffMs = nowMs - opts.retiredKeepMs
  const result: GcResult = { scannedChunks: 0, deletedChunks: 0, freedBytes: 0, keptRecent: 0, deletedDrafts, horizonMs, durationMs: 0 }

  const sweep = async (candidates: Map<string, number>): Promise<void> => {
    if (candidates.size === 0) return
    const unref = await store.unreferencedChunks([...candidates.keys()], { retiredCutoffMs })
    for (const id of unref) {
      opts.signal?.throwIfAborted()
      await pins.deleteUnpinned(id, async () => {
        // look again right before deleting: a publish may have refreshed it since the scan
        const now = await mtimeOf(chunks.pathOf(id))
        if (now === undefined) return
        if (now.mtimeMs >= horizonMs) { result.keptRecent++; return }
        if (await chunks.delete(id)) {
          result.deletedChunks++
          result.freedBytes += now.size
        }
      })
    }
  }

  const root = join(chunks.dir, 'chunks')
  let fanouts: string[] = []
  try { fanouts = (await readdir(root)).filter((n) => FANOUT_RE.test(n)).sort() } catch {}
  let batch = new Map<string, number>()
  for (const prefix of fanouts) {
    opts.signal?.throwIfAborted()
    let names: string[]
    try { names = await readdir(join(root, prefix)) } catch { continue }
    for (const name of names) {
      if (!isChunkId(name) || !name.startsWith(prefix)) continue
      const st = await mtimeOf(join(root, prefix, name))
      if (st === undefined) continue
      result.scannedChunks++
      if (st.mtimeMs >= horizonMs) { result.keptRecent++; continue }
      batch.set(name, st.size)
      if (batch.size >= GC_QUERY_BATCH) { await sweep(batch); batch = new Map() }
    }
  }
  await sweep(batch)
  result.durationMs = Math.round(performance.now() - started)
  return result
}
