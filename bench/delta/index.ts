/**
 * Delta bench (issue 13): bytes a node holding v1 downloads for v2 of a realistic ext4
 * image pair (pair.ts), by Branchcast as a real node pull (node-pull.ts: tracker, built-in
 * origin and node, the report's wire bytes), by Branchcast computed from the chunk lists
 * (whole chunks, and delta chunks by the publisher's own `computeDeltas`), and by casync --seed,
 * zsync, rsync, rsync -z and fixed 4 MiB blocks, next to two floors: the changed files as
 * one zstd -3 stream, and `zstd --patch-from`. Every tool runs in this one run on the same
 * pair. Prints Markdown and writes it into the "Delta chunks (issue 13)" section of
 * bench/RESULTS.md. With DELTA_BENCH_PART=sizes: 16/32/64 KiB chunk averages against
 * manifest, delta and request costs, into their own section.
 *
 *   npm run bench -- delta                       (DELTA_BENCH_MB=300: file budget of the tree)
 *   DELTA_BENCH_PART=sizes npm run bench -- delta
 *   DELTA_BENCH_PART=node npm run bench -- delta   (the node pull alone, printed, RESULTS.md untouched)
 *
 * casync, zsync and rsync come from Debian (apt-get install -y casync zsync rsync, done
 * here when missing and running as root); CI does not run this bench.
 */
import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream, existsSync, mkdirSync, openSync, readFileSync, readSync, closeSync, readdirSync, rmSync, statSync, writeFileSync, copyFileSync, chmodSync } from 'node:fs'
import { createServer } from 'node:http'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { zstdCompressSync } from 'node:zlib'
import { chunkStream, createChunkListBuilder, encodeDeltaIndex, encodeManifest, encodeStoredChunk, generateSigningKey, DEFAULT_CHUNKING } from '../../protocol/index.ts'
import type { ChunkingParams, ChunkId } from '../../protocol/index.ts'
import { computeDeltas } from '../../tracker/repository/deltas.ts'
import { nodePull } from './node-pull.ts'
import type { NodePullResult } from './node-pull.ts'
import { buildPair } from './pair.ts'
import type { Pair } from './pair.ts'

const WORK = fileURLToPath(new URL('../.work/delta/', import.meta.url))
const RESULTS = fileURLToPath(new URL('../RESULTS.md', import.meta.url))
const BUDGET_MB = Number(process.env.DELTA_BENCH_MB ?? 300)
const LEVEL = Number(process.env.DELTA_BENCH_LEVEL ?? 19)
const MB = (n: number): string => (n / 1e6).toFixed(2)

interface Row { tool: string, bytes: number, requests?: number, seconds: number, note: string }

