/**
 * What the node tells the tracker about itself with every event batch: host, site, OS and
 * its own version. A field the API would refuse (a host name with a space, a site over
 * 100 characters) is left out rather than sent, so it can never get batches refused.
 */
import { createRequire } from 'node:module'
import { arch, hostname, release, type } from 'node:os'
import { ClientInfoSchema } from '../../protocol/index.ts'
import type { ClientInfo } from '../../protocol/index.ts'

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string }

/** This machine's client info for `site`; only the fields that pass the API's schema. */
export function clientInfo (site: string): ClientInfo {
  const wanted: Record<keyof ClientInfo, string> = { host: hostname(), site, os: `${type()} ${release()} ${arch()}`, nodeVersion: version }
  const out: ClientInfo = {}
  for (const [key, value] of Object.entries(wanted) as Array<[keyof ClientInfo, string]>) {
    if (ClientInfoSchema.shape[key].safeParse(value).success) out[key] = value
  }
  return out
}
