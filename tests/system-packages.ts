// Debian packages the suite needs. Missing ones are installed when we are root (CI, the
// development machines); otherwise the run stops and names them.
import { execFileSync, spawnSync } from 'node:child_process'

/** binary to look for → Debian package that provides it */
export const SYSTEM_PACKAGES: ReadonlyArray<{ bin: string, pkg: string }> = [
  { bin: 'zstd', pkg: 'zstd' },
  { bin: 'nginx', pkg: 'nginx' },
  // VM sessions (node/session/) and the tiny test guest (tests/helpers/guest.ts), which
  // also downloads Debian's kernel package with apt-get and unpacks it with xz
  { bin: 'qemu-system-x86_64', pkg: 'qemu-system-x86' },
  { bin: 'qemu-img', pkg: 'qemu-utils' },
  { bin: 'busybox', pkg: 'busybox-static' },
  { bin: 'qemu-ga', pkg: 'qemu-guest-agent' },
  { bin: 'xz', pkg: 'xz-utils' },
  // desktop entries of published applications (node/desktop/): launched with GLib's own
  // launcher and checked by the reference validator
  { bin: 'gio', pkg: 'libglib2.0-bin' },
  { bin: 'desktop-file-validate', pkg: 'desktop-file-utils' }
]

function has (bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${bin} || test -x /usr/sbin/${bin}`], { stdio: 'ignore' }).status === 0
}

export async function ensureSystemPackages (): Promise<void> {
  const missing = SYSTEM_PACKAGES.filter(({ bin }) => !has(bin)).map(({ pkg }) => pkg)
  if (missing.length === 0) return
  if (process.getuid?.() !== 0) {
    console.error(`tests need these Debian packages: ${missing.join(' ')}\n  sudo apt-get install -y ${missing.join(' ')}`)
    process.exit(1)
  }
  console.log(`installing Debian packages: ${missing.join(' ')}`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  execFileSync('apt-get', ['update', '-q'], { stdio: 'inherit', env })
  execFileSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], { stdio: 'inherit', env })
}
