/**
 * The pull's use of a boot profile: fetched from the origin with the pull's own access,
 * verified against the pinned key and this manifest's digest, turned into the units of the
 * version (in profile order) that the transfer takes first. Best effort: no profile, or a
 * refused one, leaves the pull's order as it was — a profile is advice, never data.
 */
import type { Logger, OriginAccess } from '../../protocol/index.ts'
import { manifestDigest } from '../../protocol/index.ts'
import { fetchBootProfile } from '../origin/index.ts'
import type { Trust } from '../trust.ts'
import type { ChunkTable } from './chunk-table.ts'

export async function bootProfileUnits (access: OriginAccess, trust: Trust, root: Uint8Array, table: ChunkTable, log: Logger, signal?: AbortSignal): Promise<number[] | undefined> {
  try {
    const profile = await fetchBootProfile(access, { publicKey: trust.repositoryKey, manifestDigest: manifestDigest(root), signal })
    if (profile === undefined) return undefined
    const units: number[] = []
    for (const id of profile.chunks) {
      const u = table.unitOfId(id)
      if (u !== undefined) units.push(u)
    }
    log.info('boot profile: its chunks come first', { chunks: units.length })
    return units
  } catch (err) {
    if (signal?.aborted === true) throw err
    log.warn('boot profile refused or unavailable; pulling in the usual order', { code: (err as { code?: string }).code, err })
    return undefined
  }
}
