/**
 * The seed index on disk (`<dataDir>/seeds.index`): a compact binary file, written whole
 * and atomically, checked by a SHA-256 trailer. Pure encode/decode over plain data.
 *
 *   "BCSEED01"  u32 sets
 *   per set:    u32 minBytes, avgBytes, maxBytes, u32 files
 *   per file:   u16 path bytes, path (UTF-8), f64 size, f64 mtimeMs, f64 ino, u32 chunks
 *   per chunk:  32-byte id, f64 offset, u32 length
 *   trailer:    SHA-256 of everything before it
 *
 * All integers little-endian. 44 bytes a chunk.
 */
import { createHash } from 'node:crypto'
import { MAX_CHUNK_BYTES_CEILING, validateChunkingParams } from '../../protocol/index.ts'
import type { ChunkId, ChunkingParams } from '../../protocol/index.ts'
import { MAX_SEED_INDEX_FILES, MAX_SEED_PARAM_SETS, MAX_SEED_PATH_BYTES } from './constants.ts'

const MAGIC = Buffer.from('BCSEED01', 'latin1')
const CHUNK_BYTES = 44

/** One indexed file: what it was when read (size, mtime, inode) and its chunks, distinct ids. */
export interface SeedFile {
  path: string
  size: number
  mtimeMs: number
  ino: number
  ids: ChunkId[]
  offsets: number[]
  lengths: number[]
}

export interface SeedParamSet {
  params: ChunkingParams
  files: SeedFile[]
}

export class SeedIndexFileError extends Error {
  readonly code = 'ERR_SEED_INDEX_FILE'
  constructor (message: string) {
    super(message)
    this.name = 'SeedIndexFileError'
  }
}

/** The most bytes a valid index with these caps can take (reads are refused beyond it). */
export function maxIndexFileBytes (maxChunks: number): number {
  return MAGIC.length + 4 + MAX_SEED_PARAM_SETS * 16 + MAX_SEED_INDEX_FILES * (2 + 28) + maxChunks * CHUNK_BYTES + 32 + 16 * 1024 * 1024
}

export function encodeSeedIndex (sets: readonly SeedParamSet[]): Uint8Array {
  const paths = sets.map((s) => s.files.map((f) => Buffer.from(f.path, 'utf8')))
  let n = MAGIC.length + 4
  sets.forEach((s, i) => {
    n += 16
    s.files.forEach((f, j) => { n += 2 + paths[i]![j]!.length + 28 + f.ids.length * CHUNK_BYTES })
  })
  const out = Buffer.alloc(n + 32)
  let o = MAGIC.copy(out, 0)
  o = out.writeUInt32LE(sets.length, o)
  sets.forEach((s, i) => {
    o = out.writeUInt32LE(s.params.minBytes, o)
    o = out.writeUInt32LE(s.params.avgBytes, o)
    o = out.writeUInt32LE(s.params.maxBytes, o)
    o = out.writeUInt32LE(s.files.length, o)
    s.files.forEach((f, j) => {
      const p = paths[i]![j]!
      o = out.writeUInt16LE(p.length, o)
      o += p.copy(out, o)
      o = out.writeDoubleLE(f.size, o)
      o = out.writeDoubleLE(f.mtimeMs, o)
      o = out.writeDoubleLE(f.ino, o)
      o = out.writeUInt32LE(f.ids.length, o)
      for (let k = 0; k < f.ids.length; k++) {
        o += out.write(f.ids[k]!, o, 32, 'hex')
        o = out.writeDoubleLE(f.offsets[k]!, o)
        o = out.writeUInt32LE(f.lengths[k]!, o)
      }
    })
  })
  createHash('sha256').update(out.subarray(0, n)).digest().copy(out, n)
  return out
}

/** Parses an index; throws `SeedIndexFileError` on anything malformed (the caller rebuilds). */
export function decodeSeedIndex (bytes: Uint8Array, maxChunks: number): SeedParamSet[] {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (b.length < MAGIC.length + 4 + 32 || !b.subarray(0, MAGIC.length).equals(MAGIC)) throw new SeedIndexFileError('not a seed index')
  const body = b.subarray(0, b.length - 32)
  if (!createHash('sha256').update(body).digest().equals(b.subarray(b.length - 32))) throw new SeedIndexFileError('checksum mismatch')
  let o = MAGIC.length
  const need = (k: number): void => { if (o + k > body.length) throw new SeedIndexFileError('truncated') }
  need(4)
  const setCount = body.readUInt32LE(o); o += 4
  if (setCount > MAX_SEED_PARAM_SETS) throw new SeedIndexFileError('too many parameter sets')
  const sets: SeedParamSet[] = []
  let chunks = 0
  let files = 0
  for (let s = 0; s < setCount; s++) {
    need(16)
    let params: ChunkingParams
    try {
      params = validateChunkingParams({ minBytes: body.readUInt32LE(o), avgBytes: body.readUInt32LE(o + 4), maxBytes: body.readUInt32LE(o + 8) })
    } catch { throw new SeedIndexFileError('invalid chunking parameters') }
    const fileCount = body.readUInt32LE(o + 12); o += 16
    files += fileCount
    if (files > MAX_SEED_INDEX_FILES) throw new SeedIndexFileError('too many files')
    const set: SeedParamSet = { params, files: [] }
    for (let f = 0; f < fileCount; f++) {
      need(2)
      const pathBytes = body.readUInt16LE(o); o += 2
      if (pathBytes === 0 || pathBytes > MAX_SEED_PATH_BYTES) throw new SeedIndexFileError('bad path length')
      need(pathBytes + 28)
      const path = body.toString('utf8', o, o + pathBytes); o += pathBytes
      if (!path.startsWith('/') || path.includes('\0')) throw new SeedIndexFileError('bad path')
      const size = body.readDoubleLE(o)
      const mtimeMs = body.readDoubleLE(o + 8)
      const ino = body.readDoubleLE(o + 16)
      const n = body.readUInt32LE(o + 24); o += 28
      if (!Number.isSafeInteger(size) || size < 0 || !Number.isFinite(mtimeMs) || !Number.isFinite(ino)) throw new SeedIndexFileError('bad file record')
      chunks += n
      if (chunks > maxChunks) throw new SeedIndexFileError('more chunks than the cap')
      need(n * CHUNK_BYTES)
      const file: SeedFile = { path, size, mtimeMs, ino, ids: new Array(n), offsets: new Array(n), lengths: new Array(n) }
      for (let k = 0; k < n; k++) {
        const id = body.toString('hex', o, o + 32)
        const offset = body.readDoubleLE(o + 32)
        const length = body.readUInt32LE(o + 40); o += CHUNK_BYTES
        if (!Number.isSafeInteger(offset) || offset < 0 || length === 0 || length > MAX_CHUNK_BYTES_CEILING || offset + length > size) throw new SeedIndexFileError('bad chunk record')
        file.ids[k] = id
        file.offsets[k] = offset
        file.lengths[k] = length
      }
      set.files.push(file)
    }
    sets.push(set)
  }
  if (o !== body.length) throw new SeedIndexFileError('trailing bytes')
  return sets
}
