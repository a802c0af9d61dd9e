/**
 * Deterministic bench inputs: an image-like blob (random, zero, repeated-pattern and
 * low-entropy regions, as in a VM disk) and a tar-like file tree, each with an edited
 * second version for measuring dedup. Same bytes on every run and machine.
 */
import { createCipheriv, createHash } from 'node:crypto'
import { createWriteStream, existsSync, mkdirSync, renameSync, statSync } from 'node:fs'
import { once } from 'node:events'
import { dirname } from 'node:path'

const KEY = createHash('sha256').update('branchcast bench key').digest().subarray(0, 16)

/** Pseudo-random bytes: AES-128-CTR keystream under a fixed key, `stream` picks the IV. */
export function keystream (length: number, stream: number): Buffer {
  const iv = Buffer.alloc(16)
  iv.writeUInt32BE(stream >>> 0, 0)
  iv.writeUInt32BE(Math.floor(stream / 2 ** 32) >>> 0, 4)
  return createCipheriv('aes-128-ctr', KEY, iv).update(Buffer.alloc(length))
}

/** Small deterministic PRNG for choices (xorshift32). */
export function prng (seed: number): () => number {
  let x = (seed | 0) || 1
  return () => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return (x >>> 0) / 2 ** 32 }
}

const BLOCK = 1024 * 1024
const PATTERNS = Array.from({ length: 16 }, (_, k) => keystream(4096, 1_000_000 + k))

/** One MiB block of an image-like blob: 40 % random, 25 % zero, 15 % repeated 4 KiB patterns, 20 % low-entropy text. */
export function imageBlock (index: number, seed = 1): Buffer {
  const r = prng(index * 7919 + seed * 104729 + 1)
  r(); r()
  const kind = r()
  if (kind < 0.40) return keystream(BLOCK, seed * 2 ** 24 + index)
  if (kind < 0.65) return Buffer.alloc(BLOCK)
  if (kind < 0.80) {
    const out = Buffer.allocUnsafe(BLOCK)
    for (let o = 0; o < BLOCK; o += 4096) PATTERNS[Math.floor(r() * PATTERNS.length)].copy(out, o)
    return out
  }
  const out = keystream(BLOCK, seed * 2 ** 24 + index)
  const alphabet = Buffer.from('etaoin shrdlucmfwypvbgkqjxz ETAOIN\n0123456789.,;:-_/()[]{}="<>')
  for (let i = 0; i < BLOCK; i++) out[i] = alphabet[out[i] & 63]
  return out
}

/** Writes (once) an image-like blob of `bytes` to `path`; reused when present with the right size. */
export async function ensureImageFile (path: string, bytes: number): Promise<void> {
  if (existsSync(path) && statSync(path).size === bytes) return
  mkdirSync(dirname(path), { recursive: true })
  const tmp = `${path}.tmp`
  const out = createWriteStream(tmp)
  for (let i = 0; i * BLOCK < bytes; i++) {
    const b = imageBlock(i)
    if (!out.write(b.subarray(0, Math.min(BLOCK, bytes - i * BLOCK)))) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
  renameSync(tmp, path)
}

export interface Versions {
  name: string
  describe: string
  v1: Uint8Array
  v2: Uint8Array
}

/** An image-like blob and the same image after clustered in-place 4 KiB writes and an append. */
export function imageVersions (bytes: number): Versions {
  const v1 = Buffer.concat(Array.from({ length: Math.ceil(bytes / BLOCK) }, (_, i) => imageBlock(i, 2))).subarray(0, bytes)
  const appendBytes = 16 * BLOCK
  const v2 = Buffer.alloc(bytes + appendBytes)
  v1.copy(v2)
  const r = prng(99)
  let written = 0
  const clusters = 200
  for (let k = 0; k < clusters; k++) {
    const blocks = 1 + Math.floor(r() * 16)
    const at = Math.floor(r() * (bytes / 4096 - blocks)) * 4096
    keystream(blocks * 4096, 5_000_000 + k).copy(v2, at)
    written += blocks * 4096
  }
  keystream(appendBytes, 6_000_000).copy(v2, bytes)
  return {
    name: `image ${bytes / BLOCK} MiB`,
    describe: `${clusters} clusters of 1–16 in-place 4 KiB writes (${(written / BLOCK).toFixed(1)} MiB) + 16 MiB appended`,
    v1,
    v2
  }
}

interface TreeFile { name: string, content: Buffer }

function tarLike (files: TreeFile[]): Buffer {
  const parts: Buffer[] = []
  for (const f of [...files].sort((a, b) => a.name < b.name ? -1 : 1)) {
    const header = Buffer.alloc(512)
    header.write(`${f.name}\0${f.content.length}\0`)
    parts.push(header, f.content, Buffer.alloc((512 - (f.content.length % 512)) % 512))
  }
  return Buffer.concat(parts)
}

/** A tree of files (log-uniform 1 KiB–2 MiB) serialised tar-like, and an edited version. */
export function treeVersions (fileCount: number): Versions {
  const r = prng(7)
  const files: TreeFile[] = []
  for (let i = 0; i < fileCount; i++) {
    const size = Math.floor(1024 * 2 ** (r() * 11))
    const content = r() < 0.5 ? keystream(size, 7_000_000 + i) : Buffer.from(imageBlock(i, 3).subarray(0, Math.min(size, BLOCK)))
    files.push({ name: `dir${i % 37}/file${i}.bin`, content: size > BLOCK && content.length < size ? Buffer.concat([content, keystream(size - content.length, 8_000_000 + i)]) : content })
  }
  const counts = { edited: 0, inserted: 0, appended: 0, deleted: 0, added: 0 }
  const next: TreeFile[] = []
  for (const [i, f] of files.entries()) {
    const x = r()
    let c = f.content
    if (x < 0.02) { counts.deleted++; continue }
    if (x < 0.12) { // overwrite a few ranges in place
      c = Buffer.from(c)
      for (let k = 0; k < 3; k++) {
        const n = Math.min(c.length, 1 + Math.floor(r() * 2000))
        keystream(n, 9_000_000 + i * 4 + k).copy(c, Math.floor(r() * (c.length - n)))
      }
      counts.edited++
    } else if (x < 0.17) { // insert in the middle
      const at = Math.floor(r() * c.length)
      c = Buffer.concat([c.subarray(0, at), keystream(1 + Math.floor(r() * 8000), 10_000_000 + i), c.subarray(at)])
      counts.inserted++
    } else if (x < 0.22) { // append
      c = Buffer.concat([c, keystream(1 + Math.floor(r() * 64 * 1024), 11_000_000 + i)])
      counts.appended++
    }
    next.push({ name: f.name, content: c })
  }
  for (let i = 0; i < fileCount / 50; i++) {
    next.push({ name: `new/file${i}.bin`, content: keystream(Math.floor(1024 * 2 ** (r() * 9)), 12_000_000 + i) })
    counts.added++
  }
  const v1 = tarLike(files)
  const v2 = tarLike(next)
  return {
    name: `file tree (${fileCount} files, tar-like)`,
    describe: `${counts.edited} files edited in place, ${counts.inserted} with an insertion, ${counts.appended} appended, ${counts.deleted} deleted, ${counts.added} added`,
    v1,
    v2
  }
}
