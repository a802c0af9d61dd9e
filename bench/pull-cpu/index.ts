/**
 * Pull-CPU bench (`npm run bench -- pull-cpu`): what a whole pull from a same-site peer
 * costs the pulling daemon, per MiB, against a bare p2p transfer of the same chunks.
 *
 * A tracker (built-in origin) in this process; two `branchcast node` child processes in
 * one site: the seeder pulls the sample image (bin/sample-image.ts: 1 MiB blocks, 1/8
 * zeros, 1/8 repeats, the rest AES-CTR noise) from the origin, then the puller pulls it
 * with the seeder holding everything. Measured on the puller over its pull: CPU seconds
 * (/proc/<pid>/stat: all threads), peak RSS (VmHWM), and the data directory's disk use
 * (allocated blocks, events excluded); on the seeder, the CPU it spent serving. The
 * baseline (`raw-fetch.ts`, its own process) fetches every distinct chunk from the same
 * seeder over `/branchcast/chunks/1` and only verifies it: the cost of the transport.
 * Last, the wire-compression question on the same image: zstd of each 64 KiB slice.
 *
 * The puller's origin is capped at 1 MiB/s so that nearly all of it comes from the peer.
 * Flags (env): --size (PULL_CPU_SIZE, 512MiB); --data sample|random (PULL_CPU_DATA,
 * sample): `random` is AES-CTR noise throughout — no zero blocks to leave as holes, no
 * repeats — for RSS that must not depend on the image's content.
 * PULL_CPU_PROF=DIR writes the daemons' V8 CPU profiles.
 */
import { execFile } from 'node:child_process'
import { mkdir, open, rm } from 'node:fs/promises'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs, promisify } from 'node:util'
import { zstdCompressSync, zstdDecompressSync } from 'node:zlib'
import { createCipheriv, createHash } from 'node:crypto'
import { createControlClient, readControlFile } from '../../node/index.ts'
import { formatBytes, parseBytes, readFlag } from '../../protocol/index.ts'
import type { ApiClient, UploadResult } from '../../protocol/index.ts'
import { DAEMON_V8_FLAGS } from '../../node/daemon/v8-flags.ts'
import { adminClient, assignImage, publishSample, startLocalTracker } from '../../bin/local-tracker.ts'
import { startNodeProcess } from '../../bin/node-process.ts'
import type { NodeProcess } from '../../bin/node-process.ts'
import { readProcStats } from '../offload/proc-stats.ts'
import { diskBytes } from '../../tests/helpers/disk-usage.ts'

const MiB = 1024 * 1024
const IMAGE = 'pull-cpu-bench'
const { values } = parseArgs({ options: { size: { type: 'string' }, data: { type: 'string' } } })
const sizeBytes = readFlag('--size', values.size ?? process.env.PULL_CPU_SIZE ?? '512MiB', parseBytes)
const data = values.data ?? process.env.PULL_CPU_DATA ?? 'sample'
if (data !== 'sample' && data !== 'random') throw new TypeError('--data must be sample or random')
const work = join(tmpdir(), `branchcast-pull-cpu-${process.pid}`)
const say = (s: string): void => { process.stderr.write(s + '\n') }
const PULLER_ORIGIN_RATE = '1MiB'
const RAW = fileURLToPath(new URL('./raw-fetch.ts', import.meta.url))

/** zstd (default level) over 64 KiB slices of the image: ratio and CPU per MiB each way. */
async function zstdCost (path: string, bytes: number): Promise<{ ratio: number, compressMsPerMiB: number, decompressMsPerMiB: number }> {
  const fh = await open(path, 'r')
  const slices: Buffer[] = []
  try {
    for (let at = 0; at < bytes; at += 64 * 1024) {
      const b = Buffer.alloc(Math.min(64 * 1024, bytes - at))
      await fh.read(b, 0, b.length, at)
      slices.push(b)
    }
  } finally { await fh.close() }
  let c0 = process.cpuUsage()
  const frames = slices.map((s) => zstdCompressSync(s))
  const cMs = (process.cpuUsage(c0).user + process.cpuUsage(c0).system) / 1000
  c0 = process.cpuUsage()
  for (const f of frames) zstdDecompressSync(f)
  const dMs = (process.cpuUsage(c0).user + process.cpuUsage(c0).system) / 1000
  const wire = frames.reduce((s, f, i) => s + Math.min(f.length, slices[i]!.length), 0)
  return { ratio: wire / bytes, compressMsPerMiB: cMs / (bytes / MiB), decompressMsPerMiB: dMs / (bytes / MiB) }
}

/** AES-256-CTR noise, streamed: no zero blocks (holes) and no repeated chunks. */
async function publishRandom (admin: ApiClient, image: string, bytes: number): Promise<{ version: number, sha256: string }> {
  await admin.request('POST', '/api/v1/images', { json: { name: image } }).catch((err: { status?: number }) => { if (err.status !== 409) throw err })
  const cipher = createCipheriv('aes-256-ctr', createHash('sha256').update('pull-cpu-random').digest(), Buffer.alloc(16))
  const zeros = Buffer.alloc(MiB)
  let at = 0
  const body = new ReadableStream<Uint8Array>({
    pull (controller) {
      if (at >= bytes) { controller.close(); return }
      const n = Math.min(MiB, bytes - at)
      controller.enqueue(new Uint8Array(cipher.update(zeros.subarray(0, n))))
      at += n
    }
  })
  const up = await admin.json<UploadResult>('POST', `/api/v1/images/${image}/versions`, {
    query: { publish: true }, body, headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes) }
  })
  return { version: up.version, sha256: up.imageSha256 }
}

