/**
 * Merging recorded boots into one profile (instant start): the rule that lets the tracker
 * publish a profile by itself without trusting any one node.
 *
 * - A chunk is kept when a strict majority of the recordings read it: one lying recording
 *   among three cannot add a chunk the others did not read (nor drop one they agree on).
 * - Kept chunks are ordered by the median of their positions over all recordings (a
 *   recording without the chunk counts as "after everything"): one liar cannot move a
 *   chunk beyond where the honest recordings put it. Ties: the earliest recording's
 *   position, then the chunk id, so the merge is a function of its input.
 *
 * Pure: plain arrays in, a plain array out.
 */

/** The merged profile of `recordings` (each: chunk ids in first-read order, distinct). */
export function mergeBootRecordings (recordings: ReadonlyArray<readonly string[]>): string[] {
  const k = recordings.length
  if (k === 0) return []
  const positions = new Map<string, number[]>()
  recordings.forEach((chunks, r) => {
    chunks.forEach((id, i) => {
      let p = positions.get(id)
      if (p === undefined) { p = new Array<number>(k).fill(Infinity); positions.set(id, p) }
      if (p[r] === Infinity) p[r] = i
    })
  })
  const kept: Array<{ id: string, median: number, first: number }> = []
  for (const [id, p] of positions) {
    const count = p.filter((x) => x !== Infinity).length
    if (count * 2 <= k) continue
    const sorted = [...p].sort((a, b) => a - b)
    // a strict majority holds the chunk, so both middle values are finite
    const median = k % 2 === 1 ? sorted[(k - 1) / 2]! : (sorted[k / 2 - 1]! + sorted[k / 2]!) / 2
    kept.push({ id, median, first: p.find((x) => x !== Infinity)! })
  }
  kept.sort((a, b) => a.median - b.median || a.first - b.first || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  return kept.map((x) => x.id)
}
