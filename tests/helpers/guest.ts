/**
 * A tiny Linux guest for real VM-session tests, with no internet: Debian's kernel (its
 * package downloaded with apt-get), busybox-static and qemu-guest-agent packed into an
 * initramfs whose /init loads the virtio modules, links /dev/virtio-ports/<name>, runs
 * busybox acpid for the power button and the guest agent, and pvpanic (a kernel panic
 * then ends QEMU with GUEST_PANICKED). Built once (10–15 s) and cached
 * under .cache/tiny-guest/<key>, the key naming the package versions it was made from.
 * The kernel is the decompressed vmlinux (PVH entry): it boots twice as fast as vmlinuz
 * under TCG.
 */
import { execFile, execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readFile, readdir, realpath, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join, dirname } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** Bump when the recipe below changes, so caches built by the old one are not used. */
const RECIPE = 6
const QEMU_GA = '/usr/sbin/qemu-ga'
const CACHE_ROOT = new URL('../../.cache/tiny-guest/', import.meta.url).pathname
/** Modules in load order (each needs the ones before it). */
const MODULES = ['virtio_ring', 'virtio', 'virtio_pci_modern_dev', 'virtio_pci_legacy_dev', 'virtio_pci', 'virtio_console', 'virtio_blk', 'button', 'evdev', 'pvpanic', 'pvpanic-mmio']

export interface TinyGuest {
  kernelPath: string
  initrdPath: string
  /** the kernel command line */
  append: string
}

/** What the guest prints on its console once its agent is starting. */
export const GUEST_READY_LINE = 'branchcast-guest-ready'
/**
 * On the kernel command line (`append`), makes the guest read its whole virtio disk
 * (/dev/vda) at boot, beside its agent, and print `branchcast-disk-sha256=<hex>` on its
 * console: what a test compares with the image's own hash.
 */
export const DISK_SHA256_ARG = 'branchcast.disk-sha256'
/** The console line of DISK_SHA256_ARG; group 1 is the hash. */
export const DISK_SHA256_LINE_RE = /branchcast-disk-sha256=([0-9a-f]{64})/

const INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in ${MODULES.join(' ')}; do insmod /lib/modules/$m.ko; done
i=0
while [ -z "$(ls /sys/class/virtio-ports 2>/dev/null)" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
mkdir -p /dev/virtio-ports
for p in /sys/class/virtio-ports/*; do ln -s ../$(basename $p) /dev/virtio-ports/$(cat $p/name); done
acpid -c /etc/acpi
qemu-ga -m virtio-serial -p /dev/virtio-ports/org.qemu.guest_agent.0 &
if grep -q ${DISK_SHA256_ARG} /proc/cmdline; then (echo "branchcast-disk-sha256=$(sha256sum /dev/vda | cut -d' ' -f1)") & fi
echo ${GUEST_READY_LINE}
while :; do sleep 3600; done
`
const POWEROFF = '#!/bin/busybox sh\n/bin/busybox sync\nexec /bin/busybox poweroff -f\n'

function version (pkg: string): string {
  return execFileSync('dpkg-query', ['-W', '-f', '${Version}', pkg], { encoding: 'utf8' }).trim()
}

/** The kernel package linux-image-amd64 depends on today (linux-image-6.1.0-N-amd64). */
function kernelPackage (): string {
  const deps = execFileSync('apt-cache', ['depends', 'linux-image-amd64'], { encoding: 'utf8' })
  const m = /Depends:\s*(linux-image-[0-9][^\s]*-amd64)/.exec(deps)
  if (m === null) throw new Error('apt-cache does not know linux-image-amd64: run apt-get update')
  return m[1]!
}

/** Builds the tiny guest once per set of package versions; later calls return the cached one. */
export async function tinyGuest (): Promise<TinyGuest> {
  const kernelPkg = kernelPackage()
  const key = createHash('sha256').update(JSON.stringify([RECIPE, kernelPkg, version('busybox-static'), version('qemu-guest-agent')])).digest('hex').slice(0, 16)
  const dir = join(CACHE_ROOT, key)
  const guest: TinyGuest = { kernelPath: join(dir, 'vmlinux'), initrdPath: join(dir, 'initrd.cpio'), append: 'console=ttyS0 quiet' }
  if (await stat(guest.initrdPath).then(() => true, () => false)) return guest
  await mkdir(CACHE_ROOT, { recursive: true })
  const work = await mkdtemp(join(CACHE_ROOT, 'build-'))
  try {
    await build(kernelPkg, work)
    await rename(work, dir).catch(async (err) => {
      // another process built the same key meanwhile
      if ((err as NodeJS.ErrnoException).code !== 'ENOTEMPTY' && (err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    })
  } finally {
    await rm(work, { recursive: true, force: true })
  }
  return guest
}

async function build (kernelPkg: string, work: string): Promise<void> {
  const deb = join(work, 'deb')
  await mkdir(deb)
  await run('apt-get', ['download', '-q', kernelPkg], { cwd: deb })
  const debFile = join(deb, (await readdir(deb)).find((f) => f.endsWith('.deb'))!)
  await run('sh', ['-c', `dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" --wildcards './boot/vmlinuz-*' ${MODULES.map((m) => `'./lib/modules/*/${m}.ko'`).join(' ')}`, 'sh', debFile, deb])
  const boot = join(deb, 'boot')
  await writeFile(join(work, 'vmlinux'), await decompressKernel(join(boot, (await readdir(boot))[0]!)))
  const modules = new Map<string, string>()
  for (const f of await walk(join(deb, 'lib'))) modules.set(f.slice(f.lastIndexOf('/') + 1, -3), f)

  const files = new Cpio()
  for (const d of ['bin', 'sbin', 'usr', 'usr/bin', 'usr/sbin', 'lib', 'lib/modules', 'etc', 'etc/acpi', 'etc/acpi/PWRF', 'proc', 'sys', 'dev', 'tmp', 'run', 'var', 'var/run', 'var/log']) files.dir(d)
  files.file('init', Buffer.from(INIT), 0o755)
  files.file('bin/busybox', await readFile('/bin/busybox'), 0o755)
  files.file('sbin/shutdown', Buffer.from(POWEROFF), 0o755)
  files.file('etc/acpi/PWRF/00000080', Buffer.from(POWEROFF), 0o755)
  for (const m of MODULES) {
    const path = modules.get(m)
    if (path === undefined) throw new Error(`${kernelPkg} has no ${m}.ko`)
    files.file(`lib/modules/${m}.ko`, await readFile(path), 0o644)
  }
  files.file('usr/sbin/qemu-ga', await readFile(QEMU_GA), 0o755)
  for (const lib of await sharedLibraries(QEMU_GA)) {
    for (let d = dirname(lib); d !== '/'; d = dirname(d)) files.dir(d.slice(1))
    files.file(lib.slice(1), await readFile(await realpath(lib)), 0o755)
  }
  await writeFile(join(work, 'initrd.cpio'), files.end())
  await rm(deb, { recursive: true, force: true })
}

async function walk (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...await walk(p))
    else out.push(p)
  }
  return out
}

/** The libraries (and the loader) a binary needs, by absolute path, from ldd. */
async function sharedLibraries (binary: string): Promise<string[]> {
  const { stdout } = await run('ldd', [binary])
  const paths = [...stdout.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)].map((m) => m[1]!)
  return [...new Set(paths)]
}