function sh (cmd: string, args: string[], opts: { cwd?: string } = {}): { stdout: string, stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...opts })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`)
  return { stdout: r.stdout, stderr: r.stderr }
}

function ensureTools (): void {
  const missing = ['casync', 'zsync', 'zsyncmake', 'rsync'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0)
  if (missing.length === 0) return
  if (process.getuid?.() !== 0) throw new Error(`missing ${missing.join(', ')}: apt-get install -y casync zsync rsync`)
  sh('apt-get', ['install', '-y', 'casync', 'zsync', 'rsync'])
}

const timed = <T>(fn: () => T): [T, number] => { const t = performance.now(); const r = fn(); return [r, (performance.now() - t) / 1000] }

// ---- Branchcast ------------------------------------------------------------------------

interface Chunked { ids: ChunkId[], lengths: number[], where: Map<ChunkId, number>, parts: Map<string, { bytes: number, entries: number }>, chunkCount: number, totalBytes: number }

async function chunkImage (path: string, params: ChunkingParams): Promise<Chunked> {
  const ids: ChunkId[] = []
  const lengths: number[] = []
  const where = new Map<ChunkId, number>()
  const parts = new Map<string, { bytes: number, entries: number }>()
  const builder = createChunkListBuilder()
  let totalBytes = 0
  for await (const c of chunkStream(createReadStream(path, { highWaterMark: 1 << 20 }), params)) {
    ids.push(c.id)
    lengths.push(c.length)
    if (!where.has(c.id)) where.set(c.id, c.offset)
    totalBytes += c.length
    const part = builder.add({ id: c.id, length: c.length })
    if (part !== undefined) parts.set(part.id, { bytes: part.bytes.byteLength, entries: part.entries })
  }
  const last = builder.finish()
  if (last !== undefined) parts.set(last.id, { bytes: last.bytes.byteLength, entries: last.entries })
  return { ids, lengths, where, parts, chunkCount: ids.length, totalBytes }
}

function reader (path: string, c: Chunked): (id: ChunkId) => Promise<Uint8Array> {
  const len = new Map<ChunkId, number>()
  c.ids.forEach((id, i) => len.set(id, c.lengths[i]))
  return async (id) => {
    const fd = openSync(path, 'r')
    try {
      const buf = Buffer.allocUnsafe(len.get(id) as number)
      readSync(fd, buf, 0, buf.length, c.where.get(id) as number)
      return buf
    } finally { closeSync(fd) }
  }
}

interface BranchcastResult { whole: Row, delta: Row, manifestBytes: number, indexBytes: number, deltas: number, newChunks: number, chunkCount: number, newBytes: number }

async function branchcast (pair: Pair, params: ChunkingParams): Promise<BranchcastResult> {
  const t0 = performance.now()
  const a = await chunkImage(pair.v1, params)
  const b = await chunkImage(pair.v2, params)
  const chunkSeconds = (performance.now() - t0) / 1000
  const key = generateSigningKey()
  const root = encodeManifest({ image: 'bench', version: 2, totalBytes: b.totalBytes, chunking: params, chunkCount: b.chunkCount, createdMs: 0, expiresMs: 1, parts: [...b.parts].map(([id, p]) => ({ id, ...p })) }, key.privateKey)
  const newParts = [...b.parts].filter(([id]) => !a.parts.has(id))
  const manifestBytes = root.byteLength + newParts.reduce((n, [, p]) => n + p.bytes, 0)
  const readA = reader(pair.v1, a)
  const readB = reader(pair.v2, b)
  const t1 = performance.now()
  let deltaFiles = 0
  const r = await computeDeltas({
    version: b.ids,
    earlier: [a.ids],
    read: async (id) => a.where.has(id) ? await readA(id) : await readB(id),
    write: async () => { deltaFiles++ },
    level: LEVEL
  })
  const deltaSeconds = (performance.now() - t1) / 1000
  const index = encodeDeltaIndex({ manifestDigest: createHash('sha256').update(root).digest('hex'), entries: r.entries }, key.privateKey)
  const wholeBytes = manifestBytes + r.newStoredBytes
  const deltaBytes = manifestBytes + index.byteLength + r.newStoredBytes - r.replacedStoredBytes + r.deltaBytes
  const requests = 1 + newParts.length + r.newChunks
  return {
    whole: { tool: `Branchcast whole chunks, computed (${params.avgBytes / 1024} KiB avg)`, bytes: wholeBytes, requests, seconds: chunkSeconds, note: `manifest root + ${newParts.length} changed list parts + ${r.newChunks} chunks, each zstd alone` },
    delta: { tool: `Branchcast delta chunks, computed (${params.avgBytes / 1024} KiB avg)`, bytes: deltaBytes, requests: requests + 1, seconds: deltaSeconds, note: `${r.entries.length} of ${r.newChunks} new chunks as deltas (zstd -${LEVEL}, ≤ 3 bases from v1), delta index ${index.byteLength} B; time = publish-side delta computation` },
    manifestBytes,
    indexBytes: index.byteLength,
    deltas: deltaFiles,
    newChunks: r.newChunks,
    chunkCount: b.chunkCount,
    newBytes: r.newBytes
  }
}

// ---- the other tools ---------------------------------------------------------------------

function zstdFloor (pair: Pair): Row {
  const [out, s] = timed(() => zstdCompressSync(readFileSync(pair.changed), { params: { 100: 3 } }))
  return { tool: 'floor: changed files as one zstd -3 stream', bytes: out.byteLength, seconds: s, note: `${MB(pair.changedBytes)} MB of new or changed file content` }
}

function patchFrom (pair: Pair): Row {
  const out = join(WORK, 'patch.zst')
  const [, s] = timed(() => sh('zstd', ['-q', '-f', '-3', '--long=31', `--patch-from=${pair.v1}`, pair.v2, '-o', out]))
  return { tool: 'zstd -3 --patch-from=v1.img v2.img', bytes: statSync(out).size, seconds: s, note: 'whole-image diff for this exact pair, computed centrally' }
}

function fixedBlocks (pair: Pair): Row {
  const BLOCK = 4 * 1024 * 1024
  const [r, s] = timed(() => {
    const seen = new Set<string>()
    const v1 = readFileSync(pair.v1)
    for (let o = 0; o < v1.length; o += BLOCK) seen.add(createHash('sha256').update(v1.subarray(o, o + BLOCK)).digest('hex'))
    const v2 = readFileSync(pair.v2)
    let bytes = 0
    let requests = 0
    for (let o = 0; o < v2.length; o += BLOCK) {
      const block = v2.subarray(o, o + BLOCK)
      bytes += 32 // its hash in the list
      if (seen.has(createHash('sha256').update(block).digest('hex'))) continue
      bytes += encodeStoredChunk(block).byteLength
      requests++
    }
    return { bytes, requests }
  })
  return { tool: 'fixed 4 MiB blocks', bytes: r.bytes, requests: r.requests, seconds: s, note: 'blocks not in v1, each zstd -3, + 32 B per block of list' }
}

function casync (pair: Pair): Row {
  const store = join(WORK, 'casync.castr')
  rmSync(store, { recursive: true, force: true })
  const { avgBytes, minBytes, maxBytes } = DEFAULT_CHUNKING
  const size = `--chunk-size=${minBytes}:${avgBytes}:${maxBytes}`
  sh('casync', ['make', size, `--store=${store}`, join(WORK, 'v1.caibx'), pair.v1])
  const before = new Set(listFiles(store))
  sh('casync', ['make', size, `--store=${store}`, join(WORK, 'v2.caibx'), pair.v2])
  const added = listFiles(store).filter((f) => !before.has(f))
  const out = join(WORK, 'casync-out.img')
  rmSync(out, { force: true })
  // the seeded extract really runs (its time is the row's time); bytes = what it had to take from the store
  const [, s] = timed(() => sh('casync', ['extract', `--store=${store}`, `--seed=${pair.v1}`, join(WORK, 'v2.caibx'), out]))
  const ok = sameFile(out, pair.v2)
  rmSync(out, { force: true })
  const bytes = statSync(join(WORK, 'v2.caibx')).size + added.reduce((n, f) => n + statSync(f).size, 0)
  return { tool: 'casync extract --seed=v1.img', bytes, requests: added.length, seconds: s, note: `chunks of v2 not in v1 (.cacnk, zstd) + v2.caibx${ok ? '' : ' — OUTPUT DIFFERED'}` }
}

function listFiles (dir: string): string[] {
  const out: string[] = []
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, d.name)
    if (d.isDirectory()) out.push(...listFiles(p)); else out.push(p)
  }
  return out
}

function sameFile (a: string, b: string): boolean {
  const h = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex')
  return h(a) === h(b)
}

async function zsync (pair: Pair): Promise<Row> {
  const dir = join(WORK, 'zsync')
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir)
  copyFileSync(pair.v2, join(dir, 'v2.img'))
  let served = 0
  const server = createServer((req, res) => {
    const path = join(dir, (req.url ?? '/').split('?')[0].replace(/^\/+/, ''))
    if (!existsSync(path)) { res.writeHead(404).end(); return }
    const st = statSync(path)
    const m = /^bytes=(.+)$/.exec(req.headers.range ?? '')
    if (m === null) {
      res.writeHead(200, { 'content-length': st.size })
      served += st.size
      createReadStream(path).pipe(res)
      return
    }
    // zsync asks for many ranges at once: answer multipart/byteranges
    const ranges = m[1].split(',').map((r) => r.split('-').map(Number))
    const boundary = 'bcbench'
    const fd = openSync(path, 'r')
    const parts: Buffer[] = []
    for (const [s, e] of ranges) {
      const buf = Buffer.allocUnsafe(e - s + 1)
      readSync(fd, buf, 0, buf.length, s)
      parts.push(Buffer.from(`\r\n--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes ${s}-${e}/${st.size}\r\n\r\n`), buf)
    }
    closeSync(fd)
    parts.push(Buffer.from(`\r\n--${boundary}--\r\n`))
    const body = Buffer.concat(parts)
    served += body.length
    res.writeHead(206, { 'content-type': `multipart/byteranges; boundary=${boundary}`, 'content-length': body.length })
    res.end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  try {
    sh('zsyncmake', ['-o', join(dir, 'v2.zsync'), '-u', `http://127.0.0.1:${port}/v2.img`, join(dir, 'v2.img')])
    const out = join(dir, 'out.img')
    const t = performance.now()
    // zsync's block lookup degrades on images with many equal blocks (free space): bounded here
    const limitS = Number(process.env.DELTA_BENCH_ZSYNC_LIMIT_S ?? 900)
    const finished = await new Promise<boolean>((resolve, reject) => {
      // cwd: zsync keeps its temporary copy (rcksum-*) in the working directory, removed with it below
      const p = spawn('zsync', ['-q', '-i', pair.v1, '-o', out, `http://127.0.0.1:${port}/v2.zsync`], { stdio: 'ignore', cwd: dir })
      const timer = setTimeout(() => { p.kill('SIGKILL') }, limitS * 1000)
      p.on('exit', (code, signal) => { clearTimeout(timer); signal === 'SIGKILL' ? resolve(false) : code === 0 ? resolve(true) : reject(new Error(`zsync exited ${code}`)) })
    })
    const s = (performance.now() - t) / 1000
    if (!finished) return { tool: 'zsync -i v1.img', bytes: served, seconds: s, note: `did not finish within ${limitS} s (killed): bytes served until then, a lower bound` }
    const ok = sameFile(out, pair.v2)
    return { tool: 'zsync -i v1.img', bytes: served, seconds: s, note: `HTTP bodies served (.zsync + ranges)${ok ? '' : ' — OUTPUT DIFFERED'}` }
  } finally {
    server.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

function rsync (pair: Pair, compress: boolean): Row {
  const dir = join(WORK, 'rsync')
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir)
  // a "remote shell" that runs the server side here, so rsync uses its network protocol (and -z) over a pipe
  const rsh = join(WORK, 'local-rsh.sh')
  writeFileSync(rsh, '#!/bin/sh\nshift\nexec sh -c "$*"\n')
  chmodSync(rsh, 0o755)
  copyFileSync(pair.v1, join(dir, 'image.img'))
  // no --inplace: with it rsync may not reuse basis data it has already overwritten, and ext4 moves data both ways
  const args = ['--stats', '--no-whole-file', '-e', rsh, ...(compress ? ['-z'] : []), pair.v2, `localhost:${join(dir, 'image.img')}`]
  const [r, s] = timed(() => sh('rsync', args))
  const sent = Number(/Total bytes sent: ([\d,]+)/.exec(r.stdout)?.[1].replace(/,/g, ''))
  const received = Number(/Total bytes received: ([\d,]+)/.exec(r.stdout)?.[1].replace(/,/g, ''))
  const ok = sameFile(join(dir, 'image.img'), pair.v2)
  rmSync(dir, { recursive: true, force: true })
  return { tool: compress ? 'rsync -z' : 'rsync', bytes: sent + received, seconds: s, note: `both directions (block checksums up, literals down)${ok ? '' : ' — OUTPUT DIFFERED'}` }
}

