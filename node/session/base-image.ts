/**
 * Which file a session boots for an image: the newest ready version this node holds. The
 * one place that knows the node's image layout on the session side, so a change of that
 * layout changes only this function.
 */
import type { ReadyImage } from '../control/index.ts'
import { SessionError } from './errors.ts'

export async function findBaseImage (images: () => Promise<ReadyImage[]>, image: string): Promise<{ path: string, version: number }> {
  const held = (await images()).filter((i) => i.image === image)
  const newest = held.reduce<ReadyImage | undefined>((a, b) => a === undefined || b.version > a.version ? b : a, undefined)
  if (newest === undefined) throw new SessionError('ERR_IMAGE_NOT_READY', `this node holds no ready version of ${image}: "branchcast pull ${image}" first, or pass --disk`)
  return { path: newest.path, version: newest.version }
}
