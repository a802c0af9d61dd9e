// Debian packages the suite needs. Missing ones are installed when we are root (CI, the
// development machines); otherwise the run stops and names them.
import { execFileSync, spawnSync } from 'node:child_process'

/** binary to look for → Debian package that provides it */
export const SYSTEM_PACKAGES: ReadonlyArray<{ bin: string, pkg: string }> = [
  { bin: 'zstd', pkg: 'zstd' },
  { bin: 'nginx', pkg: 'nginx' }
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
