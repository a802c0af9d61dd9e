/** Where an image version lives in the node's data directory. */
import { join } from 'node:path'

export interface VersionPaths {
  /** `<data>/images/<name>` */
  dir: string
  /** `<n>.img`: the ready image (renamed in once every chunk is in) */
  image: string
  /** `<n>.img.partial`: the sparse image while chunks are missing */
  partial: string
  /** `<n>.have`: presence bitmap over manifest indexes */
  have: string
  /** `<n>.manifest`: the signed root it was pulled by */
  manifest: string
}

export function imagePaths (dataDir: string, image: string, version: number): VersionPaths {
  const dir = join(dataDir, 'images', image)
  const base = join(dir, String(version))
  return { dir, image: `${base}.img`, partial: `${base}.img.partial`, have: `${base}.have`, manifest: `${base}.manifest` }
}

/** `<n>.manifest` file names → version numbers. */
export const MANIFEST_FILE_RE = /^([1-9][0-9]{0,15})\.manifest$/