/** vmlinuz is a boot stub followed by an xz stream; the stream holds the ELF vmlinux. */
async function decompressKernel (vmlinuz: string): Promise<Buffer> {
  const image = await readFile(vmlinuz)
  const at = image.indexOf(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))
  if (at < 0) throw new Error(`${vmlinuz}: no xz stream found`)
  // xz stops at the stream's end and complains about the trailing bytes: the output is whole
  const out = await new Promise<Buffer>((resolve, reject) => {
    const child = execFile('xz', ['-dc', '--single-stream'], { encoding: 'buffer', maxBuffer: 512 * 1024 * 1024 }, (err, stdout) => {
      if (stdout.length > 4 && stdout.subarray(0, 4).equals(Buffer.from('\x7fELF', 'latin1'))) resolve(stdout)
      else reject(err ?? new Error('not an ELF kernel'))
    })
    child.stdin!.on('error', () => {}) // xz leaves once the stream ends, before the rest is written
    child.stdin!.end(image.subarray(at))
  })
  return out
}

/** A newc cpio archive (what the kernel unpacks as initramfs), written in memory. */
class Cpio {
  readonly #parts: Buffer[] = []
  readonly #seen = new Set<string>()
  #ino = 1

  dir (name: string): void {
    if (this.#seen.has(name)) return
    this.#entry(name, 0o040755, Buffer.alloc(0))
  }

  file (name: string, data: Buffer, mode: number): void {
    this.#entry(name, 0o100000 | mode, data)
  }

  end (): Buffer {
    this.#entry('TRAILER!!!', 0, Buffer.alloc(0))
    return Buffer.concat(this.#parts)
  }

  #entry (name: string, mode: number, data: Buffer): void {
    this.#seen.add(name)
    const nameBytes = Buffer.from(name + '\0')
    const fields = [this.#ino++, mode, 0, 0, (mode & 0o040000) !== 0 ? 2 : 1, 0, data.length, 0, 0, 0, 0, nameBytes.length, 0]
    const header = Buffer.from('070701' + fields.map((f) => f.toString(16).padStart(8, '0')).join(''), 'ascii')
    this.#parts.push(header, nameBytes, Buffer.alloc((4 - ((header.length + nameBytes.length) % 4)) % 4), data, Buffer.alloc((4 - (data.length % 4)) % 4))
  }
}

/**
 * Waits until the guest's serial console log (`<dataDir>/sessions/<image>/serial.log` for
 * a node's session) has a line matching `re`; resolves to the match. Polls the file every
 * 200 ms until `signal` aborts.
 */
export async function waitForConsole (logPath: string, re: RegExp, signal: AbortSignal): Promise<RegExpMatchArray> {
  for (;;) {
    const m = (await readFile(logPath, 'utf8').catch(() => '')).match(re)
    if (m !== null) return m
    if (signal.aborted) throw new Error(`the guest's console (${logPath}) shows no ${String(re)}: ${String(signal.reason)}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}
