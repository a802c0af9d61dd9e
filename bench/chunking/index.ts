/**
 * Chunking bench: chunk+hash throughput against SHA-256 alone (the hashing limit) and
 * casync, on one ≥ 1 GiB image-like file, all in one run; then dedup between two versions
 * of an image and of a file tree for several chunk sizes. Prints a Markdown report and
 * writes it into the "Chunking" section of bench/RESULTS.md.
 *
 *   npm run bench -- chunking            (or: npx node bench/chunking/index.ts)
 *   CHUNKING_BENCH_GIB=2 CHUNKING_BENCH_ROUNDS=5 npm run bench -- chunking
 */
import { createHash } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { createReadStream, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { chunkStream, chunkStreamParallel, createBoundaryFinder } from '../../protocol/chunking/chunker.ts'
import { chunkId } from '../../protocol/store/chunk-id.ts'
import { DEFAULT_CHUNKING } from '../../protocol/chunking/chunking-params.ts'
import type { ChunkingParams } from '../../protocol/chunking/chunking-params.ts'
import { ensureImageFile, imageVersions, treeVersions } from './input.ts'
import type { Versions } from './input.ts'

const WORK = fileURLToPath(new URL('../.work/', import.meta.url))
const RESULTS = fileURLToPath(new URL('../RESULTS.md', import.meta.url))
const GIB = Number(process.env.CHUNKING_BENCH_GIB ?? 1)
const ROUNDS = Number(process.env.CHUNKING_BENCH_ROUNDS ?? 3)
const INPUT = `${WORK}chunking-image-${GIB}g.raw`
const INPUT_BYTES = GIB * 1024 ** 3
const READ_BYTES = 1024 * 1024
/** A manifest entry: 32-byte id + a length (≤ 4 bytes as a varint). */
const ENTRY_BYTES = 36

// ---- throughput: one interface, a runner per system ------------------------------------

interface Runner {
  name: string
  note: string
  /** undefined when runnable, else why not */
  unavailable?: () => string | undefined
  /** `cpuSeconds` when the work ran outside this process (its own CPU time is then not the cost) */
  run: (path: string, segment?: Segment) => Promise<{ chunks?: number, cpuSeconds?: number }>
  /** runs over the whole file only (an external tool), once */
  wholeFile?: boolean
}

/** A byte range of the input; runners take turns segment by segment, so load from other jobs hits them alike. */
interface Segment { start: number, end: number }

const fileSource = (path: string, segment?: Segment): AsyncIterable<Uint8Array> =>
  createReadStream(path, { highWaterMark: READ_BYTES, start: segment?.start, end: segment === undefined ? undefined : segment.end - 1 })

function casyncMissing (): string | undefined {
  const r = spawnSync('casync', ['--version'], { encoding: 'utf8' })
  return r.status === 0 ? undefined : 'casync not installed (apt-get install -y casync)'
}

function casync (store: string, fresh: boolean): (path: string) => Promise<{ chunks?: number, cpuSeconds?: number }> {
  return async (path) => {
    if (fresh) rmSync(store, { recursive: true, force: true })
    const p = DEFAULT_CHUNKING
    // bash's `time` gives casync's own CPU seconds (user + system)
    const r = spawnSync('bash', ['-c', 'TIMEFORMAT="%3U %3S"; time casync "$@"', 'casync', 'make', '--digest=sha256',
      `--chunk-size=${p.minBytes}:${p.avgBytes}:${p.maxBytes}`, `--store=${store}`, `${WORK}casync.caibx`, path], { encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`casync make failed: ${r.stderr}`)
    const [user, sys] = r.stderr.trim().split('\n').at(-1)?.split(' ').map(Number) ?? [NaN, NaN]
    return { cpuSeconds: user + sys }
  }
}

const RUNNERS: Runner[] = [
  {
    name: 'sha256',
    note: 'SHA-256 alone over the stream, one core (node:crypto, SHA-NI): the hashing limit',
    run: async (path, segment) => {
      const h = createHash('sha256')
      for await (const b of fileSource(path, segment)) h.update(b)
      h.digest()
      return {}
    }
  },
  {
    name: 'cut',
    note: 'FastCDC cut points only (Wasm gear loop), no hashing',
    run: async (path, segment) => {
      const f = createBoundaryFinder()
      let chunks = 0
      for await (const b of fileSource(path, segment)) chunks += f.feed(b).length
      return { chunks: chunks + (f.openBytes > 0 ? 1 : 0) }
    }
  },
  {
    name: 'cut-js',
    note: 'the same in plain JavaScript (why the Wasm loop exists)',
    run: async (path, segment) => {
      const f = createBoundaryFinder(DEFAULT_CHUNKING, { engine: 'js' })
      let chunks = 0
      for await (const b of fileSource(path, segment)) chunks += f.feed(b).length
      return { chunks: chunks + (f.openBytes > 0 ? 1 : 0) }
    }
  },
  {
    name: 'chunk+hash',
    note: '`chunkStream`: cut + SHA-256 per chunk, one thread',
    run: async (path, segment) => {
      let chunks = 0
      for await (const c of chunkStream(fileSource(path, segment))) { chunks++; if (c.length === 0) throw new Error('empty chunk') }
      return { chunks }
    }
  },
  {
    name: 'chunk+hash-2cores',
    note: '`chunkStreamParallel`: cut here, SHA-256 shared with one worker thread',
    run: async (path, segment) => {
      let chunks = 0
      for await (const c of chunkStreamParallel(fileSource(path, segment))) { chunks++; if (c.length === 0) throw new Error('empty chunk') }
      return { chunks }
    }
  },
  {
    name: 'casync-make',
    note: '`casync make` into an empty store (chunks, SHA-256, zstd-compresses and writes every chunk)',
    unavailable: casyncMissing,
    wholeFile: true,
    run: casync(`${WORK}casync.castr`, true)
  },
  {
    name: 'casync-make-warm',
    note: '`casync make` again, every chunk already in the store (chunk + hash, no writes)',
    unavailable: casyncMissing,
    wholeFile: true,
    run: casync(`${WORK}casync.castr`, false)
  }
]

/** MB/s by the wall clock, and MB per CPU-second (robust when other jobs share the cores). */
interface Timing { runner: Runner, mbps: number[], cpuMbps: number[], chunks?: number, skipped?: string }

const SEGMENT_BYTES = 128 * 1024 * 1024

async function timed (t: Timing, segment?: Segment): Promise<{ seconds: number, cpuSeconds: number }> {
  const start = performance.now()
  const cpu = process.cpuUsage()
  const r = await t.runner.run(INPUT, segment)
  const seconds = (performance.now() - start) / 1000
  const used = process.cpuUsage(cpu)
  if (r.chunks !== undefined) t.chunks = (segment === undefined || segment.start === 0 ? 0 : t.chunks ?? 0) + r.chunks
  return { seconds, cpuSeconds: r.cpuSeconds ?? (used.user + used.system) / 1e6 }
}

async function throughput (): Promise<Timing[]> {
  const timings: Timing[] = RUNNERS.map((runner) => ({ runner, mbps: [], cpuMbps: [], skipped: runner.unavailable?.() }))
  const ours = timings.filter((t) => t.skipped === undefined && t.runner.wholeFile !== true)
  for (let round = 0; round < ROUNDS; round++) {
    const sum = ours.map(() => ({ seconds: 0, cpuSeconds: 0 }))
    for (let start = 0; start < INPUT_BYTES; start += SEGMENT_BYTES) {
      const segment = { start, end: Math.min(INPUT_BYTES, start + SEGMENT_BYTES) }
      for (const [k, t] of ours.entries()) {
        const r = await timed(t, segment)
        sum[k].seconds += r.seconds
        sum[k].cpuSeconds += r.cpuSeconds
      }
    }
    for (const [k, t] of ours.entries()) {
      t.mbps.push(INPUT_BYTES / 1e6 / sum[k].seconds)
      t.cpuMbps.push(INPUT_BYTES / 1e6 / sum[k].cpuSeconds)
      process.stderr.write(`  round ${round + 1} ${t.runner.name}: ${t.mbps.at(-1)?.toFixed(0)} MB/s, ${t.cpuMbps.at(-1)?.toFixed(0)} MB/cpu-s\n`)
    }
  }
  for (const t of timings) {
    if (t.skipped !== undefined || t.runner.wholeFile !== true) continue
    const r = await timed(t)
    t.mbps.push(INPUT_BYTES / 1e6 / r.seconds)
    t.cpuMbps.push(INPUT_BYTES / 1e6 / r.cpuSeconds)
    process.stderr.write(`  ${t.runner.name}: ${t.mbps[0].toFixed(0)} MB/s, ${t.cpuMbps[0].toFixed(0)} MB/cpu-s\n`)
  }
  return timings
}

// ---- dedup across versions -----------------------------------------------------------

const SETTINGS: Array<[string, ChunkingParams]> = [
  ['16K', { minBytes: 4096, avgBytes: 16384, maxBytes: 65536 }],
  ['32K', { minBytes: 8192, avgBytes: 32768, maxBytes: 131072 }],
  ['64K, min 16K', { minBytes: 16384, avgBytes: 65536, maxBytes: 262144 }],
  ['64K, min 32K (default)', { minBytes: 32768, avgBytes: 65536, maxBytes: 262144 }],
  ['128K', { minBytes: 32768, avgBytes: 131072, maxBytes: 524288 }]
]

function chunkAll (bytes: Uint8Array, params: ChunkingParams): Array<{ id: string, length: number }> {
  const f = createBoundaryFinder(params)
  const out: Array<{ id: string, length: number }> = []
  let s = 0
  for (let o = 0; o < bytes.length; o += READ_BYTES) {
    for (const c of f.feed(bytes.subarray(o, o + READ_BYTES))) {
      out.push({ id: chunkId(bytes.subarray(s, o + c)), length: o + c - s })
      s = o + c
    }
  }
  if (s < bytes.length) out.push({ id: chunkId(bytes.subarray(s)), length: bytes.length - s })
  return out
}

function dedupRows (v: Versions): string[] {
  const rows: string[] = []
  for (const [label, params] of SETTINGS) {
    const a = chunkAll(v.v1, params)
    const b = chunkAll(v.v2, params)
    const have = new Set(a.map((c) => c.id))
    let shared = 0
    const fetched = new Set<string>()
    let fetchBytes = 0
    for (const c of b) {
      if (have.has(c.id)) shared += c.length
      else if (!fetched.has(c.id)) { fetched.add(c.id); fetchBytes += c.length }
    }
    const manifest = b.length * ENTRY_BYTES
    rows.push(`| ${label} | ${b.length} | ${(v.v2.length / b.length / 1024).toFixed(1)} KiB | ${(100 * shared / v.v2.length).toFixed(1)} % | ${(fetchBytes / 2 ** 20).toFixed(1)} MiB | ${(manifest / 1024).toFixed(0)} KiB (${(100 * manifest / v.v2.length).toFixed(3)} %) | ${(fetchBytes / 2 ** 20 + fetched.size * ENTRY_BYTES / 2 ** 20).toFixed(1)} MiB |`)
  }
  return rows
}

// ---- report --------------------------------------------------------------------------

const fmt = (x: number): string => x.toFixed(0)
const LOAD = (): string => loadavg().map((x) => x.toFixed(1)).join(' / ')
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function main (): Promise<void> {
  const t0 = performance.now()
  process.stderr.write(`input ${INPUT} (${GIB} GiB)…\n`)
  await ensureImageFile(INPUT, INPUT_BYTES)
  for await (const _ of fileSource(INPUT)) { /* warm the page cache: we measure CPU, not the disk */ }

  const timings = await throughput()
  const sha = timings[0]
  const shaBest = Math.max(...sha.mbps)
  const shaCpuBest = Math.max(...sha.cpuMbps)
  const lines: string[] = []
  lines.push('## Chunking', '')
  lines.push(`Command: \`npm run bench -- chunking\` (= \`npx node bench/chunking/index.ts\`; Node ${process.version}, ` +
    `${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${new Date().toISOString().slice(0, 10)}; ~${Math.ceil((performance.now() - t0) / 60_000 + 1)} min).`)
  lines.push(`Input: ${GIB} GiB deterministic image-like file (1 MiB regions: 40 % random, 25 % zero, 15 % repeated 4 KiB ` +
    `patterns, 20 % low-entropy text), read from the page cache in 1 MiB buffers. Parameters ${DEFAULT_CHUNKING.minBytes / 1024}K/` +
    `${DEFAULT_CHUNKING.avgBytes / 1024}K/${DEFAULT_CHUNKING.maxBytes / 1024}K. ${ROUNDS} rounds; in each the runners take turns on every ` +
    `${SEGMENT_BYTES / 2 ** 20} MiB segment (a chunker starts afresh per segment), so bursts of outside load hit all alike; casync runs once over the whole file; ` +
    'best of rounds (median in brackets). Two measures: MB/s by the wall clock, and MB per CPU-second used (user + ' +
    'system, all threads of the process, or of casync) — the cost of the work, which stays meaningful when other jobs ' +
    'load the shared cores (load average during this run: ' + LOAD() + '). Ratios are against SHA-256 alone.', '')
  lines.push('| runner | what | MB/s wall, best (median) | wall vs SHA-256 | MB per CPU-s, best (median) | CPU cost vs SHA-256 (≥ 100 % = cheaper) | chunks |',
    '| --- | --- | --- | --- | --- | --- | --- |')
  for (const t of timings) {
    if (t.skipped !== undefined) { lines.push(`| ${t.runner.name} | ${t.runner.note} | skipped: ${t.skipped} | | | | |`); continue }
    const best = Math.max(...t.mbps)
    const cpuBest = Math.max(...t.cpuMbps)
    lines.push(`| ${t.runner.name} | ${t.runner.note} | ${fmt(best)} (${fmt(median(t.mbps))}) | ${(100 * best / shaBest).toFixed(0)} % | ` +
      `${fmt(cpuBest)} (${fmt(median(t.cpuMbps))}) | ${(100 * cpuBest / shaCpuBest).toFixed(0)} % | ${t.chunks ?? ''} |`)
  }
  lines.push('')

  process.stderr.write('dedup…\n')
  for (const v of [imageVersions(256 * 2 ** 20), treeVersions(600)]) {
    lines.push(`**Dedup, ${v.name}:** v1 ${(v.v1.length / 2 ** 20).toFixed(0)} MiB → v2 ${(v.v2.length / 2 ** 20).toFixed(0)} MiB: ${v.describe}. ` +
      `"shared" = bytes of v2 in chunks v1 already has; "fetch" = distinct new chunks' bytes; manifest = ${ENTRY_BYTES} B per chunk of v2.`, '')
    lines.push('| avg (min = avg/4 unless said, max = avg×4) | chunks (v2) | mean chunk | shared | fetch | manifest | fetch + new entries |', '| --- | --- | --- | --- | --- | --- | --- |')
    lines.push(...dedupRows(v), '')
  }

  const report = lines.join('\n')
  console.log(report)
  writeSection(report)
  process.stderr.write(`done in ${((performance.now() - t0) / 1000).toFixed(0)} s; written to ${RESULTS}\n`)
}

/** Replace (or add) our section of bench/RESULTS.md, leaving other sections alone. */
function writeSection (section: string): void {
  const current = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : '# Benchmark results\n'
  const start = current.indexOf('\n## Chunking\n')
  let next: string
  if (start < 0) {
    next = current.replace(/\n*$/, '\n\n') + section + '\n'
  } else {
    const after = current.indexOf('\n## ', start + 1)
    const tail = after < 0 ? '' : current.slice(after)
    // keep hand-written notes under "### Chunking notes" (they follow the generated part)
    const notesAt = current.indexOf('\n### Chunking notes', start)
    const notes = notesAt >= 0 && (after < 0 || notesAt < after) ? current.slice(notesAt, after < 0 ? undefined : after).replace(/\n+$/, '') + '\n' : ''
    next = current.slice(0, start + 1) + section + (notes === '' ? '' : '\n' + notes) + tail
  }
  writeFileSync(RESULTS, next)
}

await main()
