/**
 * Instant start bench (issue 15): time from start to the guest's boot marker (BOOTED on the
 * serial console) for a cold desk behind a shaped branch link, against booting the same
 * guest from a local disk in the same run:
 *
 * - `local`: QEMU on the image file on this disk (the baseline);
 * - `full`: the whole image pulled first, then booted from the file;
 * - `lazy`: booted at once from the node's NBD export while the pull runs, no profile
 *   (this run also records the boot profile, which the admin then publishes);
 * - `lazy-profile`: the same with the published, signed profile: its chunks come first.
 *
 * The guest: Debian 12 minbase + systemd + kernel, built with debootstrap by
 * `build-image.sh` and cached under ~/.cache/branchcast-bench/<name> (BRANCHCAST_BENCH_CACHE).
 * The link: a veth pair into a network namespace of the bench's own; the tracker and its
 * built-in origin outside, the desk inside; `tc` on both ends: netem 10 ms each way
 * (20 ms round trip) and tbf 100 Mbit/s. Needs root, qemu-system-x86_64, debootstrap.
 *
 * Until `branchcast start` boots on the export (the lazy session path, another branch), the
 * desk (desk.ts) drives QEMU itself over the node's NBD server, image source and a puller
 * with demand.
 *
 *   npm run bench -- instant-start        (or: npx node bench/instant-start/index.ts)
 *   INSTANT_START_ROUNDS=5 npm run bench -- instant-start
 *   INSTANT_START_NICE=10 npm run bench -- instant-start      (the pull below the guest's CPU priority)
 */
import { execFile, spawn } from 'node:child_process'
import { createReadStream, existsSync } from 'node:fs'
import { readFile, rm, stat } from 'node:fs/promises'
import { homedir, loadavg } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { createApiClient } from '../../protocol/index.ts'
import { startTestTracker } from '../../tests/helpers/tracker.ts'
import type { DeskArgs, DeskResult } from './desk.ts'

const run = promisify(execFile)
const CACHE = process.env.BRANCHCAST_BENCH_CACHE ?? join(homedir(), '.cache', 'branchcast-bench')
const GUEST = process.env.INSTANT_START_GUEST ?? 'minimal'
const NS = 'bcbench-is'
const HOST_IF = 'bcis-h'
const DESK_IF = 'bcis-d'
const HOST_IP = '10.201.0.1'
const DESK_IP = '10.201.0.2'
const RATE = process.env.INSTANT_START_RATE ?? '100mbit'
const ONE_WAY_DELAY = process.env.INSTANT_START_DELAY ?? '10ms'
const MEMORY_MB = 512
/**
 * The desk's node runs this much nicer than QEMU (default 0): the pull then yields the CPU
 * to the guest, as a node service below the VMs' priority would on a desk.
 */
const NICE = Number(process.env.INSTANT_START_NICE ?? 0)
const ROUNDS = Number(process.env.INSTANT_START_ROUNDS ?? 3)
const BOOT_TIMEOUT_MS = 600_000
const APPEND = 'console=ttyS0 root=/dev/vda rw quiet'
const HERE = fileURLToPath(new URL('.', import.meta.url))

async function sh (cmd: string, args: string[]): Promise<void> { await run(cmd, args) }

