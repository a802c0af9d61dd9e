import { createHash } from 'node:crypto'

/** Chunk id: lowercase hex SHA-256 of the uncompressed chunk bytes (64 characters). */
export type ChunkId = string

const CHUNK_ID_RE = /^[0-9a-f]{64}$/

/** True only for a well-formed id; anything else (path tricks, upper case, short) is refused. */
export function isChunkId (value: unknown): value is ChunkId {
  return typeof value === 'string' && CHUNK_ID_RE.test(value)
}

export function chunkId (bytes: Uint8Array): ChunkId {
  return createHash('sha256').update(bytes).digest('hex')
}

/** Relative path of a chunk in a chunk store: `chunks/<2 hex>/<64 hex>`. */
export function chunkPath (id: ChunkId): string {
  if (!isChunkId(id)) throw new TypeError('not a chunk id')
  return `chunks/${id.slice(0, 2)}/${id}`
}
