// Manifest size and update cost: `npx node bench/manifest/index.ts`.
//
// Synthesises chunk lists (no real data is chunked: ids are SHA-256 of a counter, lengths
// spread over 16..112 KiB, mean 64 KiB like the default FastCDC parameters) and compares
// three ways of shipping the chunk list behind one interface:
//   branchcast   signed root + content-defined list parts (protocol/chunk-list.ts)
//   fixed-parts  signed root + parts of a fixed 576 entries (same mean size, positional cuts)
//   flat         one signed list, fetched whole on every update
// For each: bytes per GiB of image, root size, and the bytes an update costs (root + parts
// the node does not hold yet) for three edits of a 64 GiB image.
import { createHash } from 'node:crypto'
import { createChunkListBuilder, readChunkList } from '../../protocol/manifest/chunk-list.ts'
import type { ChunkRef } from '../../protocol/manifest/chunk-list.ts'
import { DEFAULT_CHUNKING } from '../../protocol/chunking/chunking-params.ts'
import { decodeManifest, encodeManifest, verifyManifest } from '../../protocol/manifest/manifest.ts'
import type { ManifestBody, ManifestPart } from '../../protocol/manifest/manifest.ts'
import { generateSigningKey } from '../../protocol/signing/signing.ts'
import { varintLength, writeVarint } from '../../protocol/wire/varint.ts'

const GiB = 2 ** 30
const MiB = 2 ** 20
const key = generateSigningKey()
const NOW = Date.now()

interface Shipped {
  root: Uint8Array
  /** part id → size, the blobs a node fetches besides the root */
  parts: Map<string, number>
  partBytes: number
}

interface ListScheme {
  name: string
  ship: (refs: ChunkRef[]) => Shipped
}

let counter = 0
function newId (): string {
  return createHash('sha256').update(`chunk-${counter++}`).digest('hex')
}

/** Deterministic lengths in 16..112 KiB (mean 64 KiB); the last chunk trimmed to hit `totalBytes` exactly. */
function synthesise (totalBytes: number, seed = 1): ChunkRef[] {
  let x = seed
  const rand = (): number => { x = (x * 1103515245 + 12345) % 2147483648; return x / 2147483648 }
  const refs: ChunkRef[] = []
  let sum = 0
  while (sum < totalBytes) {
    const length = Math.min(totalBytes - sum, 16384 + Math.floor(rand() * 98304))
    refs.push({ id: newId(), length })
    sum += length
  }
  return refs
}

function body (refs: ChunkRef[], parts: ManifestPart[]): ManifestBody {
  return {
    image: 'bench-image',
    version: 1,
    totalBytes: refs.reduce((s, r) => s + r.length, 0),
    chunking: { ...DEFAULT_CHUNKING },
    chunkCount: refs.length,
    createdMs: NOW,
    expiresMs: NOW + 30 * 86_400_000,
    parts,
    imageSha256: 'a'.repeat(64)
  }
}