// ---- report --------------------------------------------------------------------------------

function table (rows: Row[], floor: number): string {
  const lines = ['| tool | bytes (MB) | × floor | requests | seconds | what is counted |', '| --- | ---: | ---: | ---: | ---: | --- |']
  for (const r of rows) lines.push(`| ${r.tool} | ${MB(r.bytes)} | ${(r.bytes / floor).toFixed(2)} | ${r.requests ?? ''} | ${r.seconds.toFixed(1)} | ${r.note} |`)
  return lines.join('\n')
}

/** Replaces the section titled `title` in RESULTS.md (or appends it). */
function writeSection (title: string, body: string): void {
  const text = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : ''
  const start = text.indexOf(`## ${title}\n`)
  const next = start < 0 ? -1 : text.indexOf('\n## ', start + 5)
  const section = `## ${title}\n\n${body.trim()}\n`
  writeFileSync(RESULTS, start < 0 ? `${text.trimEnd()}\n\n${section}` : `${text.slice(0, start)}${section}${next < 0 ? '' : text.slice(next)}`)
}

function nodeRow (n: NodePullResult): Row {
  const r = n.report
  const wholeOrigin = r.bytesFromOrigin - r.deltaBytesFromOrigin - r.originBytesByReason['chunk-list']
  return {
    tool: 'Branchcast (node pull)',
    bytes: n.bytes,
    seconds: n.seconds,
    note: `measured: a node holding v1 pulls v2 from the tracker's built-in origin; ${r.deltas.chunks} chunks as deltas ` +
      `(${MB(r.deltaBytesFromOrigin)} MB rebuilding ${MB(r.decodedBytesFromDeltas)} MB), ${MB(wholeOrigin)} MB of whole chunks, ` +
      `${MB(r.originBytesByReason['chunk-list'])} MB of list parts + delta index, ${n.manifestBytes} B manifest root; ` +
      `${MB(r.bytesFromLocal)} MB copied from v1${n.identical ? '' : ' — OUTPUT DIFFERED'}`
  }
}

