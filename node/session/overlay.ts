/**
 * The per-user qcow2 overlay over a workspace's read-only raw base: the guest writes only
 * to the overlay, so many sessions share one base and a revertible workspace is reset by
 * deleting its overlay. The overlay's header names its backing file; we read it ourselves
 * (no tool to spawn) to refuse an overlay whose base is gone or was replaced.
 */
import { open, rename, rm, stat } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { SessionError } from './errors.ts'
import { runTool } from './qemu-process.ts'

const QCOW2_MAGIC = 0x514649fb // "QFI\xfb"
/** Backing file names longer than this are not ours (QEMU caps them at 1023 bytes). */
const MAX_BACKING_NAME_BYTES = 1023

/**
 * The backing file named by a qcow2 header, resolved against the overlay's directory;
 * undefined when the image has none. Throws when the file is not qcow2.
 */
export async function readBackingFile (overlayPath: string): Promise<string | undefined> {
  const fh = await open(overlayPath, 'r')
  try {
    const header = Buffer.alloc(20)
    const { bytesRead } = await fh.read(header, 0, 20, 0)
    if (bytesRead < 20 || header.readUInt32BE(0) !== QCOW2_MAGIC) throw new Error(`${overlayPath} is not a qcow2 image`)
    const offset = header.readBigUInt64BE(8)
    const size = header.readUInt32BE(16)
    if (offset === 0n || size === 0) return undefined
    if (size > MAX_BACKING_NAME_BYTES) throw new Error(`${overlayPath}: backing file name of ${size} bytes`)
    const name = Buffer.alloc(size)
    await fh.read(name, 0, size, Number(offset))
    return resolve(dirname(overlayPath), name.toString('utf8'))
  } finally {
    await fh.close()
  }
}

async function exists (path: string): Promise<boolean> {
  return await stat(path).then(() => true, () => false)
}

export interface OverlayOptions {
  overlayPath: string
  basePath: string
  qemuImgBinary: string
  /** the base is still arriving (instant start): it need not exist yet, and the overlay is made this long without opening it */
  lazySizeBytes?: number
  signal?: AbortSignal
}

/**
 * Makes sure `overlayPath` is a qcow2 overlay over `basePath`: creates it (atomically) when
 * missing; an existing one must name that same base, which must still exist.
 */
export async function ensureOverlay (o: OverlayOptions): Promise<{ created: boolean }> {
  const base = resolve(o.basePath)
  if (await exists(o.overlayPath)) {
    const backing = await readBackingFile(o.overlayPath)
    if (backing === undefined || (o.lazySizeBytes === undefined && !await exists(backing))) {
      throw new SessionError('ERR_OVERLAY_BASE_GONE', `the overlay ${o.overlayPath} is over ${backing ?? 'nothing'}, which is gone: its changes cannot be used; delete the overlay to start afresh from ${base}`)
    }
    if (backing !== base) {
      throw new SessionError('ERR_OVERLAY_BASE_CHANGED', `the overlay ${o.overlayPath} holds changes to ${backing}, not to ${base}: starting it over another base would corrupt the workspace`)
    }
    return { created: false }
  }
  if (o.lazySizeBytes === undefined && !await exists(base)) throw new SessionError('ERR_BASE_IMAGE_MISSING', `the base image ${base} does not exist`)
  const tmp = `${o.overlayPath}.${process.pid}.tmp`
  try {
    // lazily: the header names the file the base will be (-u: not opened, the size given)
    const lazy = o.lazySizeBytes === undefined ? [] : ['-u', tmp, String(o.lazySizeBytes)]
    await runTool(o.qemuImgBinary, ['create', '-q', '-f', 'qcow2', '-b', base, '-F', 'raw', ...(lazy.length === 0 ? [tmp] : lazy)], { signal: o.signal })
    await rename(tmp, o.overlayPath)
  } finally {
    await rm(tmp, { force: true })
  }
  return { created: true }
}

export async function removeOverlay (overlayPath: string): Promise<void> {
  await rm(overlayPath, { force: true })
}
