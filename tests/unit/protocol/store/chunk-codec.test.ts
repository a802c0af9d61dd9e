import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { randomBytes } from 'node:crypto'
import { zstdCompressSync } from 'node:zlib'
import { chunkId } from '../../../../protocol/store/chunk-id.ts'
import { decodeStoredChunk, encodeStoredChunk, startsWithZstdMagic, zstdWindowLogMax, ZSTD_MAGIC } from '../../../../protocol/store/chunk-codec.ts'
import { MAX_CHUNK_BYTES_CEILING } from '../../../../protocol/chunking/chunking-params.ts'
import { throwsCode } from '../../../helpers/rejects.ts'

const compressible = new TextEncoder().encode('branchcast '.repeat(4000))
const incompressible = randomBytes(64 * 1024)
// Raw chunk that begins with the zstd magic but is not a frame, and does not compress.
const magicRaw = Buffer.concat([ZSTD_MAGIC, randomBytes(1000)])

const ROUND_TRIPS: Array<{ name: string, bytes: Uint8Array, compressed: boolean }> = [
  { name: 'compressible', bytes: compressible, compressed: true },
  { name: 'incompressible', bytes: incompressible, compressed: false },
  { name: 'raw bytes starting with the zstd magic', bytes: magicRaw, compressed: false },
  { name: 'empty', bytes: new Uint8Array(0), compressed: false },
  { name: 'a zstd frame stored as a chunk of its own', bytes: zstdCompressSync(randomBytes(5000)), compressed: false }
]
for (const c of ROUND_TRIPS) {
  test(`round trip: ${c.name}`, () => {
    const stored = encodeStoredChunk(c.bytes)
    assert.is(startsWithZstdMagic(stored) && stored.byteLength < c.bytes.byteLength, c.compressed)
    if (!c.compressed) assert.is(stored, c.bytes, 'raw chunks are stored as is')
    assert.equal(Buffer.from(decodeStoredChunk(chunkId(c.bytes), stored)), Buffer.from(c.bytes))
  })
}

test('compress: false stores raw even when zstd would be smaller', () => {
  assert.is(encodeStoredChunk(compressible, { compress: false }), compressible)
})

test('decodes a compressed file an HTTP origin served as is', () => {
  const stored = encodeStoredChunk(compressible)
  assert.ok(stored.byteLength < compressible.byteLength / 10)
  assert.equal(Buffer.from(decodeStoredChunk(chunkId(compressible), new Uint8Array(stored))), Buffer.from(compressible))
})

// compresses to a few KiB, so a truncated frame is still a frame prefix
const mixed = Buffer.concat([compressible, randomBytes(2000)])
const bomb = zstdCompressSync(Buffer.alloc(64 * 1024 * 1024))
const CORRUPT: Array<{ name: string, id: string, stored: Uint8Array, maxBytes?: number }> = [
  { name: 'flipped byte in a raw chunk', id: chunkId(incompressible), stored: Buffer.from(incompressible).map((b, i) => i === 7 ? b ^ 1 : b) },
  { name: 'truncated zstd frame', id: chunkId(mixed), stored: encodeStoredChunk(mixed).subarray(0, 200) },
  { name: 'valid frame of other bytes', id: chunkId(compressible), stored: zstdCompressSync(Buffer.from('other')) },
  { name: 'zip bomb: 64 MiB of zeros in a small frame', id: chunkId(Buffer.alloc(64 * 1024 * 1024)), stored: bomb },
  { name: 'frame expanding past maxBytes', id: chunkId(compressible), stored: encodeStoredChunk(compressible), maxBytes: 1000 },
  { name: 'raw file larger than maxBytes', id: chunkId(incompressible), stored: incompressible, maxBytes: 1000 },
  { name: 'empty file for a non-empty chunk', id: chunkId(incompressible), stored: new Uint8Array(0) }
]
for (const c of CORRUPT) {
  test(`corrupt: ${c.name} → ERR_CHUNK_CORRUPT`, () => {
    assert.ok(bomb.byteLength < 64 * 1024)
    throwsCode(() => decodeStoredChunk(c.id, c.stored, c.maxBytes === undefined ? {} : { maxBytes: c.maxBytes }), 'ERR_CHUNK_CORRUPT')
  })
}

// A frame header with no content size and window descriptor `w` (2^(10 + (w >> 3)) bytes),
// then one raw last block holding "A".
const windowFrame = (w: number): Uint8Array => Uint8Array.of(...ZSTD_MAGIC, 0x00, w, 0x09, 0x00, 0x00, 0x41)
const WINDOWS: Array<[string, number, number | undefined]> = [
  ['128 MiB window, 4 MiB cap', 0x88, undefined],
  ['8 MiB window, 4 MiB cap', 0x68, undefined],
  ['1 MiB window, 64 KiB cap', 0x50, 64 * 1024]
]
for (const [name, w, maxBytes] of WINDOWS) {
  test(`a frame asking for a window larger than the cap needs is refused before zstd allocates it: ${name}`, () => {
    try {
      decodeStoredChunk(chunkId(Uint8Array.of(0x41)), windowFrame(w), maxBytes === undefined ? {} : { maxBytes })
      assert.unreachable('decoded')
    } catch (err) {
      assert.is((err as { code?: string }).code, 'ERR_CHUNK_CORRUPT')
      assert.match(String((err as Error).cause), /too much memory/, 'zstd refused the window')
    }
  })
}

test('every frame our encoder writes still decodes when the cap is its own length', () => {
  for (const n of [64, 1000, 65536, 65537, 300_000, MAX_CHUNK_BYTES_CEILING]) {
    const chunk = new Uint8Array(n).map((_, i) => (i % 251) & (i >> 9))
    const stored = encodeStoredChunk(chunk)
    assert.ok(startsWithZstdMagic(stored), `${n} bytes compress`)
    assert.equal(Buffer.from(decodeStoredChunk(chunkId(chunk), stored, { maxBytes: n })), Buffer.from(chunk), `${n} bytes`)
  }
  assert.equal([64, 65536, 65537, MAX_CHUNK_BYTES_CEILING].map(zstdWindowLogMax), [10, 16, 17, 22])
})

test('peerFault follows errorOptions (false for our own disk, true by default)', () => {
  const id = chunkId(incompressible)
  for (const [opts, expected] of [[{}, true], [{ errorOptions: { peerFault: false } }, false]] as const) {
    try {
      decodeStoredChunk(id, new Uint8Array(3), opts)
      assert.unreachable()
    } catch (err) {
      assert.is((err as { peerFault?: boolean }).peerFault, expected)
    }
  }
})

test('caller mistakes throw TypeError', () => {
  assert.throws(() => decodeStoredChunk('../x', new Uint8Array(0)), TypeError)
  assert.throws(() => decodeStoredChunk(chunkId(new Uint8Array(0)), 'abc' as unknown as Uint8Array), TypeError)
  assert.throws(() => decodeStoredChunk(chunkId(new Uint8Array(0)), new Uint8Array(0), { maxBytes: 0 }), TypeError)
  assert.throws(() => encodeStoredChunk([1, 2] as unknown as Uint8Array), TypeError)
})

test.run()
