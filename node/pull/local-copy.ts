/**
 * Trim transfer: chunks the target version needs that an older version on this disk holds
 * are copied from that file instead of fetched. Reads go in source-offset order, adjacent
 * chunks coalesced into one positional read of up to LOCAL_COPY_READ_BYTES; each chunk is
 * checked against its id before it is written (a damaged one is discarded from its source
 * and fetched instead).
 */
import { LOCAL_COPY_READ_BYTES } from '../constants.ts'
import type { ImageStore, ImageVersion } from '../image-store/index.ts'
import { unitOffset } from './chunk-table.ts'
import type { LocalCopy } from './plan.ts'

export interface LocalCopyResult {
  copiedBytes: number
  /** target units whose local copy failed verification: fetch them */
  failed: number[]
}

export async function copyFromLocal (store: ImageStore, target: ImageVersion, sources: readonly ImageVersion[], copies: readonly LocalCopy[], options: { signal?: AbortSignal, onCopied?: (bytes: number) => void } = {}): Promise<LocalCopyResult> {
  const result: LocalCopyResult = { copiedBytes: 0, failed: [] }
  for (let s = 0; s < sources.length; s++) {
    const source = sources[s]!
    const mine = copies.filter((c) => c.source === s)
      .map((c) => ({ ...c, offset: unitOffset(source.table, c.sourceUnit), length: source.table.unitLengths[c.sourceUnit]! }))
      .sort((a, b) => a.offset - b.offset)
    for (let i = 0; i < mine.length;) {
      options.signal?.throwIfAborted()
      const start = mine[i]!.offset
      let end = start + mine[i]!.length
      let j = i + 1
      while (j < mine.length && mine[j]!.offset === end && end - start + mine[j]!.length <= LOCAL_COPY_READ_BYTES) end += mine[j++]!.length
      const range = await source.readRange(start, end - start)
      for (; i < j; i++) {
        const c = mine[i]!
        const bytes = range.subarray(c.offset - start, c.offset - start + c.length)
        if (!await store.verified(source, c.sourceUnit, bytes)) { result.failed.push(c.unit); continue }
        await target.put(c.unit, bytes)
        result.copiedBytes += c.length
        options.onCopied?.(c.length)
      }
    }
  }
  return result
}
