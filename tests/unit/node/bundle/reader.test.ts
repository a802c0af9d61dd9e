// The bundle format as a reader meets it: a round trip, every truncation, every header
// field and index entry broken, a flipped payload byte refused alone, OUT never clobbered.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { randomBytes } from 'node:crypto'
import { readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { chunkId, createChunkListBuilder, encodeManifest, generateSigningKey } from '../../../../protocol/index.ts'
import type { ListPart } from '../../../../protocol/index.ts'
import { openBundle, writeBundle } from '../../../../node/bundle/index.ts'
import { makeTmpDir } from '../../../helpers/tmp-dir.ts'
import { rejects } from '../../../helpers/rejects.ts'

const CHUNK_BYTES = 4096
// half compressible (zstd stored), half random (raw stored)
const chunks = Array.from({ length: 6 }, (_, i) => i % 2 === 0 ? new Uint8Array(CHUNK_BYTES).fill(i + 1) : new Uint8Array(randomBytes(CHUNK_BYTES)))
const ids = chunks.map((c) => chunkId(c))
const builder = createChunkListBuilder()
const parts: ListPart[] = []
for (const id of ids) { const p = builder.add({ id, length: CHUNK_BYTES }); if (p !== undefined) parts.push(p) }
parts.push(builder.finish()!)
const key = generateSigningKey()
const root = encodeManifest({
  image: 'desk', version: 3, totalBytes: CHUNK_BYTES * chunks.length, chunking: { minBytes: 1024, avgBytes: 4096, maxBytes: 16384 },
  chunkCount: chunks.length, createdMs: 1, expiresMs: Date.now() + 86_400_000, parts: parts.map((p) => ({ id: p.id, bytes: p.bytes.length, entries: p.entries }))
}, key.privateKey)

/** Same bytes, whatever the view type (zstd gives a Buffer, a raw read a Buffer slice). */
function same (actual: Uint8Array | undefined, expected: Uint8Array | undefined, msg?: string): void {
  assert.ok(actual !== undefined && expected !== undefined && Buffer.compare(actual, expected) === 0, msg ?? 'bytes differ')
}

async function withBundle (fn: (path: string, bytes: Buffer, dir: string) => Promise<void>): Promise<void> {
  const dir = await makeTmpDir('branchcast-bundle-unit-')
  try {
    const path = join(dir, 'b.bundle')
    await writeBundle(path, { root, parts: parts.map((p) => p.bytes), chunks: ids.map((id) => ({ id, length: CHUNK_BYTES })), read: async (id) => chunks[ids.indexOf(id)]! })
    await fn(path, await readFile(path), dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** Where the index starts: header, root, part table and parts. */
function indexAt (b: Buffer): number {
  let pos = 24 + b.readUInt32BE(8)
  const n = b.readUInt32BE(12)
  let sum = 0
  for (let i = 0; i < n; i++) sum += b.readUInt32BE(pos + 4 * i)
  return pos + 4 * n + sum
}

test('round trip: every chunk and part reads back verified; compressible chunks are stored smaller', async () => {
  await withBundle(async (path, bytes) => {
    const b = await openBundle(path)
    try {
      same(b.root, root)
      assert.is(b.manifest.version, 3)
      assert.is(b.source.kind, 'bundle')
      assert.is(b.source.chunks, chunks.length)
      for (const [i, id] of ids.entries()) same(await b.source.read(id, CHUNK_BYTES), chunks[i], id)
      assert.is(await b.source.read('0'.repeat(64), CHUNK_BYTES), undefined)
      same(await b.listPart(parts[0]!.id), parts[0]!.bytes)
      assert.is(await b.listPart('f'.repeat(64)), undefined)
      assert.is(b.source.refused.size, 0)
    } finally { await b.close() }
    assert.ok(bytes.length < root.length + CHUNK_BYTES * 4, `${bytes.length} bytes: the zstd chunks shrank`)
  })
})

test('list parts asked for at once all read back (the chunk list asks for them concurrently)', async () => {
  await withBundle(async (path) => {
    const b = await openBundle(path)
    try {
      const got = await Promise.all([...parts, ...parts].map(async (p) => await b.listPart(p.id)))
      got.forEach((bytes, i) => { same(bytes, parts[i % parts.length]!.bytes, `request ${i}`) })
    } finally { await b.close() }
  })
})

test('every truncation is refused whole with ERR_BUNDLE_TRUNCATED', async () => {
  await withBundle(async (path, bytes, dir) => {
    const cut = join(dir, 'cut.bundle')
    const step = Math.max(1, Math.floor(bytes.length / 97))
    for (let n = 0; n < bytes.length; n += step) {
      await writeFile(cut, bytes.subarray(0, n))
      await rejects(openBundle(cut), { code: 'ERR_BUNDLE_TRUNCATED' })
    }
  })
})

test('broken header fields and index entries are refused with ERR_BUNDLE_MALFORMED', async () => {
  await withBundle(async (path, bytes, dir) => {
    const at = indexAt(bytes)
    const cases: Array<[string, (b: Buffer) => void, string]> = [
      ['magic', (b) => { b[0] = 0x58 }, 'ERR_BUNDLE_MALFORMED'],
      ['format version', (b) => { b[4] = 2 }, 'ERR_BUNDLE_MALFORMED'],
      ['flags', (b) => { b[5] = 1 }, 'ERR_BUNDLE_MALFORMED'],
      ['reserved', (b) => { b[23] = 1 }, 'ERR_BUNDLE_MALFORMED'],
      ['root of 0 bytes', (b) => { b.writeUInt32BE(0, 8) }, 'ERR_BUNDLE_MALFORMED'],
      ['root larger than any manifest', (b) => { b.writeUInt32BE(0xffffffff, 8) }, 'ERR_BUNDLE_MALFORMED'],
      ['root that does not parse', (b) => { b[24] = 0 }, 'ERR_BUNDLE_MALFORMED'],
      ['more parts than the manifest', (b) => { b.writeUInt32BE(parts.length + 1, 12) }, 'ERR_BUNDLE_MALFORMED'],
      ['more chunks than the manifest', (b) => { b.writeUInt32BE(chunks.length + 1, 16) }, 'ERR_BUNDLE_MALFORMED'],
      ['a part of 0 bytes', (b) => { b.writeUInt32BE(0, 24 + root.length) }, 'ERR_BUNDLE_MALFORMED'],
      ['unknown compression', (b) => { b[at + 44] = 7 }, 'ERR_BUNDLE_MALFORMED'],
      ['index reserved byte', (b) => { b[at + 47] = 1 }, 'ERR_BUNDLE_MALFORMED'],
      ['stored length 0', (b) => { b.writeUInt32BE(0, at + 40) }, 'ERR_BUNDLE_MALFORMED'],
      ['stored length above maxBytes', (b) => { b.writeUInt32BE(16385, at + 40) }, 'ERR_BUNDLE_MALFORMED'],
      ['offset inside the index', (b) => { b.writeBigUInt64BE(BigInt(at), at + 32) }, 'ERR_BUNDLE_MALFORMED'],
      ['offset past the end', (b) => { b.writeBigUInt64BE(BigInt(b.length), at + 32) }, 'ERR_BUNDLE_TRUNCATED'],
      ['offset of 2^64 - 1', (b) => { b.writeBigUInt64BE(2n ** 64n - 1n, at + 32) }, 'ERR_BUNDLE_TRUNCATED'],
      ['an id indexed twice', (b) => { b.copy(b, at + 48, at, at + 32) }, 'ERR_BUNDLE_MALFORMED']
    ]
    const bad = join(dir, 'bad.bundle')
    for (const [name, breakIt, code] of cases) {
      const b = Buffer.from(bytes)
      breakIt(b)
      await writeFile(bad, b)
      const err = await rejects(openBundle(bad), { code })
      assert.ok(err.message.length > 10, name)
    }
  })
})

test('a flipped payload byte refuses that chunk alone; the others still read', async () => {
  await withBundle(async (path, bytes) => {
    const at = indexAt(bytes)
    for (const k of [0, 1]) { // a zstd-stored chunk and a raw one
      const b = Buffer.from(bytes)
      const offset = Number(b.readBigUInt64BE(at + 48 * k + 32))
      b[offset + (b.readUInt32BE(at + 48 * k + 40) >> 1)]! ^= 0x10
      await writeFile(path, b)
      const opened = await openBundle(path)
      try {
        const id = b.toString('hex', at + 48 * k, at + 48 * k + 32)
        assert.is(await opened.source.read(id, CHUNK_BYTES), undefined)
        assert.equal([...opened.source.refused], [id])
        for (const [i, other] of ids.entries()) if (other !== id) same(await opened.source.read(other, CHUNK_BYTES), chunks[i], other)
      } finally { await opened.close() }
    }
  })
})

test('an existing OUT is kept unless force; no partial file is left', async () => {
  await withBundle(async (path, bytes, dir) => {
    await writeFile(path, 'mine')
    const contents = { root, parts: parts.map((p) => p.bytes), chunks: ids.map((id) => ({ id, length: CHUNK_BYTES })), read: async (id: string) => chunks[ids.indexOf(id)]! }
    await rejects(writeBundle(path, contents), { code: 'ERR_BUNDLE_EXISTS' })
    assert.is(await readFile(path, 'utf8'), 'mine')
    await writeBundle(path, contents, { force: true })
    assert.is((await readFile(path)).length, bytes.length)
    // a read that fails mid-way leaves nothing behind
    await rejects(writeBundle(join(dir, 'other.bundle'), { ...contents, read: async () => { throw Object.assign(new Error('disk gone'), { code: 'EIO' }) } }), { code: 'EIO' })
    assert.equal((await readdir(dir)).sort(), ['b.bundle'])
  })
})

test.run()
