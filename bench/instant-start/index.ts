/**
 * Instant start bench (issue 15): time from `branchcast start` to the guest's boot marker
 * (BOOTED on the serial console) for a cold desk behind a shaped branch link, against a
 * boot from the local disk in the same run. Every desk is the product as a user runs it:
 * a fresh data directory enrolled as a user the image is assigned to, a real `branchcast
 * node` daemon and the real `branchcast` CLI, both inside a network namespace of the
 * bench's own. Each desk's command comes once its node lists the workspace and knows its
 * VM accelerator, as when a user clicks a workspace in the menu. The ways:
 *
 * - `local disk (baseline)`: `branchcast start` on a desk that holds the image whole (the
 *   `full` desk, once its VM is stopped): QEMU on the image file;
 * - `full download, then boot`: `branchcast pull`, then `branchcast start` (timed from the pull);
 * - `lazy start, no profile`: `branchcast start` on a desk holding nothing: the VM boots at
 *   once from the node's NBD export while the pull runs;
 * - `lazy start + boot profile`: the same for an image whose version has a published boot
 *   profile (the same bytes published under a second name): its chunks come first.
 *
 * The profile is recorded once (record-profile.ts: one boot through the node's NBD server
 * with the boot recorder, not counted) and published by the admin.
 *
 * The link: a veth pair into the namespace, `tc tbf` at 100 Mbit/s on both ends, and the
 * delay of a branch link from delay-proxy.ts (this machine's kernel has no `sch_netem`):
 * the desk reaches the tracker and its built-in origin only through the proxy, which holds
 * each direction's bytes 10 ms (a 20 ms round trip). link-probe.ts measures both from
 * inside the namespace before the desks run.
 *
 * Guests (build-image.sh, cached under ~/.cache/branchcast-bench/<guest>, or
 * BRANCHCAST_BENCH_CACHE): `minimal` (Debian 12 + systemd, marker at multi-user) and
 * `desktop` (+ Xfce, marker from the Xfce session's autostart). Needs root,
 * qemu-system-x86_64, debootstrap, tc, ip.
 *
 *   npm run bench -- instant-start        (or: npx node bench/instant-start/index.ts)
 *   INSTANT_START_GUEST=desktop INSTANT_START_ROUNDS=1 npx node bench/instant-start/index.ts
 *   INSTANT_START_CPU_NICE=0 …      (the node at QEMU's priority instead of its default)
 */
import { execFile, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createReadStream, createWriteStream, existsSync } from 'node:fs'
import { mkdir, readFile, rm, stat } from 'node:fs/promises'
import { createServer } from 'node:net'
import { homedir, loadavg } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { imagePaths } from '../../node/image-store/index.ts'
import { READY_LINE_RE } from '../../node/daemon/index.ts'
import { sessionDir } from '../../node/session/index.ts'
import { createApiClient } from '../../protocol/index.ts'
import { startTestTracker } from '../../tests/helpers/tracker.ts'
import type { LinkMeasure } from './link-probe.ts'
import { startProbeServer } from './link-probe.ts'
import type { RecordArgs, RecordResult } from './record-profile.ts'

