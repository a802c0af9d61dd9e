/**
 * Ready images are the `<dataDir>/images/<name>/<version>.img` files: the puller renames an
 * image there only after verifying it whole, so the directory itself is the registry.
 */
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { ReadyImage } from '../control/index.ts'

const IMAGE_FILE_RE = /^([1-9][0-9]{0,15})\.img$/

export async function listReadyImages (dataDir: string): Promise<ReadyImage[]> {
  const root = join(dataDir, 'images')
  let names: string[]
  try {
    names = await readdir(root)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
  const out: ReadyImage[] = []
  for (const image of names.sort()) {
    let files: string[]
    try { files = await readdir(join(root, image)) } catch { continue }
    for (const f of files) {
      const m = IMAGE_FILE_RE.exec(f)
      if (m === null) continue
      const path = join(root, image, f)
      const st = await stat(path).catch(() => undefined)
      if (st?.isFile() !== true) continue
      out.push({ image, version: Number(m[1]), path, sizeBytes: st.size })
    }
  }
  return out.sort((a, b) => a.image.localeCompare(b.image) || a.version - b.version)
}
