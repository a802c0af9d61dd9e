/**
 * Seeds bench (issue 13, "a first pull with only unrelated local files as seed: fewer
 * bytes than casync --seed on the same files"). The image is v2 of the delta bench's ext4
 * pair (bench/delta/pair.ts, built here in its own work folder); the seed is a directory
 * of v1's files, extracted from v1.img with debugfs — related but not identical, and no
 * earlier image version on the node. Measured in one run:
 *
 *   - Branchcast: a real tracker (built-in origin) and a real node daemon whose config
 *     names the seed directory; the seed index is built first, then a first pull of v2;
 *     bytes = origin wire bytes (chunks and chunk-list parts) + the signed manifest root.
 *   - casync: `casync make` of v2 into a store served over HTTP, then `casync extract
 *     --seed=DIR` from that store; bytes = HTTP bodies served (index + chunks).
 *
 *   npm run bench -- seeds            (SEEDS_BENCH_MB=150: file budget of the tree; one pair per budget)
 */
import { spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEFAULT_CHUNKING } from '../../protocol/index.ts'
import { createLogger } from '../../protocol/logger.ts'
import { loadNodeConfig } from '../../node/config.ts'
import { startNode } from '../../node/daemon/index.ts'
import { startTestTracker } from '../../tests/helpers/tracker.ts'
import { publishAndAssign } from '../../tests/helpers/swarm.ts'
import { buildPair } from '../delta/pair.ts'

const WORK = fileURLToPath(new URL('../.work/seeds/', import.meta.url))
const RESULTS = fileURLToPath(new URL('../RESULTS.md', import.meta.url))
const BUDGET_MB = Number(process.env.SEEDS_BENCH_MB ?? 150)
const MB = (n: number): string => (n / 1e6).toFixed(2)

