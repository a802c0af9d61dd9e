/**
 * Limits of the delta formats, each with why. Operators find them in protocol/README.md.
 */
import { MAX_CHUNK_BYTES_CEILING } from '../chunking/chunking-params.ts'

/**
 * Most bases one delta names. The dictionary is their concatenation, so a decoder holds at
 * most this many chunks plus the target: 4 × 256 KiB at the default chunking. Three bases
 * reached the floor in the experiment; a fourth is headroom.
 */
export const MAX_DELTA_BASES = 4
/** Largest target or base chunk a delta may name: the chunking ceiling. */
export const MAX_DELTA_CHUNK_BYTES = MAX_CHUNK_BYTES_CEILING
/**
 * Largest zstd frame in a delta. A delta is only worth storing when smaller than its target,
 * and a frame of a 4 MiB chunk is below 4 MiB + zstd's worst-case expansion (< 0.4 %).
 */
export const MAX_DELTA_FRAME_BYTES = MAX_DELTA_CHUNK_BYTES + 64 * 1024
/** zstd level for deltas: computed once at publish time, so the slow levels pay (bench/RESULTS.md, "Delta chunks"). */
export const DEFAULT_DELTA_LEVEL = 19
/**
 * Entries in one delta index: one per (target, base set). 2^22 covers every chunk of a
 * 256 GiB image twice over at 64 KiB; more is a hostile or broken index.
 */
export const MAX_DELTA_INDEX_ENTRIES = 1 << 22