async function tools (pair: Pair): Promise<void> {
  const floor = zstdFloor(pair)
  const rows: Row[] = [floor]
  rows.push(patchFrom(pair))
  const node = await nodePull(pair)
  const nodeR = nodeRow(node)
  rows.push(nodeR)
  const bc = await branchcast(pair, DEFAULT_CHUNKING)
  rows.push(bc.delta, bc.whole)
  const cas = casync(pair)
  rows.push(cas, rsync(pair, true), rsync(pair, false))
  if (process.env.DELTA_BENCH_ZSYNC !== '0') rows.push(await zsync(pair))
  rows.push(fixedBlocks(pair))
  for (const r of rows) console.error(`${r.tool}: ${MB(r.bytes)} MB in ${r.seconds.toFixed(1)} s`)
  const rsyncZ = rows.find((r) => r.tool === 'rsync -z') as Row
  const body = `Command: \`npm run bench -- delta\` (DELTA_BENCH_MB=${BUDGET_MB}, delta level ${LEVEL}), ${new Date().toISOString().slice(0, 10)}, this 2-core
machine shared with other jobs (load average ${loadavg()[0].toFixed(1)}): seconds are indicative only.

The pair (bench/delta/pair.ts): ext4 images of ${MB(statSync(pair.v1).size)} MB built with \`mkfs.ext4 -d\` from
${pair.files.v1} real files sampled from /usr; v2 rebuilt from scratch after ${pair.files.patched} files were
patched in place, ${pair.files.inserted} had bytes inserted, ${pair.files.rewritten} were rewritten throughout (4 bytes in every
4 KiB page + growth, as a relinked binary), ${pair.files.removed} removed and ${pair.files.added} added:
${MB(pair.changedBytes)} MB of new or changed file content. Bytes a node holding v1 downloads for v2, manifest included:

${table(rows, floor.bytes)}

"Branchcast (node pull)" is measured (bench/delta/node-pull.ts): an in-process tracker publishes v1, a node
pulls it (${MB(node.firstPullBytes)} MB in ${node.firstPullSeconds.toFixed(1)} s), v2 is published and its deltas computed after the upload
answered (${node.deltaSeconds.toFixed(1)} s more), then the node pulls v2: bytes are that pull's report (every origin HTTP body:
chunks, deltas, changed list parts, the delta index) plus the manifest root; seconds are that pull's duration.
The two "computed" rows count the same things from the chunk lists without running a node
(${bc.delta.note.split(';')[0]}, for ${MB(bc.newBytes)} MB of new chunks before compression; their seconds are chunking and the
publisher's delta computation).
Must: fewer bytes than rsync -z — ${nodeR.bytes < rsyncZ.bytes ? 'met' : 'NOT met'} (node pull ${(nodeR.bytes / rsyncZ.bytes).toFixed(2)} × rsync -z);
aim: ≤ 1.1 × the floor — ${(nodeR.bytes / floor.bytes).toFixed(2)} × the changed-files floor.
Update time: node pull ${nodeR.seconds.toFixed(1)} s against casync extract --seed ${cas.seconds.toFixed(1)} s (${(nodeR.seconds / cas.seconds).toFixed(2)} ×) — ${nodeR.seconds <= cas.seconds ? 'no worse, met' : 'slower, NOT met'}.`
  console.log(body)
  writeSection('Delta chunks (issue 13)', body)
}