function encodeEntries (refs: ChunkRef[]): Uint8Array {
  let size = 4
  for (const r of refs) size += 32 + varintLength(r.length)
  const buf = new Uint8Array(size)
  buf.set([0x42, 0x43, 0x4c, 0x01])
  let pos = 4
  for (const r of refs) {
    buf.set(Buffer.from(r.id, 'hex'), pos)
    pos = writeVarint(buf, pos + 32, r.length)
  }
  return buf
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

const branchcast: ListScheme = {
  name: 'branchcast (content-defined parts)',
  ship (refs) {
    const b = createChunkListBuilder()
    const parts = new Map<string, number>()
    const listed: ManifestPart[] = []
    const take = (p: ReturnType<typeof b.finish>): void => {
      if (p === undefined) return
      parts.set(p.id, p.bytes.length)
      listed.push({ id: p.id, bytes: p.bytes.length, entries: p.entries })
    }
    for (const r of refs) take(b.add(r))
    take(b.finish())
    return { root: encodeManifest(body(refs, listed), key.privateKey), parts, partBytes: listed.reduce((s, p) => s + p.bytes, 0) }
  }
}

const fixedParts: ListScheme = {
  name: 'fixed-parts (576 entries, positional)',
  ship (refs) {
    const parts = new Map<string, number>()
    const listed: ManifestPart[] = []
    for (let i = 0; i < refs.length; i += 576) {
      const bytes = encodeEntries(refs.slice(i, i + 576))
      const id = sha(bytes)
      parts.set(id, bytes.length)
      listed.push({ id, bytes: bytes.length, entries: Math.min(576, refs.length - i) })
    }
    return { root: encodeManifest(body(refs, listed), key.privateKey), parts, partBytes: listed.reduce((s, p) => s + p.bytes, 0) }
  }
}

const flat: ListScheme = {
  name: 'flat (one signed list)',
  ship (refs) {
    // The root header plus every entry, signed as one blob: what a node refetches per update.
    const header = encodeManifest(body([], []), key.privateKey).length
    const list = encodeEntries(refs).length
    return { root: new Uint8Array(header + list), parts: new Map(), partBytes: 0 }
  }
}

const SCHEMES = [branchcast, fixedParts, flat]

/** Index of the chunk holding byte `offset`, and the offset that chunk starts at. */
function locate (refs: ChunkRef[], offset: number): [number, number] {
  let at = 0
  for (let i = 0; i < refs.length; i++) {
    if (at + refs[i].length > offset) return [i, at]
    at += refs[i].length
  }
  return [refs.length - 1, at - refs[refs.length - 1].length]
}

/** Content-defined chunking re-cuts the edited span plus a neighbour on each side. */
function editInPlace (refs: ChunkRef[], offset: number, bytes: number): ChunkRef[] {
  const [first] = locate(refs, offset)
  const [last] = locate(refs, offset + bytes)
  const from = Math.max(0, first - 1)
  const to = Math.min(refs.length - 1, last + 1)
  const span = refs.slice(from, to + 1).reduce((s, r) => s + r.length, 0)
  return [...refs.slice(0, from), ...resplit(span), ...refs.slice(to + 1)]
}

function insertAt (refs: ChunkRef[], offset: number, bytes: number): ChunkRef[] {
  const [i] = locate(refs, offset)
  return [...refs.slice(0, i), ...resplit(refs[i].length + bytes), ...refs.slice(i + 1)]
}

function resplit (span: number): ChunkRef[] {
  const out: ChunkRef[] = []
  let left = span
  let k = 0
  while (left > 0) {
    const length = left <= 112 * 1024 ? left : 16384 + ((k++ * 40503) % 65536)
    out.push({ id: newId(), length })
    left -= length
  }
  return out
}

function scattered (refs: ChunkRef[], edits: number, editBytes: number, totalBytes: number): ChunkRef[] {
  let out = refs
  for (let e = 0; e < edits; e++) out = replaceOne(out, Math.floor(((e + 0.5) / edits) * (totalBytes - editBytes)))
  return out
  function replaceOne (list: ChunkRef[], offset: number): ChunkRef[] {
    const [i] = locate(list, offset)
    // A 4 KiB write inside one chunk changes that chunk (its boundaries usually survive).
    list[i] = { id: newId(), length: list[i].length }
    return list
  }
}

const fmt = (n: number): string => n >= MiB ? `${(n / MiB).toFixed(2)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`

function updateCost (prev: Shipped, next: Shipped): { bytes: number, parts: number } {
  let bytes = next.root.length
  let parts = 0
  for (const [id, size] of next.parts) {
    if (!prev.parts.has(id)) { bytes += size; parts++ }
  }
  return { bytes, parts }
}

const lines: string[] = []
const out = (s: string): void => { lines.push(s); process.stdout.write(s + '\n') }

out(`Node ${process.version}, ${new Date().toISOString().slice(0, 10)}; synthetic chunk lists, lengths 16–112 KiB (mean 64 KiB).`)
out('')
out('| scheme | image | chunks | root | parts | root + parts | per GiB |')
out('| --- | --- | ---: | ---: | ---: | ---: | ---: |')
const sizes = [1 * GiB, 64 * GiB]
const lists = new Map<number, ChunkRef[]>()
for (const total of sizes) {
  const refs = synthesise(total, total / GiB)
  lists.set(total, refs)
  for (const s of SCHEMES) {
    const shipped = s.ship(refs)
    const all = shipped.root.length + shipped.partBytes
    out(`| ${s.name} | ${total / GiB} GiB | ${refs.length} | ${fmt(shipped.root.length)} | ${shipped.parts.size} (${fmt(shipped.partBytes)}) | ${fmt(all)} | ${fmt(all / (total / GiB))} |`)
  }
}

const big = lists.get(64 * GiB) as ChunkRef[]
const total = 64 * GiB
const EDITS: Array<[string, () => ChunkRef[]]> = [
  ['1 MiB rewritten in place (middle)', () => editInPlace(big, total / 2, MiB)],
  ['1 MiB inserted near the start', () => insertAt(big, 3 * MiB, MiB)],
  ['256 scattered 4 KiB writes (1 MiB)', () => scattered([...big], 256, 4096, total)]
]
out('')
out('Update of the 64 GiB image: bytes a node that holds the previous manifest fetches (new root + parts it lacks).')
out('')
out('| edit | scheme | parts fetched | update bytes | vs whole list |')
out('| --- | --- | ---: | ---: | ---: |')
const before = new Map(SCHEMES.map((s) => [s.name, s.ship(big)]))
for (const [name, edit] of EDITS) {
  const edited = edit()
  for (const s of SCHEMES) {
    const prev = before.get(s.name) as Shipped
    const next = s.ship(edited)
    const cost = updateCost(prev, next)
    const whole = next.root.length + next.partBytes
    out(`| ${name} | ${s.name} | ${cost.parts} | ${fmt(cost.bytes)} | ${(100 * cost.bytes / whole).toFixed(2)}% |`)
  }
}

// Time on the node and the tracker for the 64 GiB list (one core).
const t0 = performance.now()
const shipped = branchcast.ship(big)
const buildMs = performance.now() - t0
const store = new Map<string, Uint8Array>()
{
  const b = createChunkListBuilder()
  for (const r of big) { const p = b.add(r); if (p !== undefined) store.set(p.id, p.bytes) }
  const last = b.finish()
  if (last !== undefined) store.set(last.id, last.bytes)
}
const t1 = performance.now()
const m = verifyManifest(shipped.root, { publicKey: key.publicKey, nowMs: NOW })
let n = 0
for await (const _ of readChunkList(m, async (id) => store.get(id) as Uint8Array)) n++
const readMs = performance.now() - t1
const t2 = performance.now()
for (let i = 0; i < 100; i++) decodeManifest(shipped.root)
const decodeRootMs = (performance.now() - t2) / 100
out('')
out(`64 GiB list (${n} entries, ${m.parts.length} parts): build parts + sign root ${buildMs.toFixed(0)} ms; ` +
  `verify root + read and check every part ${readMs.toFixed(0)} ms; decode root alone ${decodeRootMs.toFixed(2)} ms.`)
