/**
 * Resemblance sketches: which earlier chunks have the most content in common with a new
 * one, without comparing bytes. As in WAN-optimised backup replication (Shilane et al.,
 * FAST '12) and N-transform sketches (Broder): a gear rolling hash over every 32-byte
 * window, sampled where its low bits are zero (content-defined, so an insertion moves
 * samples with the content); for each of `FEATURES` transforms (a·h + b mod 2^32) the
 * largest transformed value over the samples is a feature. Two chunks sharing a fraction
 * p of their windows share each feature with probability ~p. Features are grouped into
 * `SUPER_FEATURES` super-features (a hash of `FEATURES_PER_SUPER` features each): an
 * exact match of one super-feature means the chunks very likely share most content, so a
 * hash map per super-feature finds candidates in O(1), and the count of equal features
 * ranks them.
 *
 * Pure functions over bytes; the index is plain typed arrays and maps, bounded by the
 * chunks its owner adds.
 */
import { createHash } from 'node:crypto'

export const FEATURES = 12
export const SUPER_FEATURES = 4
export const FEATURES_PER_SUPER = FEATURES / SUPER_FEATURES
/** One window position in 8 is sampled: the max over ~8 k samples of a 64 KiB chunk is as stable as over all, at an eighth of the multiplies. */
const SAMPLE_MASK = 0x7

/** Deterministic constants from SHA-256, so every party computes the same features. */
function constants (label: string, n: number): Uint32Array {
  const out = new Uint32Array(n)
  for (let i = 0; i < n; i += 8) {
    const d = createHash('sha256').update(`branchcast resemblance ${label} ${i}`).digest()
    for (let j = 0; j < 8 && i + j < n; j++) out[i + j] = d.readUInt32LE(j * 4)
  }
  return out
}
const GEAR = constants('gear', 256)
const MUL = constants('mul', FEATURES).map((a) => a | 1)
const ADD = constants('add', FEATURES)

export interface Sketch {
  /** `FEATURES` features */
  features: Uint32Array
  /** `SUPER_FEATURES` super-features */
  superFeatures: Uint32Array
}

/** The sketch of a chunk. ~1 ms for 64 KiB. */
export function sketch (bytes: Uint8Array): Sketch {
  const features = new Uint32Array(FEATURES)
  let h = 0
  let sampled = false
  for (let i = 0; i < bytes.length; i++) {
    h = ((h << 1) + GEAR[bytes[i]]) >>> 0
    if ((h & SAMPLE_MASK) !== 0 || i < 31) continue
    sampled = true
    for (let j = 0; j < FEATURES; j++) {
      const t = (Math.imul(MUL[j], h) + ADD[j]) >>> 0
      if (t > features[j]) features[j] = t
    }
  }
  if (!sampled) features.fill(0)
  const superFeatures = new Uint32Array(SUPER_FEATURES)
  for (let k = 0; k < SUPER_FEATURES; k++) {
    let s = 0x9e3779b9 + k
    for (let j = 0; j < FEATURES_PER_SUPER; j++) {
      s = Math.imul(s ^ features[k * FEATURES_PER_SUPER + j], 0x85ebca6b) >>> 0
      s = (s ^ (s >>> 13)) >>> 0
    }
    superFeatures[k] = s
  }
  return { features, superFeatures }
}

/** Equal features between two sketches (0..FEATURES): ~ FEATURES × the share of common content. */
export function resemblance (a: Sketch, b: Sketch): number {
  return equalFeatures(a.features, b.features)
}

function equalFeatures (a: Uint32Array, b: Uint32Array): number {
  let n = 0
  for (let j = 0; j < FEATURES; j++) if (a[j] === b[j]) n++
  return n
}

export interface SimilarChunk {
  handle: number
  /** equal features with the query */
  score: number
}

/**
 * Sketches of candidate bases, by handle (0, 1, 2, … in the order added: an index into the
 * owner's own table of ids). Features live in one flat typed array (48 bytes a chunk) and
 * one map entry per super-feature, so a pool of 2^18 chunks takes ~60 MiB. A later `add`
 * of the same super-feature wins, so add older versions first.
 */
export class ResemblanceIndex {
  private readonly bySuper: Array<Map<number, number>> = Array.from({ length: SUPER_FEATURES }, () => new Map())
  private features = new Uint32Array(FEATURES * 1024)
  private count = 0

  get size (): number { return this.count }

  /** Adds a sketch and returns its handle. */
  add (s: Sketch): number {
    const handle = this.count++
    if (this.count * FEATURES > this.features.length) {
      const grown = new Uint32Array(this.features.length * 2)
      grown.set(this.features)
      this.features = grown
    }
    this.features.set(s.features, handle * FEATURES)
    for (let k = 0; k < SUPER_FEATURES; k++) this.bySuper[k].set(s.superFeatures[k], handle)
    return handle
  }

  /** The features of `handle` (a view: do not keep it across `add`). */
  featuresOf (handle: number): Uint32Array {
    if (!Number.isSafeInteger(handle) || handle < 0 || handle >= this.count) throw new RangeError(`no handle ${handle}`)
    return this.features.subarray(handle * FEATURES, (handle + 1) * FEATURES)
  }

  /** Chunks sharing at least one super-feature with `s`, most equal features first. */
  candidates (s: Sketch): SimilarChunk[] {
    const seen = new Set<number>()
    for (let k = 0; k < SUPER_FEATURES; k++) {
      const h = this.bySuper[k].get(s.superFeatures[k])
      if (h !== undefined) seen.add(h)
    }
    const out: SimilarChunk[] = []
    for (const handle of seen) out.push({ handle, score: equalFeatures(s.features, this.featuresOf(handle)) })
    return out.sort((a, b) => b.score - a.score || a.handle - b.handle)
  }
}

/**
 * Picks up to `max` bases from `candidates` greedily by coverage: each next base is the
 * one with the most features equal to the target that no base picked so far already
 * matches, so a chunk made of two old ones gets both rather than two copies of one.
 */
export function pickBases (target: Sketch, candidates: ReadonlyArray<{ handle: number, features: Uint32Array }>, max: number): number[] {
  const covered = new Uint8Array(FEATURES)
  const picked: number[] = []
  const left = [...candidates]
  while (picked.length < max && left.length > 0) {
    let best = -1
    let bestGain = 0
    for (let i = 0; i < left.length; i++) {
      let gain = 0
      for (let j = 0; j < FEATURES; j++) if (covered[j] === 0 && left[i].features[j] === target.features[j]) gain++
      if (gain > bestGain) { bestGain = gain; best = i }
    }
    if (best < 0) break
    const c = left.splice(best, 1)[0]
    for (let j = 0; j < FEATURES; j++) if (c.features[j] === target.features[j]) covered[j] = 1
    picked.push(c.handle)
  }
  return picked
}