async function sizes (pair: Pair): Promise<void> {
  const lines: string[] = ['| average chunk | chunks in v2 | new chunks | manifest bytes (root + changed parts) | delta index | whole chunks (MB) | with deltas (MB) | requests, whole chunks | delta time (s) |', '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |']
  for (const avg of [16, 32, 64]) {
    const r = await branchcast(pair, { minBytes: avg * 512, avgBytes: avg * 1024, maxBytes: avg * 4096 })
    lines.push(`| ${avg} KiB | ${r.chunkCount} | ${r.newChunks} | ${r.manifestBytes} | ${r.indexBytes} | ${MB(r.whole.bytes)} | ${MB(r.delta.bytes)} | ${r.whole.requests} | ${r.delta.seconds.toFixed(1)} |`)
    console.error(lines[lines.length - 1])
  }
  const body = `Command: \`DELTA_BENCH_PART=sizes npm run bench -- delta\`, ${new Date().toISOString().slice(0, 10)}, the pair of "Delta chunks (issue 13)",
chunked with min = avg / 2 and max = 4 × avg; bytes as there (manifest root + changed list parts +
chunks or deltas), deltas at level ${LEVEL}.

${lines.join('\n')}`
  console.log(body)
  writeSection('Chunk size against manifest and per-chunk costs (issue 13)', body)
}

mkdirSync(WORK, { recursive: true })
ensureTools()
const pair = buildPair(WORK, BUDGET_MB * 1024 * 1024)
console.error(`pair: ${MB(statSync(pair.v1).size)} MB images, ${JSON.stringify(pair.files)}, ${MB(pair.changedBytes)} MB changed`)
if (process.env.DELTA_BENCH_PART === 'sizes') await sizes(pair)
else if (process.env.DELTA_BENCH_PART === 'node') { const n = await nodePull(pair); console.log(table([nodeRow(n)], 1), JSON.stringify({ ...n, report: undefined, deltas: n.report.deltas })) }
else await tools(pair)
