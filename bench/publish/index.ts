// Publish bench: a tracker in its own process on a temp data dir, a generated ≥ 4 GiB
// image published with the CLI, the tracker's peak RSS (VmHWM) and publish throughput
// against `cat FILE | sha256sum` of the same file in the same run.
//
//   npx node bench/publish/index.ts [--gib 4] [--zero-fraction 0.25] [--again] [--keep]
//
// The image is random data with zero runs (the last `zero-fraction` of every GiB is left
// as a hole), like a real disk with free space. Files live under bench/.work/ and are
// deleted at the end unless --keep.
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { randomFillSync } from 'node:crypto'
import { open, mkdir, readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { cpus } from 'node:os'

const { values } = parseArgs({
  options: {
    gib: { type: 'string', default: '4' },
    'zero-fraction': { type: 'string', default: '0.25' },
    keep: { type: 'boolean', default: false },
    /** publish the same file a second time (every chunk already stored) */
    again: { type: 'boolean', default: false }
  }
})
const GiB = 1024 ** 3
const MiB = 1024 ** 2
const totalBytes = Math.round(Number(values.gib) * GiB)
const zeroFraction = Number(values['zero-fraction'])
const root = new URL('../..', import.meta.url).pathname
const bin = join(root, 'bin/branchcast.ts')
const work = join(root, 'bench/.work/publish')
const dataDir = join(work, 'tracker')
const image = join(work, 'image.raw')

async function generate (): Promise<void> {
  const st = await stat(image).catch(() => undefined)
  if (st?.size === totalBytes) return
  const fh = await open(image, 'w')
  const buf = Buffer.alloc(4 * MiB)
  try {
    for (let off = 0; off < totalBytes; off += buf.length) {
      const inGiB = off % GiB
      const n = Math.min(buf.length, totalBytes - off)
      if (inGiB >= GiB * (1 - zeroFraction)) continue // a hole: reads as zeros
      randomFillSync(buf, 0, n)
      await fh.write(buf, 0, n, off)
    }
    await fh.truncate(totalBytes)
  } finally {
    await fh.close()
  }
}

function run (cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<{ stdout: string, ms: number }> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'inherit'] })
    let stdout = ''
    child.stdout.on('data', (b: Buffer) => { stdout += b.toString() })
    child.on('error', reject)
    child.on('close', (code) => code === 0 ? resolve({ stdout, ms: performance.now() - started }) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}`)))
  })
}

async function startTracker (): Promise<{ child: ChildProcess, url: string }> {
  const child = spawn(process.execPath, [bin, 'tracker', '--data', dataDir, '--port', '0', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] })
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('tracker did not start in 30 s')), 30_000)
    let out = ''
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString()
      const m = /listening on (\S+)/.exec(out)
      if (m !== null) { clearTimeout(timer); resolve(m[1]) }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`tracker exited ${code}`)) })
  })
  return { child, url }
}

async function memory (pid: number): Promise<{ rssKiB: number, hwmKiB: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kib = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
  return { rssKiB: kib('VmRSS'), hwmKiB: kib('VmHWM') }
}

interface PublishOut { version: number, totalBytes: number, chunkCount: number, newBytes: number, storedBytes: number, diskBytes: number, durationMs: number }

async function main (): Promise<void> {
  await mkdir(work, { recursive: true })
  await rm(dataDir, { recursive: true, force: true })
  process.stderr.write(`generating ${values.gib} GiB image (${zeroFraction * 100}% zero runs)…\n`)
  await generate()

  // The same file, read through the page cache by both (sha256sum first warms it).
  const sha = await run('sh', ['-c', `cat '${image}' | sha256sum`])
  const sha2 = await run('sh', ['-c', `cat '${image}' | sha256sum`])
  const shaMs = Math.min(sha.ms, sha2.ms)
  const shaHex = sha.stdout.split(/\s/)[0]

  const token = (await run(process.execPath, [bin, 'token', 'create', '--user', 'bench', '--admin', '--data', dataDir])).stdout.trim()
  const { child, url } = await startTracker()
  const pid = child.pid as number
  const env = { ...process.env, BRANCHCAST_TRACKER: url, BRANCHCAST_TOKEN: token }
  let peakSampled = 0
  const sampler = setInterval(() => { memory(pid).then((m) => { peakSampled = Math.max(peakSampled, m.rssKiB) }, () => {}) }, 100)
  const idle = await memory(pid)
  try {
    const first = await run(process.execPath, [bin, 'publish', image, '--image', 'bench', '--create', '--publish', '--json'], { env })
    const p1 = JSON.parse(first.stdout) as PublishOut & { imageSha256: string }
    const afterFirst = await memory(pid)
    const second = values.again === true ? await run(process.execPath, [bin, 'publish', image, '--image', 'bench', '--publish', '--json'], { env }) : undefined
    const p2 = second === undefined ? undefined : JSON.parse(second.stdout) as PublishOut
    const end = await memory(pid)
    clearInterval(sampler)
    if (p1.imageSha256 !== shaHex) throw new Error(`tracker's image hash ${p1.imageSha256} differs from sha256sum's ${shaHex}`)

    const mbps = (bytes: number, ms: number): string => (bytes / 1e6 / (ms / 1000)).toFixed(0)
    const rows: Array<readonly [string, number, number, string, string]> = [
      ['`cat FILE | sha256sum`', totalBytes, shaMs, '—', '—'],
      ['publish, new image (CLI wall clock)', p1.totalBytes, first.ms, `${(p1.newBytes / GiB).toFixed(2)} GiB new / ${(p1.storedBytes / GiB).toFixed(2)} GiB stored`, `${(afterFirst.hwmKiB / 1024).toFixed(0)} MiB`],
    ]
    if (p2 !== undefined && second !== undefined) rows.push(['publish again, all chunks stored (CLI wall clock)', p2.totalBytes, second.ms, `${(p2.newBytes / GiB).toFixed(2)} GiB new / ${(p2.storedBytes / GiB).toFixed(2)} GiB stored`, `${(end.hwmKiB / 1024).toFixed(0)} MiB`])
    console.log(`\nNode ${process.version}, ${cpus().length} cores, ${new Date().toISOString().slice(0, 10)}; image ${(totalBytes / GiB).toFixed(2)} GiB, ${zeroFraction * 100}% zero runs; tracker idle RSS ${(idle.rssKiB / 1024).toFixed(0)} MiB\n`)
    console.log('| run | bytes | seconds | MB/s | vs sha256sum | new / already stored | tracker VmHWM so far |')
    console.log('| --- | ---: | ---: | ---: | ---: | --- | ---: |')
    for (const [name, bytes, ms, split, hwm] of rows) {
      console.log(`| ${name} | ${bytes} | ${(ms / 1000).toFixed(1)} | ${mbps(bytes, ms)} | ${(shaMs / ms).toFixed(2)} | ${split} | ${hwm} |`)
    }
    console.log(`\nchunks ${p1.chunkCount}, written to disk ${(p1.diskBytes / GiB).toFixed(2)} GiB; tracker peak RSS (VmHWM) ${(end.hwmKiB / 1024).toFixed(0)} MiB, sampled max ${(peakSampled / 1024).toFixed(0)} MiB; limit 300 MB: ${end.hwmKiB * 1024 < 300e6 ? 'PASS' : 'FAIL'}`)
    console.log(JSON.stringify({ totalBytes, shaMs, first: { ...p1, wallMs: first.ms }, second: p2 === undefined ? null : { ...p2, wallMs: second?.ms }, idleRssKiB: idle.rssKiB, vmHwmKiB: end.hwmKiB }))
  } finally {
    clearInterval(sampler)
    child.kill('SIGTERM')
    await new Promise((resolve) => child.once('exit', resolve))
    await rm(dataDir, { recursive: true, force: true })
    if (values.keep !== true) await rm(image, { force: true })
  }
}

await main()