const run = promisify(execFile)
const HERE = fileURLToPath(new URL('.', import.meta.url))
const BIN = fileURLToPath(new URL('../../bin/branchcast.ts', import.meta.url))
const CACHE = process.env.BRANCHCAST_BENCH_CACHE ?? join(homedir(), '.cache', 'branchcast-bench')
const GUEST = process.env.INSTANT_START_GUEST ?? 'minimal'
const GUESTS: Record<string, { memoryMb: number, size: string }> = { minimal: { memoryMb: 512, size: '2G' }, desktop: { memoryMb: 1536, size: '8G' } }
const NS = 'bcbench-is'
const HOST_IF = 'bcis-h'
const DESK_IF = 'bcis-d'
const HOST_IP = '10.201.0.1'
const DESK_IP = '10.201.0.2'
const RATE = process.env.INSTANT_START_RATE ?? '100mbit'
/** each direction's delay: a 20 ms round trip */
const ONE_WAY_DELAY_MS = Number(process.env.INSTANT_START_DELAY_MS ?? 10)
/** the daemon's cpuNice (undefined: the node's default) */
const CPU_NICE = process.env.INSTANT_START_CPU_NICE
const ROUNDS = Number(process.env.INSTANT_START_ROUNDS ?? 3)
/** generous: a desktop guest's pull and boot on a loaded machine take many minutes */
const BOOT_TIMEOUT_MS = 1_800_000
const PULL_END_TIMEOUT_MS = 1_800_000
const MARKER = 'BOOTED'
/**
 * `no_timer_check`: a TCG guest on a loaded host fails the kernel's early IO-APIC timer
 * check now and then ("IO-APIC + timer doesn't work!", a panic before any driver), as
 * virtualised kernels commonly do; the check proves nothing about a VM's timer.
 */
const APPEND = 'console=ttyS0 root=/dev/vda rw quiet no_timer_check'
const WORK = join(CACHE, 'desks')

const s = (ms: number): string => (ms / 1000).toFixed(1)
const median = (xs: number[]): number => { const o = [...xs].sort((a, b) => a - b); return o.length % 2 === 1 ? o[(o.length - 1) / 2]! : (o[o.length / 2 - 1]! + o[o.length / 2]!) / 2 }
const pause = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

interface Guest { disk: string, kernel: string, initrd: string, memoryMb: number }

async function ensureImage (): Promise<Guest> {
  const g = GUESTS[GUEST]
  if (g === undefined) throw new TypeError(`INSTANT_START_GUEST is one of ${Object.keys(GUESTS).join(', ')}`)
  const dir = join(CACHE, GUEST)
  const disk = join(dir, 'disk.raw')
  if (!existsSync(disk)) {
    console.log(`building the ${GUEST} guest into ${dir} (debootstrap; minutes)`)
    await run('sh', [join(HERE, 'build-image.sh'), dir, g.size], { env: { ...process.env, VARIANT: GUEST }, maxBuffer: 256 * 1024 * 1024 })
  }
  return { disk, kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img'), memoryMb: g.memoryMb }
}

// ---- the link ---------------------------------------------------------------------------

async function sh (cmd: string, args: string[]): Promise<void> { await run(cmd, args) }

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
  // the rate, each direction (the delay is the proxy's)
  for (const pre of [[], ['-n', NS]]) {
    await sh('tc', [...pre, 'qdisc', 'add', 'dev', pre.length === 0 ? HOST_IF : DESK_IF, 'root', 'tbf', 'rate', RATE, 'burst', '64kb', 'latency', '50ms'])
  }
}

async function linkDown (): Promise<void> {
  await run('ip', ['link', 'del', HOST_IF]).catch(() => {})
  await run('ip', ['netns', 'del', NS]).catch(() => {})
}

async function freePort (host: string): Promise<number> {
  const srv = createServer()
  await new Promise<void>((resolve) => srv.listen(0, host, resolve))
  const { port } = srv.address() as { port: number }
  await new Promise<void>((resolve) => srv.close(() => { resolve() }))
  return port
}

/** The delay proxy, a process of its own (its timers are not held up by the tracker's work). */
async function startProxy (maps: string[]): Promise<{ ports: number[], child: ChildProcess }> {
  const child = spawn(process.execPath, [join(HERE, 'delay-proxy.ts'), String(ONE_WAY_DELAY_MS), ...maps], { stdio: ['ignore', 'pipe', 'inherit'] })
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve)
    child.once('exit', (code) => { reject(new Error(`delay proxy exited with ${code}`)) })
  })
  return { ports: (JSON.parse(line) as { ports: number[] }).ports, child }
}

/** Runs a command inside the desk's namespace. */
async function inDesk (args: string[], timeoutMs = 120_000): Promise<string> {
  const { stdout } = await run('ip', ['netns', 'exec', NS, ...args], { maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs })
  return stdout
}

