/** What a directory takes on disk: allocated blocks (holes of sparse files do not count), some subdirectories left out. */
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'

export async function diskBytes (dir: string, options: { exclude?: readonly string[] } = {}): Promise<number> {
  let sum = 0
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) { if (options.exclude?.includes(e.name) !== true) sum += await diskBytes(p, options) } else sum += (await stat(p)).blocks * 512
  }
  return sum
}