async function ensureImage (): Promise<{ disk: string, kernel: string, initrd: string }> {
  const dir = join(CACHE, GUEST)
  const disk = join(dir, 'disk.raw')
  if (!existsSync(disk)) {
    console.log(`building the ${GUEST} guest into ${dir} (debootstrap; minutes)`)
    await run('sh', [join(HERE, 'build-image.sh'), dir], { maxBuffer: 64 * 1024 * 1024 })
  }
  return { disk, kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img') }
}

async function linkUp (): Promise<void> {
  await linkDown()
  await sh('ip', ['netns', 'add', NS])
  await sh('ip', ['link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', DESK_IF])
  await sh('ip', ['link', 'set', DESK_IF, 'netns', NS])
  await sh('ip', ['addr', 'add', `${HOST_IP}/24`, 'dev', HOST_IF])
  await sh('ip', ['link', 'set', HOST_IF, 'up'])
  await sh('ip', ['-n', NS, 'addr', 'add', `${DESK_IP}/24`, 'dev', DESK_IF])
  await sh('ip', ['-n', NS, 'link', 'set', DESK_IF, 'up'])
  await sh('ip', ['-n', NS, 'link', 'set', 'lo', 'up'])
  // each direction: delay, then the rate (tbf under netem); a veth has no offload surprises
  // Kernels without sch_netem ("qdisc kind is unknown") get the rate alone, said in the results.
  for (const [ns, dev] of [[undefined, HOST_IF], [NS, DESK_IF]] as const) {
    const pre = ns === undefined ? [] : ['-n', ns]
    const tbf = ['tbf', 'rate', RATE, 'burst', '64kb', 'latency', '50ms']
    try {
      await sh('tc', [...pre, 'qdisc', 'add', 'dev', dev, 'root', 'handle', '1:', 'netem', 'delay', ONE_WAY_DELAY, 'limit', '10000'])
      await sh('tc', [...pre, 'qdisc', 'add', 'dev', dev, 'parent', '1:1', 'handle', '10:', ...tbf])
    } catch (err) {
      if (!String((err as { stderr?: string }).stderr).includes('qdisc kind is unknown')) throw err
      linkDelay = 'none (this kernel has no sch_netem)'
      await run('tc', [...pre, 'qdisc', 'del', 'dev', dev, 'root']).catch(() => {})
      await sh('tc', [...pre, 'qdisc', 'add', 'dev', dev, 'root', 'handle', '1:', ...tbf])
    }
  }
}

let linkDelay = `${ONE_WAY_DELAY} each way`

async function linkDown (): Promise<void> {
  await run('ip', ['link', 'del', HOST_IF]).catch(() => {})
  await run('ip', ['netns', 'del', NS]).catch(() => {})
}

async function localBoot (img: { disk: string, kernel: string, initrd: string }): Promise<number> {
  const serial = join(CACHE, `local-${process.pid}.serial`)
  await rm(serial, { force: true })
  const t0 = performance.now()
  const qemu = spawn('qemu-system-x86_64', [
    '-machine', 'pc', '-accel', 'tcg', '-m', String(MEMORY_MB), '-smp', '1', '-nodefaults', '-display', 'none',
    '-drive', `file=${img.disk},format=raw,if=virtio,snapshot=on`, '-serial', `file:${serial}`, '-nic', 'none',
    '-kernel', img.kernel, '-initrd', img.initrd, '-append', APPEND
  ], { stdio: 'ignore' })
  try {
    for (;;) {
      if ((await readFile(serial, 'utf8').catch(() => '')).includes('BOOTED')) return performance.now() - t0
      if (performance.now() - t0 > BOOT_TIMEOUT_MS) throw new Error('local boot: no marker')
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  } finally { qemu.kill('SIGKILL'); await rm(serial, { force: true }) }
}

async function desk (args: DeskArgs): Promise<DeskResult> {
  const { stdout } = await run('ip', ['netns', 'exec', NS, ...(NICE > 0 ? ['nice', '-n', String(NICE)] : []), process.execPath, join(HERE, 'desk.ts'), JSON.stringify(args)], { maxBuffer: 64 * 1024 * 1024, timeout: BOOT_TIMEOUT_MS * 2 })
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as DeskResult
}

const s = (ms: number): string => (ms / 1000).toFixed(1)

async function main (): Promise<void> {
  const img = await ensureImage()
  const imageBytes = (await stat(img.disk)).size
  await linkUp()
  // The tracker listens on the link's far end; its development OpenID provider refuses a
  // non-loopback http issuer, so it names an external one it never needs (API tokens only).
  const tt = await startTestTracker({ config: { host: HOST_IP, oidc: { issuer: 'https://issuer.invalid' } } as never })
  try {
    const admin = createApiClient({ baseUrl: tt.url, token: tt.adminToken })
    const image = `bench-${GUEST}`
    await admin.request('POST', '/api/v1/images', { json: { name: image } })
    const t0 = performance.now()
    const res = await fetch(`${tt.url}/api/v1/images/${image}/versions?publish=true`, {
      method: 'POST', headers: { authorization: `Bearer ${tt.adminToken}`, 'content-type': 'application/octet-stream', 'content-length': String(imageBytes) },
      body: Readable.toWeb(createReadStream(img.disk)) as ReadableStream, duplex: 'half'
    } as RequestInit)
    if (!res.ok) throw new Error(`publish: HTTP ${res.status} ${await res.text()}`)
    const published = await res.json() as { version: number, newBytes?: number }
    console.log(`published ${image} v${published.version} (${(imageBytes / 2 ** 30).toFixed(1)} GiB raw) in ${s(performance.now() - t0)} s`)
    await admin.request('POST', '/api/v1/policies', { json: { name: image, image } })
    await admin.request('POST', '/api/v1/assignments', { json: { policy: image, user: 'desk' } })
    const token = await tt.tokenFor('desk')
    const base = { trackerUrl: tt.url, token, image, kernel: img.kernel, initrd: img.initrd, append: APPEND, memoryMb: MEMORY_MB, bootTimeoutMs: BOOT_TIMEOUT_MS, niceQemu: NICE }

    // The profile: recorded during one lazy boot (its time is not counted), then published by the admin.
    const recording = await desk({ ...base, mode: 'lazy', record: true })
    const pub = await admin.json<{ chunks: number, bytes: number }>('PUT', `/api/v1/images/${image}/versions/${published.version}/boot-profile`, { json: { chunks: recording.profile!.chunks } })
    console.log(`profile recorded and published: ${pub.chunks} chunks, ${(pub.bytes / 1e6).toFixed(1)} MB`)

    // Rounds alternate the four ways, so machine load (shared cores) falls on all of them alike.
    const names = ['local disk (baseline)', 'full download, then boot', 'lazy start, no profile', 'lazy start + boot profile'] as const
    const times = new Map<string, number[]>(names.map((n) => [n, []]))
    const last = new Map<string, DeskResult>()
    for (let round = 1; round <= ROUNDS; round++) {
      const ms: number[] = []
      ms.push(await localBoot(img))
      for (const [i, mode] of (['full', 'lazy', 'lazy-profile'] as const).entries()) {
        const r = await desk({ ...base, mode, record: false })
        last.set(names[i + 1]!, r)
        ms.push(r.bootedMs)
      }
      ms.forEach((m, i) => times.get(names[i]!)!.push(m))
      console.log(`round ${round}: ${ms.map((m, i) => `${names[i]} ${s(m)} s`).join(', ')}`)
    }
    const median = (xs: number[]): number => { const o = [...xs].sort((a, b) => a - b); return o.length % 2 === 1 ? o[(o.length - 1) / 2]! : (o[o.length / 2 - 1]! + o[o.length / 2]!) / 2 }
    const baseline = median(times.get(names[0])!)

    console.log(`\ninstant-start, guest ${GUEST}, link ${RATE} (tbf), delay ${linkDelay}, TCG, ${MEMORY_MB} MiB, node nice ${NICE} (QEMU 0), ${ROUNDS} rounds (median; ratios against the local boot's median); load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`)
    console.log('| start | to BOOTED, median (s) | × local | each round (s) | pull ends (s, last) | reads that waited (last) | origin MB (last) |')
    console.log('| --- | ---: | ---: | --- | ---: | ---: | ---: |')
    for (const name of names) {
      const xs = times.get(name)!
      const r = last.get(name)
      console.log(`| ${name} | ${s(median(xs))} | ${(median(xs) / baseline).toFixed(2)} | ${xs.map(s).join(' / ')} | ${r === undefined ? '' : s(r.pullMs)} | ${r?.waitedReads ?? ''} | ${r === undefined ? '' : (r.bytesFromOrigin / 1e6).toFixed(0)} |`)
    }
    console.log(`boot profile: ${pub.chunks} chunks, ${(pub.bytes / 1e6).toFixed(1)} MB of a ${(imageBytes / 2 ** 30).toFixed(1)} GiB image`)
  } finally {
    await tt.stop()
    await linkDown()
  }
}

await main()
