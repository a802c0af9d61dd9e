/**
 * The cold desk of bench/instant-start, run inside the bench's network namespace (behind
 * the shaped link): a fresh node data directory, a pull of the image, and QEMU booting the
 * guest — after the pull (`full`), or at once from the node's NBD export of the image
 * being pulled (`lazy`, `lazy-profile`). Until `branchcast start` boots on the export
 * (the lazy session path, another branch), this drives QEMU itself over the existing
 * pieces: nbd-server + image-source + a puller with demand. Prints one JSON line.
 *
 *   ip netns exec NS npx node bench/instant-start/desk.ts '<json args>'
 */
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { createBootRecorder } from '../../node/block/boot-recorder.ts'
import type { BootRecorder } from '../../node/block/boot-recorder.ts'
import { imageBlockSource } from '../../node/block/image-source.ts'
import { startNbdServer } from '../../node/block/nbd-server.ts'
import type { ImageVersion } from '../../node/image-store/index.ts'
import { createPullDemand } from '../../node/pull/index.ts'
import { startTestNode } from '../../tests/helpers/swarm.ts'
import type { TestTracker } from '../../tests/helpers/tracker.ts'
import { makeTmpDir } from '../../tests/helpers/tmp-dir.ts'

export interface DeskArgs {
  mode: 'full' | 'lazy' | 'lazy-profile'
  trackerUrl: string
  token: string
  image: string
  kernel: string
  initrd: string
  append: string
  memoryMb: number
  /** record a boot profile during this boot (until the boot marker) */
  record: boolean
  bootTimeoutMs: number
  /** the desk runs under `nice -n N`: start QEMU N back at the normal priority (0: no change) */
  niceQemu: number
}

export interface DeskResult {
  mode: DeskArgs['mode']
  /** ms from the start of the desk's work (pull begun) to BOOTED on the serial console */
  bootedMs: number
  /** ms until the pull ended */
  pullMs: number
  /** reads that waited for chunks, and distinct chunks waited for */
  waitedReads: number
  waitedChunks: number
  bytesFromOrigin: number
  profile?: { chunks: string[], bytes: number }
}

/** Starts QEMU on `drive` and resolves when the serial console shows BOOTED. */
async function bootUntilMarker (a: DeskArgs, drive: string, dir: string): Promise<void> {
  const serial = join(dir, 'serial.log')
  // A desk run at a lower CPU priority (INSTANT_START_NICE) starts QEMU back at the normal one,
  // so the pull yields the CPU to the guest: root may lower a nice value again.
  const renice = a.niceQemu > 0 ? ['nice', '-n', String(-a.niceQemu)] : []
  const qemu = spawn(renice[0] ?? 'qemu-system-x86_64', [...renice.slice(1), ...(renice.length > 0 ? ['qemu-system-x86_64'] : []),
    '-machine', 'pc', '-accel', 'tcg', '-m', String(a.memoryMb), '-smp', '1', '-nodefaults', '-display', 'none',
    '-drive', `${drive},if=virtio,snapshot=on`, '-serial', `file:${serial}`, '-nic', 'none',
    '-kernel', a.kernel, '-initrd', a.initrd, '-append', a.append
  ], { stdio: 'ignore' })
  const exited = new Promise<never>((_resolve, reject) => qemu.once('exit', (code) => { reject(new Error(`qemu exited with ${code} before the boot marker`)) }))
  exited.catch(() => {})
  try {
    const deadline = Date.now() + a.bootTimeoutMs
    for (;;) {
      const text = await readFile(serial, 'utf8').catch(() => '')
      if (text.includes('BOOTED')) return
      if (Date.now() > deadline) throw new Error('no boot marker in time')
      await Promise.race([new Promise((resolve) => setTimeout(resolve, 100)), exited])
    }
  } finally {
    qemu.kill('SIGKILL')
  }
}

export async function runDesk (a: DeskArgs): Promise<DeskResult> {
  const dir = await makeTmpDir('branchcast-desk-')
  // a site of its own: a cold desk with no peers (the earlier desks' nodes are gone, but the
  // tracker would list them to a desk of their site until their announces expire)
  const node = await startTestNode({ url: a.trackerUrl } as TestTracker, a.token, { dataDir: join(dir, 'node'), site: `desk-${randomUUID().slice(0, 8)}` })
  try {
    const t0 = performance.now()
    let pullMs = 0
    const demand = createPullDemand()
    let opened: (v: ImageVersion) => void = () => {}
    const versionOpen = new Promise<ImageVersion>((resolve) => { opened = resolve })
    const pulling = node.puller.pull({
      image: a.image,
      demand,
      bootProfile: a.mode === 'lazy-profile',
      onProgress: (p) => { if (p.phase === 'transfer' || p.phase === 'ready') void node.images.versions(a.image).then((vs) => { if (vs[0] !== undefined) opened(vs[0]) }) }
    }).then((r) => { pullMs = performance.now() - t0; return r })
    pulling.catch(() => {})
    let waitedReads = 0
    const waited = new Set<number>()
    let recorder: BootRecorder | undefined
    if (a.mode === 'full') {
      const report = await pulling
      await bootUntilMarker(a, `file=${report.path},format=raw`, dir)
    } else {
      const version = await versionOpen
      const size = (await stat(version.path)).size
      const source = imageBlockSource(version, { size, want: (units) => { waitedReads++; for (const u of units) waited.add(u); demand.want(units) } })
      recorder = a.record ? createBootRecorder(source, { table: version.table }) : undefined
      const server = await startNbdServer({ socketPath: join(dir, 'nbd.sock'), lookup: (n) => n === 'disk' ? (recorder?.source ?? source) : undefined })
      try {
        await bootUntilMarker(a, `file=nbd+unix:///disk?socket=${server.socketPath},format=raw`, dir)
      } finally { await server.close() }
    }
    const bootedMs = performance.now() - t0
    const rec = recorder?.stop()
    const report = await pulling
    return {
      mode: a.mode, bootedMs, pullMs, waitedReads, waitedChunks: waited.size, bytesFromOrigin: report.bytesFromOrigin,
      profile: rec === undefined ? undefined : { chunks: rec.chunks, bytes: rec.bytes }
    }
  } finally {
    await node.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await runDesk(JSON.parse(process.argv[2]!) as DeskArgs)
  process.stdout.write(`${JSON.stringify(result)}\n`)
  process.exit(0)
}