function sh (cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`)
  return r.stdout
}

function sha256File (path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex')
}

/** v1's files as a plain directory (debugfs reads the image; no mount, no root). */
function extractSeed (v1: string, dir: string): { files: number, bytes: number } {
  if (!existsSync(join(dir, '.done'))) {
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(dir, { recursive: true })
    sh('debugfs', ['-R', `rdump / ${dir}`, v1])
    writeFileSync(join(dir, '.done'), '')
  }
  const out = sh('find', [dir, '-type', 'f', '-printf', '%s\n']).trim().split('\n').map(Number)
  return { files: out.length, bytes: out.reduce((a, b) => a + b, 0) }
}

interface Row { tool: string, bytes: number, seconds: number, note: string }

async function branchcast (image: string, seedDir: string): Promise<Row & { indexSeconds: number, seedBytes: number }> {
  const tt = await startTestTracker()
  const dataDir = join(WORK, 'node')
  rmSync(dataDir, { recursive: true, force: true })
  try {
    const bytes = readFileSync(image)
    const ws = await publishAndAssign(tt, { image: 'bench', bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) })
    const root = await (await fetch(`${tt.url}/api/v1/images/bench/versions/${ws.version}/manifest`, { headers: { authorization: `Bearer ${ws.userToken}` } })).arrayBuffer()
    const config = loadNodeConfig({ flags: { dataDir, tracker: tt.url, token: ws.userToken, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, autoDeliver: false, seeds: [seedDir], seedReadBytesPerSec: 1024 * 1024 * 1024, logLevel: 'error' }, env: {} })
    const node = await startNode({ config, logger: createLogger({ level: 'error' }) })
    try {
      const t0 = performance.now()
      await node.seeds.refresh()
      const indexSeconds = (performance.now() - t0) / 1000
      const t1 = performance.now()
      const r = await node.pull({ image: 'bench' })
      const seconds = (performance.now() - t1) / 1000
      if (r.sha256 !== ws.sha256) throw new Error('Branchcast pull differs from the image')
      const seedBytes = r.bytesFromLocalSources.seed ?? 0
      return {
        tool: 'Branchcast first pull, seed index over the directory',
        bytes: r.bytesFromOrigin + root.byteLength,
        seconds,
        indexSeconds,
        seedBytes,
        note: `origin wire bytes (chunks, list parts; ${MB(r.decodedBytesFromOrigin)} MB decoded) + ${root.byteLength} B manifest root; ${MB(seedBytes)} MB of the image from seed files (index built in ${indexSeconds.toFixed(1)} s before the pull)`
      }
    } finally { await node.stop() }
  } finally {
    await tt.stop()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

async function casync (image: string, seedDir: string): Promise<Row> {
  const store = join(WORK, 'casync.castr')
  const index = join(WORK, 'v2.caibx')
  rmSync(store, { recursive: true, force: true })
  const { avgBytes, minBytes, maxBytes } = DEFAULT_CHUNKING
  sh('casync', ['make', `--chunk-size=${minBytes}:${avgBytes}:${maxBytes}`, `--store=${store}`, index, image])
  let served = 0
  let requests = 0
  const server = createServer((req, res) => {
    const path = join(WORK, (req.url ?? '/').split('?')[0]!.replace(/^\/+/, '').replace(/\.\.+/g, ''))
    if (!existsSync(path) || !statSync(path).isFile()) { res.writeHead(404).end(); return }
    const size = statSync(path).size
    served += size
    requests++
    res.writeHead(200, { 'content-length': size })
    createReadStream(path).pipe(res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const out = join(WORK, 'casync-out.img')
  rmSync(out, { force: true })
  try {
    const t = performance.now()
    // spawnSync would block the server on this thread: run casync asynchronously
    await new Promise<void>((resolve, reject) => {
      const p = spawnAsync('casync', ['extract', `--store=${base}/casync.castr/`, `--seed=${seedDir}`, `${base}/v2.caibx`, out])
      p.on('exit', (code) => { code === 0 ? resolve() : reject(new Error(`casync extract failed (${code}): ${p.stderrText()}`)) })
    })
    const seconds = (performance.now() - t) / 1000
    const ok = sha256File(out) === sha256File(image)
    return { tool: 'casync extract --seed=DIR', bytes: served, seconds, note: `HTTP bodies: v2.caibx + ${requests - 1} chunks (.cacnk, zstd)${ok ? '' : ' — OUTPUT DIFFERED'}` }
  } finally {
    server.close()
    rmSync(out, { force: true })
  }
}

function spawnAsync (cmd: string, args: string[]): ChildProcess & { stderrText: () => string } {
  const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  p.stderr!.on('data', (b: Buffer) => { if (err.length < 4096) err += b.toString() })
  return Object.assign(p, { stderrText: () => err })
}

function writeResults (md: string): void {
  const start = '<!-- seeds-bench:start -->'
  const end = '<!-- seeds-bench:end -->'
  const text = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : ''
  const section = `${start}\n${md}\n${end}`
  const a = text.indexOf(start)
  const b = text.indexOf(end)
  writeFileSync(RESULTS, a >= 0 && b > a ? text.slice(0, a) + section + text.slice(b + end.length) : `${text.trimEnd()}\n\n${section}\n`)
}

mkdirSync(WORK, { recursive: true })
// one pair per budget: the builder keeps what it built
const pair = buildPair(join(WORK, `pair-${BUDGET_MB}`), BUDGET_MB * 1024 * 1024)
const seedDir = join(WORK, `seed-v1-files-${BUDGET_MB}`)
const seed = extractSeed(pair.v1, seedDir)
const imageBytes = statSync(pair.v2).size
console.error(`image v2 ${MB(imageBytes)} MB; seed: ${seed.files} files of v1, ${MB(seed.bytes)} MB`)
const ca = await casync(pair.v2, seedDir)
console.error(`casync: ${MB(ca.bytes)} MB in ${ca.seconds.toFixed(1)} s`)
const bc = await branchcast(pair.v2, seedDir)
console.error(`branchcast: ${MB(bc.bytes)} MB in ${bc.seconds.toFixed(1)} s`)
const rows = [bc, ca]
const md = [
  '## Seeds from local files (issue 13)',
  '',
  `\`SEEDS_BENCH_MB=${BUDGET_MB} npm run bench -- seeds\` (${new Date().toISOString().slice(0, 10)}). A first pull of v2 of the delta bench's`,
  `ext4 pair (${MB(imageBytes)} MB image) by a node holding no version of it, seeded only with a`,
  `directory of v1's files (${seed.files} files, ${MB(seed.bytes)} MB, extracted with debugfs), against`,
  '`casync extract --seed=DIR` on the same directory, same chunk sizes (32/64/256 KiB), same run.',
  '',
  '| tool | bytes down (MB) | time (s) | note |',
  '| --- | ---: | ---: | --- |',
  ...rows.map((r) => `| ${r.tool} | ${MB(r.bytes)} | ${r.seconds.toFixed(1)} | ${r.note} |`),
  '',
  `Branchcast / casync: ${(bc.bytes / ca.bytes).toFixed(3)} of casync's bytes.`
].join('\n')
console.log(md)
writeResults(md)
