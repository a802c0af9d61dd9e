/**
 * Garbage collection of the chunk store: delete chunk files that no protecting version
 * references (drafts and published versions protect; retired ones for `retiredKeepMs`).
 *
 * Safe while publishes run, in this process or another on the same database: a file
 * modified at or after the GC horizon (the start of the oldest live upload lease) is never
 * deleted, and a publish refreshes the mtime of every chunk it finds already stored, so
 * everything a running publish has touched but not yet referenced is newer than the
 * horizon. In this process, pinned ids are skipped outright (chunk-pins.ts).
 *
 * Deltas (delta-publish.ts) go with their versions: a version's delta index
 * (`delta-indexes/…/<manifest digest>`) lives while its version protects its chunks, and a
 * delta (`deltas/…/<target>-<key>`) while its target chunk is in the store — the target is
 * what the delta rebuilds, and it stays exactly as long as a protecting version names it.
 * The same horizon rule keeps everything a running publish has just written.
 */
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { unlink } from 'node:fs/promises'
import { DELTA_FILE_RE, isChunkId } from '../../protocol/index.ts'
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

  let batch = new Map<string, number>()
  for await (const f of fannedFiles(join(chunks.dir, 'chunks'), opts.signal)) {
    if (!isChunkId(f.name) || !f.name.startsWith(f.prefix)) continue
    const st = await mtimeOf(f.path)
    if (st === undefined) continue
    result.scannedChunks++
    if (st.mtimeMs >= horizonMs) { result.keptRecent++; continue }
    batch.set(f.name, st.size)
    if (batch.size >= GC_QUERY_BATCH) { await sweep(batch); batch = new Map() }
  }
  await sweep(batch)
  const deltas = await collectDeltas(components, { horizonMs, retiredCutoffMs, signal: opts.signal })
  result.freedBytes += deltas.freedBytes
  result.durationMs = Math.round(performance.now() - started)
  return result
}

/** Every file directly under `<root>/<2 hex>/`, with its name, path and stat. */
async function * fannedFiles (root: string, signal?: AbortSignal): AsyncGenerator<{ name: string, prefix: string, path: string }> {
  let fanouts: string[] = []
  try { fanouts = (await readdir(root)).filter((n) => FANOUT_RE.test(n)).sort() } catch { return }
  for (const prefix of fanouts) {
    signal?.throwIfAborted()
    let names: string[]
    try { names = await readdir(join(root, prefix)) } catch { continue }
    for (const name of names) yield { name, prefix, path: join(root, prefix, name) }
  }
}

async function collectDeltas (components: ImageRepositoryComponents, opts: { horizonMs: number, retiredCutoffMs: number, signal?: AbortSignal }): Promise<{ deletedFiles: number, freedBytes: number }> {
  const { store, chunks } = components
  const out = { deletedFiles: 0, freedBytes: 0 }
  const remove = async (path: string, size: number): Promise<void> => {
    try {
      await unlink(path)
      out.deletedFiles++
      out.freedBytes += size
    } catch {}
  }
  const live = new Set<string>()
  for (const image of await store.listImages()) {
    for (const v of await store.listVersions(image.id)) {
      const protects = v.state !== 'retired' || (v.retiredAtMs ?? 0) > opts.retiredCutoffMs
      if (protects && v.manifestId !== null) live.add(v.manifestId)
    }
  }
  for await (const f of fannedFiles(join(chunks.dir, 'delta-indexes'), opts.signal)) {
    if (!isChunkId(f.name) || !f.name.startsWith(f.prefix) || live.has(f.name)) continue
    const st = await mtimeOf(f.path)
    if (st !== undefined && st.mtimeMs < opts.horizonMs) await remove(f.path, st.size)
  }
  for await (const f of fannedFiles(join(chunks.dir, 'deltas'), opts.signal)) {
    const m = DELTA_FILE_RE.exec(f.name)
    if (m === null || !m[1].startsWith(f.prefix)) continue
    if (await mtimeOf(chunks.pathOf(m[1])) !== undefined) continue
    const st = await mtimeOf(f.path)
    if (st !== undefined && st.mtimeMs < opts.horizonMs) await remove(f.path, st.size)
  }
  return out
}
