/**
 * Which accelerator VMs get: KVM only when a probe proves it runs guest code. On some hosts
 * `/dev/kvm` exists and QEMU accepts `-accel kvm`, yet vCPUs never run (a boot hangs with no
 * output), so the probe starts a paused 16 MiB PC under KVM with the BIOS debug port on a
 * socket, resumes it, and waits for SeaBIOS to reach its boot menu ("Booting from"). The
 * first bytes are not proof: on these machines SeaBIOS under KVM prints its memory map,
 * then stops for ever. Anything else — no KVM, an error, silence until the timeout — means TCG.
 *
 * On such a host the probe costs its whole timeout, so its answer is kept (`probeHostKey`):
 * it holds until the host reboots, `/dev/kvm` changes (created, permissions) or QEMU is
 * replaced.
 */
import { readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Socket } from 'node:net'
import { connect } from 'node:net'
import type { Logger } from '../../protocol/index.ts'
import { QmpClient, abortable } from './qmp-client.ts'
import { qemuMissing, spawnQemu } from './qemu-process.ts'

export type Accelerator = 'kvm' | 'tcg'

/** What SeaBIOS prints on its debug port once POST is over and it looks for a boot disk. */
const BIOS_BOOT_MARKER = 'Booting from'
/** seconds past the probe's timeout after which `timeout` kills its QEMU */
const PROBE_LIFETIME_SLACK_S = 2

export interface KvmProbeOptions {
  qemuBinary: string
  /** a private directory for the probe's sockets and log */
  dir: string
  timeoutMs: number
  logger: Logger
  signal?: AbortSignal
}

export async function probeAccelerator (o: KvmProbeOptions): Promise<Accelerator> {
  const qmpPath = join(o.dir, 'kvm-probe.qmp')
  const dbgPath = join(o.dir, 'kvm-probe.dbg')
  const logPath = join(o.dir, 'kvm-probe.log')
  // a timer that holds the process open: AbortSignal.timeout's does not, and a hung KVM
  // leaves nothing else pending
  const timeout = new AbortController()
  const timer = setTimeout(() => timeout.abort(new Error(`no sign of life within ${o.timeoutMs} ms`)), o.timeoutMs)
  const signal = AbortSignal.any([timeout.signal, ...(o.signal === undefined ? [] : [o.signal])])
  let qemu: Awaited<ReturnType<typeof spawnQemu>> | undefined
  let qmp: QmpClient | undefined
  let dbg: Socket | undefined
  try {
    // The probe's QEMU must not outlive it: where KVM hangs it never exits by itself, and a
    // node killed meanwhile (or stopped past its grace) would leave it for good. Under
    // coreutils' `timeout` it is killed after the probe's time whatever happens here.
    const qemuPath = await findOnPath(o.qemuBinary)
    if (qemuPath === undefined) throw qemuMissing(o.qemuBinary)
    const timeoutBin = await findOnPath('timeout')
    const args = [
      '-machine', 'pc', '-accel', 'kvm', '-S', '-m', '16', '-nodefaults', '-no-user-config', '-display', 'none',
      '-qmp', `unix:${qmpPath},server=on,wait=off`,
      '-chardev', `socket,id=dbg,path=${dbgPath},server=on,wait=off`,
      '-device', 'isa-debugcon,iobase=0x402,chardev=dbg'
    ]
    const lifetimeS = String(Math.ceil(o.timeoutMs / 1000) + PROBE_LIFETIME_SLACK_S)
    qemu = timeoutBin === undefined
      ? await spawnQemu(qemuPath, args, logPath)
      : await spawnQemu(timeoutBin, ['-s', 'KILL', lifetimeS, qemuPath, ...args], logPath)
    const exited = qemu.exited.then(() => { throw new Error('QEMU exited: no KVM') })
    qmp = await abortable(Promise.race([QmpClient.connect(qmpPath, { signal }), exited]), signal)
    const kvm = await qmp.execute<{ enabled: boolean }>('query-kvm', undefined, { signal })
    if (!kvm.enabled) return 'tcg'
    const booting = new Promise<void>((resolve, reject) => {
      let seen = ''
      dbg = connect(dbgPath)
      dbg.on('data', (b: Buffer) => {
        seen = (seen + b.toString('latin1')).slice(-4096)
        if (seen.includes(BIOS_BOOT_MARKER)) resolve()
      })
      dbg.once('error', reject)
    })
    // the socket's error rejects the connect wait below as well: that is the one awaited
    booting.catch(() => {})
    await abortable(new Promise<void>((resolve, reject) => { dbg!.once('connect', resolve); dbg!.once('error', reject) }), signal)
    await qmp.execute('cont', undefined, { signal })
    await abortable(Promise.race([booting, exited]), signal)
    return 'kvm'
  } catch (err) {
    // stopped from outside (the node stopping): no answer, rather than a wrong one
    if (o.signal?.aborted === true) throw o.signal.reason
    o.logger.info('KVM is not usable here; VMs run under TCG', { reason: (err as Error).message })
    if ((err as { code?: string }).code === 'ERR_QEMU_MISSING') throw err
    return 'tcg'
  } finally {
    clearTimeout(timer)
    dbg?.destroy()
    qmp?.close()
    if (qemu !== undefined && qemu.child.exitCode === null) {
      // the process group: `timeout` and the QEMU under it
      try { process.kill(-qemu.pid, 'SIGKILL') } catch { qemu.child.kill('SIGKILL') }
      await qemu.exited
    }
    await Promise.all([qmpPath, dbgPath, logPath].map(async (p) => await rm(p, { force: true })))
  }
}

/**
 * What a probe's answer depends on, as one string: the kernel's boot id, `/dev/kvm`'s
 * inode change time (absent: none) and the QEMU binary's path, size and change time
 * (resolved through PATH when it is a bare name). Undefined where it cannot be told (not
 * Linux): then nothing is kept.
 */
export async function probeHostKey (qemuBinary: string): Promise<string | undefined> {
  const bootId = await readFile('/proc/sys/kernel/random/boot_id', 'utf8').then((s) => s.trim(), () => undefined)
  if (bootId === undefined) return undefined
  const kvm = await stat('/dev/kvm').then((st) => `${st.ctimeMs}`, () => 'none')
  const path = await findOnPath(qemuBinary)
  const st = path === undefined ? undefined : await stat(path).catch(() => undefined)
  return st === undefined ? undefined : `${bootId} kvm:${kvm} qemu:${path}:${st.size}:${st.ctimeMs}`
}

/** A program's file: the path as given when it has a `/`, else the first match on PATH. */
async function findOnPath (name: string): Promise<string | undefined> {
  const dirs = name.includes('/') ? [''] : (process.env.PATH ?? '').split(':').filter((d) => d !== '')
  for (const d of dirs) {
    const path = d === '' ? name : join(d, name)
    if ((await stat(path).catch(() => undefined))?.isFile() === true) return path
  }
  return undefined
}