await mkdir(work, { recursive: true })
if (process.env.PULL_CPU_PROF !== undefined) process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${process.env.PULL_CPU_PROF}`.trim()
const nodes: NodeProcess[] = []
const tracker = await startLocalTracker(join(work, 'tracker'))
try {
  say(`pull-cpu bench: ${formatBytes(sizeBytes)} of ${data} data, ${cpus().length} cores, node ${process.version}; daemons' V8 settings: ${DAEMON_V8_FLAGS.join(' ')}`)
  const admin = adminClient(tracker.url, tracker.adminToken)
  const sample = data === 'random' ? await publishRandom(admin, IMAGE, sizeBytes) : await publishSample(admin, { image: IMAGE, sizeBytes, seed: 3 })
  await assignImage(admin, { image: IMAGE, user: 'desk' })
  const token = await tracker.tokenFor('desk')
  const start = async (name: string, extraArgs: string[] = []): Promise<NodeProcess> => {
    const n = await startNodeProcess({ dataDir: join(work, name), tracker: tracker.url, token, site: 'bench', logFile: join(work, `${name}.log`), extraArgs })
    nodes.push(n)
    return n
  }
  const seeder = await start('seeder')
  const seederControl = createControlClient(await readControlFile(seeder.dataDir))
  await seederControl.pull(IMAGE)
  say('seeder holds the image')

  // The tracker still hands a puller an origin share while a complete seeder is in the
  // site (issue 9 part 2, another change): a slow origin cap keeps that share small, so
  // what is measured is the peer path.
  const puller = await start('puller', ['--origin-rate', PULLER_ORIGIN_RATE])
  const control = createControlClient(await readControlFile(puller.dataDir))
  const p0 = (await readProcStats(puller.child.pid!))!
  say(`puller ready: RSS ${(p0.rssBytes / MiB).toFixed(0)} MiB, peak ${(p0.hwmBytes / MiB).toFixed(0)} MiB`)
  const s0 = (await readProcStats(seeder.child.pid!))!
  const t0 = Date.now()
  const r = await control.pull(IMAGE)
  const wallMs = Date.now() - t0
  const p1 = (await readProcStats(puller.child.pid!))!
  const s1 = (await readProcStats(seeder.child.pid!))!
  const disk = await diskBytes(puller.dataDir, { exclude: ['events'] })
  if (r.sha256 !== sample.sha256) throw new Error('the pulled image differs')

  const seederAddrs = (await seederControl.status()).addrs
  const raw = JSON.parse((await promisify(execFile)(process.execPath, [RAW, JSON.stringify({ tracker: tracker.url, token, image: IMAGE, version: sample.version, seeder: seederAddrs, trustDir: puller.dataDir })], { maxBuffer: 1 << 20 })).stdout) as { cpuMs: number, bytes: number, wallMs: number }
  const z = await zstdCost(r.path, Math.min(sizeBytes, 128 * MiB))

  const mib = sizeBytes / MiB
  const pullerMs = (p1.cpuSec - p0.cpuSec) * 1000
  const rawPerMiB = raw.cpuMs / (raw.bytes / MiB)
  const out = {
    sizeBytes, wallMs, peersShare: r.decodedBytesFromPeers / (r.decodedBytesFromPeers + r.decodedBytesFromOrigin),
    bytesFromPeers: r.bytesFromPeers, bytesFromOrigin: r.bytesFromOrigin, decodedBytesFromPeers: r.decodedBytesFromPeers, decodedBytesFromOrigin: r.decodedBytesFromOrigin,
    originBytesByReason: r.originBytesByReason,
    pullerCpuMsPerMiB: pullerMs / mib, pullerPeakRssMiB: p1.hwmBytes / MiB, seederCpuMsPerMiB: (s1.cpuSec - s0.cpuSec) * 1000 / mib, seederPeakRssMiB: s1.hwmBytes / MiB,
    rawCpuMsPerMiB: rawPerMiB, rawWallMs: raw.wallMs, diskRatio: disk / sizeBytes, zstd: z
  }
  process.stdout.write(JSON.stringify(out) + '\n')
  say([
    '| image | pull wall | from peers (decoded) | puller CPU ms/MiB | raw p2p fetch CPU ms/MiB | × raw | seeder CPU ms/MiB (serving) | puller peak RSS | seeder peak RSS | puller data dir / image |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    `| ${formatBytes(sizeBytes)} ${data} | ${(wallMs / 1000).toFixed(1)} s | ${(100 * out.peersShare).toFixed(1)} % | **${out.pullerCpuMsPerMiB.toFixed(1)}** | ${rawPerMiB.toFixed(1)} | ${(out.pullerCpuMsPerMiB / rawPerMiB).toFixed(2)} | ${out.seederCpuMsPerMiB.toFixed(1)} | ${out.pullerPeakRssMiB.toFixed(0)} MiB | ${out.seederPeakRssMiB.toFixed(0)} MiB | ${out.diskRatio.toFixed(3)} |`,
    '',
    `wire zstd on 64 KiB slices of the first ${formatBytes(Math.min(sizeBytes, 128 * MiB))}: wire/raw ${z.ratio.toFixed(3)}, compress ${z.compressMsPerMiB.toFixed(1)} ms/MiB, decompress ${z.decompressMsPerMiB.toFixed(1)} ms/MiB`
  ].join('\n'))
} finally {
  await Promise.all(nodes.map(async (n) => await n.stop()))
  await tracker.stop()
  await rm(work, { recursive: true, force: true })
}
