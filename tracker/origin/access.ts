/**
 * Handing out origin access: a capability token for the built-in origin and, when an
 * external static origin is configured (`config.originUrl`), the signed-URL query for it.
 * Used by the origin-token route (`grantOriginAccess`, which checks the caller first) and
 * by swarm announce answers (`issueOriginAccess`).
 */
import { signCapability } from '../../protocol/index.ts'
import type { OriginAccess } from '../../protocol/index.ts'
import type { Principal, TrackerComponents } from '../env.ts'
import { notFound } from '../errors.ts'
import { signOriginLink } from './secure-link.ts'

/** Where the built-in origin is mounted in the tracker's app. */
export const BUILTIN_ORIGIN_PATH = '/origin'

export interface IssueOriginAccessInput {
  /** the node the token is bound to (its client id or libp2p peer id) */
  clientId: string
  image: string
  /** the workspace policy's origin rate cap, signed into the token (null/undefined: none) */
  rateBytesPerSec?: number | null
}

/**
 * A fresh origin grant for `clientId` on `image`, valid `config.capabilityTtlSeconds`.
 * The caller has already checked that the principal may fetch the image. Throws
 * `TypeError` for a client id or image name a token cannot carry.
 */
export function issueOriginAccess (components: Pick<TrackerComponents, 'config' | 'keys' | 'now'>, input: IssueOriginAccessInput): OriginAccess {
  const { config, keys } = components
  const iat = components.now()
  // Whole seconds, so the token and a signed URL (seconds) expire at the same instant.
  const expiresAtMs = Math.floor((iat + config.capabilityTtlSeconds * 1000) / 1000) * 1000
  const rate = input.rateBytesPerSec ?? undefined
  const token = signCapability({ aud: 'origin', sub: input.clientId, img: input.image, iat, exp: expiresAtMs, ...(rate === undefined ? {} : { rate }) }, keys.capability.privateKey)
  if (config.originUrl !== undefined) {
    const query = signOriginLink({ secret: keys.originLinkSecret, clientId: input.clientId, image: input.image, expiresAtSec: expiresAtMs / 1000 })
    return { token, expiresAtMs, originUrl: config.originUrl.replace(/\/+$/, ''), kind: 'nginx', query }
  }
  // publicUrl is set once the server listens (port 0 in tests), so it is read per call.
  const base = (config.publicUrl ?? `http://${config.host}:${config.port}`).replace(/\/+$/, '')
  return { token, expiresAtMs, originUrl: `${base}${BUILTIN_ORIGIN_PATH}`, kind: 'builtin' }
}

/**
 * Origin access for `principal`'s node on `image`: the image must be assigned to them (or
 * they are an admin) and exist, and a registered client id must be theirs (admins may
 * name any). Throws `TrackerError` ERR_FORBIDDEN or ERR_NOT_FOUND (admins only: users
 * get 403 for unknown names, so they cannot probe them).
 */
export async function grantOriginAccess (components: Pick<TrackerComponents, 'config' | 'keys' | 'now' | 'store' | 'identity' | 'policies'>, principal: Principal, input: IssueOriginAccessInput): Promise<OriginAccess> {
  const ws = await components.policies.requireImageAccess(principal, input.image)
  if (await components.store.getImage(input.image) === undefined) throw notFound('no such image')
  if (!principal.admin) await components.identity.requireClientOwner(input.clientId, principal.user)
  return issueOriginAccess(components, { ...input, rateBytesPerSec: ws?.policy.originRateBytesPerSec })
}