// ---- a desk -----------------------------------------------------------------------------

interface DeskInit { trackerUrl: string, token: string, guest: Guest }

/** A cold desk: a fresh data directory, enrolled, its daemon running in the namespace. */
class Desk {
  readonly dir: string
  readonly #init: DeskInit
  #daemon: ChildProcess | undefined
  #exited: Promise<number> | undefined

  constructor (init: DeskInit, name: string) {
    this.#init = init
    this.dir = join(WORK, name)
  }

  async start (): Promise<void> {
    await rm(this.dir, { recursive: true, force: true })
    await mkdir(this.dir, { recursive: true, mode: 0o700 })
    // a site of its own: no earlier desk is offered as a peer
    await this.cli(['enroll', '--tracker', this.#init.trackerUrl, '--token', this.#init.token, '--site', `desk-${process.pid}-${Math.random().toString(36).slice(2, 8)}`])
    const args = ['netns', 'exec', NS, process.execPath, BIN, 'node', '--data', this.dir, '--listen', `/ip4/${DESK_IP}/tcp/0`, '--no-mdns', '--no-auto-deliver', ...(CPU_NICE === undefined ? [] : ['--cpu-nice', CPU_NICE])]
    const child = spawn('ip', args, { env: { ...process.env, BRANCHCAST_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] })
    child.stderr!.pipe(createWriteStream(`${this.dir}.log`))
    this.#daemon = child
    this.#exited = new Promise((resolve) => child.once('exit', (code) => resolve(code ?? 1)))
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`desk daemon not ready (log: ${this.dir}.log)`)) }, 120_000)
      createInterface({ input: child.stdout! }).on('line', (l) => { if (READY_LINE_RE.test(l)) { clearTimeout(timer); resolve() } })
      void this.#exited!.then((code) => { clearTimeout(timer); reject(new Error(`desk daemon exited with ${code} (log: ${this.dir}.log)`)) })
    })
    // As at a desk where someone clicks: the node lists the workspace (it heard from the
    // tracker) and, having workspaces, has learned its VM accelerator (on this host a KVM
    // probe that times out after 3 s, once per host boot; the time is printed).
    const t0 = performance.now()
    for (;;) {
      const listed = (JSON.parse(await this.cli(['desk', '--json'])) as { workspaces: Array<{ image: string }> }).workspaces.length > 0
      if (listed && existsSync(join(this.dir, 'sessions', 'accelerator.json'))) break
      if (performance.now() - t0 > 60_000) throw new Error(`desk ${this.dir}: no workspace or accelerator in 60 s`)
      await pause(100)
    }
    this.settledMs = performance.now() - t0
  }

  /** ms from the daemon's ready line until it listed its workspace and knew its accelerator */
  settledMs = 0

  async cli (args: string[], timeoutMs = 120_000): Promise<string> {
    return await inDesk([process.execPath, BIN, ...args, '--data', this.dir], timeoutMs)
  }

  /** `branchcast start IMAGE` as the workspace's user types it (here with the guest's kernel). */
  async startVm (image: string): Promise<void> {
    const g = this.#init.guest
    await this.cli(['start', image, '--mode', 'revertible', '--memory', String(g.memoryMb), '--network', 'none', '--kernel', g.kernel, '--initrd', g.initrd, '--append', APPEND])
  }

  /** ms from `t0` until the VM's serial console shows the marker. */
  async booted (image: string, t0: number): Promise<number> {
    const serial = join(sessionDir(this.dir, image), 'serial.log')
    for (;;) {
      const text = await readFile(serial, 'utf8').catch(() => '')
      if (text.includes(MARKER)) return performance.now() - t0
      // a panic this early has no pvpanic driver to end QEMU: say so instead of waiting out the limit
      if (text.includes('Kernel panic')) throw new Error(`${image}: the guest panicked (${serial})`)
      if (performance.now() - t0 > BOOT_TIMEOUT_MS) throw new Error(`${image}: no boot marker in ${BOOT_TIMEOUT_MS} ms`)
      await pause(100)
    }
  }

  async stopVm (image: string): Promise<void> {
    await this.cli(['stop', image, '--timeout', '2s'])
    await rm(join(sessionDir(this.dir, image), 'serial.log'), { force: true })
  }

  /** ms from `t0` until the version's file is whole (renamed to `.img`). */
  async pulled (image: string, t0: number): Promise<number> {
    const path = imagePaths(this.dir, image, 1).image
    for (;;) {
      if (existsSync(path)) return performance.now() - t0
      if (performance.now() - t0 > PULL_END_TIMEOUT_MS) throw new Error(`${image}: pull not done in ${PULL_END_TIMEOUT_MS} ms`)
      await pause(200)
    }
  }

  /** The daemon's log lines on the way to a lazy boot, timed from `wall0` (Date.now() at the command). */
  async milestones (wall0: number): Promise<string[]> {
    const wanted = new Set(['serving an image version over NBD while it arrives', 'session started', 'a lazy boot is up', 'boot profile: its chunks come first', 'pulled'])
    const out: string[] = []
    for (const line of (await readFile(`${this.dir}.log`, 'utf8').catch(() => '')).split('\n')) {
      let r: { t?: string, msg?: string, [k: string]: unknown }
      try { r = JSON.parse(line) } catch { continue }
      if (r.msg === undefined || !wanted.has(r.msg) || r.t === undefined) continue
      const { t, msg, level: _l, component: _c, ...rest } = r
      out.push(`+${s(Date.parse(t) - wall0)} s ${msg} ${JSON.stringify(rest)}`)
    }
    return out
  }

  /** The daemon's nice value and its VM's, from /proc (the priorities the bench ran at). */
  async nices (image: string): Promise<{ node: number, qemu?: number }> {
    const nice = async (pid: number): Promise<number> => Number((await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ')[16])
    const status = JSON.parse(await this.cli(['status', image, '--json'])) as { pid?: number }
    return { node: await nice(this.#daemon!.pid!), ...(status.pid === undefined ? {} : { qemu: await nice(status.pid) }) }
  }

  async stop (keep = false): Promise<void> {
    if (this.#daemon !== undefined && this.#daemon.exitCode === null) {
      this.#daemon.kill('SIGTERM')
      const timer = setTimeout(() => this.#daemon?.kill('SIGKILL'), 20_000)
      await this.#exited
      clearTimeout(timer)
    }
    if (!keep) await rm(this.dir, { recursive: true, force: true })
  }
}

interface Timed { bootedMs: number, pullMs?: number, localMs?: number, nices?: { node: number, qemu?: number } }

/** Pull, then start (the pull's end, the boot); then, stopped, a start from the local file. */
async function fullThenLocal (init: DeskInit, image: string, name: string): Promise<Timed> {
  const desk = new Desk(init, name)
  try {
    await desk.start()
    const t0 = performance.now()
    await desk.cli(['pull', image], PULL_END_TIMEOUT_MS)
    const pullMs = performance.now() - t0
    await desk.startVm(image)
    const bootedMs = await desk.booted(image, t0)
    await desk.stopVm(image)
    const t1 = performance.now()
    await desk.startVm(image)
    const localMs = await desk.booted(image, t1)
    const nices = await desk.nices(image)
    await desk.stopVm(image)
    return { bootedMs, pullMs, localMs, nices }
  } finally {
    await desk.stop()
  }
}

async function lazy (init: DeskInit, image: string, name: string): Promise<Timed> {
  const desk = new Desk(init, name)
  try {
    await desk.start()
    const t0 = performance.now()
    const wall0 = Date.now()
    await desk.startVm(image)
    const bootedMs = await desk.booted(image, t0)
    const nices = await desk.nices(image)
    const pullMs = await desk.pulled(image, t0)
    console.log(`  ${name}: the node settled (workspace listed, accelerator known) ${s(desk.settledMs)} s after its ready line`)
    for (const m of await desk.milestones(wall0)) console.log(`  ${name}: ${m}`)
    await desk.stopVm(image)
    return { bootedMs, pullMs, nices }
  } finally {
    await desk.stop()
  }
}

// ---- the run ----------------------------------------------------------------------------

async function publish (url: string, adminToken: string, image: string, disk: string): Promise<void> {
  const admin = createApiClient({ baseUrl: url, token: adminToken })
  await admin.request('POST', '/api/v1/images', { json: { name: image } })
  const bytes = (await stat(disk)).size
  const t0 = performance.now()
  const res = await fetch(`${url}/api/v1/images/${image}/versions?publish=true`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/octet-stream', 'content-length': String(bytes) },
    body: Readable.toWeb(createReadStream(disk)) as ReadableStream,
    duplex: 'half'
  } as RequestInit)
  if (!res.ok) throw new Error(`publish: HTTP ${res.status} ${await res.text()}`)
  console.log(`published ${image} (${(bytes / 2 ** 30).toFixed(1)} GiB raw) in ${s(performance.now() - t0)} s`)
  await admin.request('POST', '/api/v1/policies', { json: { name: image, image, workspaceMode: 'revertible', vmMemoryMb: GUESTS[GUEST]!.memoryMb, vmCpus: 1 } })
  await admin.request('POST', '/api/v1/assignments', { json: { policy: image, user: 'desk' } })
}

async function main (): Promise<void> {
  const guest = await ensureImage()
  const imageBytes = (await stat(guest.disk)).size
  await mkdir(WORK, { recursive: true })
  await linkUp()
  const proxyPort = await freePort(HOST_IP)
  const publicUrl = `http://${HOST_IP}:${proxyPort}`
  // The tracker listens on loopback; the desk reaches it only at publicUrl, the delay
  // proxy on the link's far end. Its development OpenID provider refuses a non-loopback
  // http issuer, so it names an external one it never needs (API tokens only).
  const tt = await startTestTracker({ config: { host: '127.0.0.1', publicUrl, oidc: { issuer: 'https://issuer.invalid' } } as never })
  const probe = await startProbeServer('127.0.0.1')
  const proxy = await startProxy([`${HOST_IP}:${proxyPort}=127.0.0.1:${new URL(tt.url).port}`, `${HOST_IP}:0=127.0.0.1:${probe.port}`])
  try {
    const link = JSON.parse(await inDesk([process.execPath, join(HERE, 'link-probe.ts'), `${HOST_IP}:${proxy.ports[1]}`, '32'])) as LinkMeasure
    console.log(`link, measured from the desk's namespace: round trip ${link.rttMs.toFixed(1)} ms (median of ${link.rttsMs.length}; ${link.rttsMs.map((x) => x.toFixed(1)).join(' ')}), rate ${link.rateMbitPerSec.toFixed(1)} Mbit/s (${link.bytes / 2 ** 20} MiB)`)
    await probe.close()

    const image = `bench-${GUEST}`
    const profiled = `${image}-p`
    await publish(tt.url, tt.adminToken, image, guest.disk)
    await publish(tt.url, tt.adminToken, profiled, guest.disk)
    const init: DeskInit = { trackerUrl: publicUrl, token: await tt.tokenFor('desk'), guest }

    // The profile: one boot of the version from a desk that holds it (not counted); the
    // same bytes, so the same chunk ids, under both names.
    const recDesk = new Desk(init, 'record')
    let rec: RecordResult
    try {
      await recDesk.start()
      await recDesk.cli(['pull', image], PULL_END_TIMEOUT_MS)
      await recDesk.stop(true)
      const args: RecordArgs = { dataDir: recDesk.dir, image, kernel: guest.kernel, initrd: guest.initrd, append: APPEND, memoryMb: guest.memoryMb, marker: MARKER, bootTimeoutMs: BOOT_TIMEOUT_MS }
      const { stdout } = await run(process.execPath, [join(HERE, 'record-profile.ts'), JSON.stringify(args)], { maxBuffer: 64 * 1024 * 1024, timeout: BOOT_TIMEOUT_MS })
      rec = JSON.parse(stdout.trim().split('\n').at(-1)!) as RecordResult
    } finally {
      await recDesk.stop()
    }
    const admin = createApiClient({ baseUrl: tt.url, token: tt.adminToken })
    const pub = await admin.json<{ chunks: number, bytes: number }>('PUT', `/api/v1/images/${profiled}/versions/1/boot-profile`, { json: { chunks: rec.chunks } })
    console.log(`boot profile recorded (boot of ${s(rec.bootedMs)} s through NBD) and published: ${pub.chunks} chunks, ${(pub.bytes / 1e6).toFixed(1)} MB`)

    const names = ['local disk (baseline)', 'full download, then boot', 'lazy start, no profile', 'lazy start + boot profile'] as const
    const times = new Map<string, number[]>(names.map((n) => [n, []]))
    const pulls = new Map<string, number[]>(names.map((n) => [n, []]))
    let nices: Timed['nices']
    const loads: number[] = [loadavg()[0]!]
    for (let round = 1; round <= ROUNDS; round++) {
      // rounds alternate the order, so machine load (shared cores) falls on every way alike
      const ways = [
        async () => {
          const r = await fullThenLocal(init, image, `full-${round}`)
          times.get(names[0])!.push(r.localMs!)
          times.get(names[1])!.push(r.bootedMs)
          pulls.get(names[1])!.push(r.pullMs!)
          nices = r.nices
        },
        async () => { const r = await lazy(init, image, `lazy-${round}`); times.get(names[2])!.push(r.bootedMs); pulls.get(names[2])!.push(r.pullMs!) },
        async () => { const r = await lazy(init, profiled, `lazyp-${round}`); times.get(names[3])!.push(r.bootedMs); pulls.get(names[3])!.push(r.pullMs!) }
      ]
      for (const way of round % 2 === 1 ? ways : [...ways].reverse()) await way()
      loads.push(loadavg()[0]!)
      console.log(`round ${round}: ${names.map((n) => `${n} ${s(times.get(n)!.at(-1)!)} s`).join(', ')}`)
    }
    const baseline = median(times.get(names[0])!)
    console.log(`\ninstant-start, guest ${GUEST} (${(imageBytes / 2 ** 30).toFixed(1)} GiB raw), ${new Date().toISOString()}; link ${RATE} (tc tbf) + ${ONE_WAY_DELAY_MS} ms each way (delay proxy): measured ${link.rttMs.toFixed(1)} ms round trip, ${link.rateMbitPerSec.toFixed(1)} Mbit/s; TCG, ${guest.memoryMb} MiB, 1 vCPU; node nice ${nices?.node ?? '?'}, QEMU nice ${nices?.qemu ?? '?'}; ${ROUNDS} rounds (median; ratios against the local boot's median); load average (1 min) ${loads.map((l) => l.toFixed(1)).join(' → ')}`)
    console.log('| start | to BOOTED, median (s) | × local | each round (s) | pull done (s, median) |')
    console.log('| --- | ---: | ---: | --- | ---: |')
    for (const name of names) {
      const xs = times.get(name)!
      const ps = pulls.get(name)!
      console.log(`| ${name} | ${s(median(xs))} | ${(median(xs) / baseline).toFixed(2)} | ${xs.map(s).join(' / ')} | ${ps.length === 0 ? '' : s(median(ps))} |`)
    }
    console.log(`boot profile: ${pub.chunks} chunks, ${(pub.bytes / 1e6).toFixed(1)} MB of a ${(imageBytes / 2 ** 30).toFixed(1)} GiB image`)
  } finally {
    proxy.child.kill('SIGTERM')
    await probe.close().catch(() => {})
    await tt.stop()
    await linkDown()
  }
}

await main()
