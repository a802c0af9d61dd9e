/**
 * Content-defined chunking parameters. They are recorded in every manifest: two versions
 * share chunks only when chunked with the same parameters.
 */
export interface ChunkingParams {
  minBytes: number
  avgBytes: number
  maxBytes: number
}

/**
 * Tens of KiB on average so that versions of an image share most chunks (cf. casync's 64 KiB).
 * min = avg / 2: the first minBytes of a chunk are skipped without hashing, which made
 * chunk+hash ~8 % faster than min = avg / 4 for 0.4–0.7 points less shared data
 * (bench/RESULTS.md, "Chunking").
 */
export const DEFAULT_CHUNKING: Readonly<ChunkingParams> = Object.freeze({
  minBytes: 32 * 1024,
  avgBytes: 64 * 1024,
  maxBytes: 256 * 1024
})

/** Hard bounds any party accepts, so a hostile manifest cannot ask for giant chunks. */
export const MIN_CHUNK_BYTES_FLOOR = 64
export const MAX_CHUNK_BYTES_CEILING = 4 * 1024 * 1024

export function validateChunkingParams (p: ChunkingParams): ChunkingParams {
  const ok = Number.isSafeInteger(p.minBytes) && Number.isSafeInteger(p.avgBytes) && Number.isSafeInteger(p.maxBytes) &&
    p.minBytes >= MIN_CHUNK_BYTES_FLOOR && p.minBytes < p.avgBytes && p.avgBytes < p.maxBytes &&
    p.maxBytes <= MAX_CHUNK_BYTES_CEILING && (p.avgBytes & (p.avgBytes - 1)) === 0
  if (!ok) throw new TypeError(`invalid chunking parameters ${JSON.stringify(p)}: need ${MIN_CHUNK_BYTES_FLOOR} <= min < avg < max <= ${MAX_CHUNK_BYTES_CEILING}, avg a power of two`)
  return { minBytes: p.minBytes, avgBytes: p.avgBytes, maxBytes: p.maxBytes }
}
