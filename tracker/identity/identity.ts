/**
 * The identity service (see index.ts): issuing, listing and revoking API tokens, and
 * resolving a bearer token to a principal.
 */
import { parseDurationMs } from '../../protocol/index.ts'
import type { CreateToken, Logger } from '../../protocol/index.ts'
import type { TokenRecord } from '../db/store.ts'
import type { Principal } from '../env.ts'
import { badRequest, forbidden, notFound, unauthenticated } from '../errors.ts'
import { hashApiToken, isApiTokenShape, mintApiToken, roleColumns, tokenRole } from './api-token.ts'
import { isJwtShape } from './access-token.ts'
import { MAX_TOKEN_TTL_MS, TOKEN_USE_WRITE_INTERVAL_MS } from './constants.ts'
import type { Identity, IdentityComponents, IdentityInit } from './index.ts'

const DAY_MS = 86_400_000

/**
 * The absolute expiry a request asks for (`expiresIn` like "30d", or `expiresAtMs`), checked
 * against `nowMs`; null = never. Throws an ERR_BAD_REQUEST `TrackerError` naming the field.
 */
export function tokenExpiry (body: Pick<CreateToken, 'expiresIn' | 'expiresAtMs'>, nowMs: number, maxTtlMs: number): number | null {
  if (body.expiresIn !== undefined && body.expiresAtMs !== undefined) throw badRequest('expiresIn: give expiresIn or expiresAtMs, not both')
  let at: number | null = null
  if (body.expiresIn !== undefined) {
    try {
      at = nowMs + parseDurationMs(body.expiresIn)
    } catch (err) {
      throw badRequest(`expiresIn: ${(err as Error).message}`)
    }
  }
  if (body.expiresAtMs !== undefined) at = body.expiresAtMs
  if (at !== null && at <= nowMs) throw badRequest('expiresAtMs: the token would already be expired')
  if (at !== null && at - nowMs > maxTtlMs) throw badRequest(`expiresIn: at most ${maxTtlMs / DAY_MS} days`)
  return at
}

export class IdentityService implements Identity {
  private readonly components: IdentityComponents
  private readonly maxTokenTtlMs: number
  private readonly tokenUseWriteIntervalMs: number
  private readonly log: Logger

  constructor (components: IdentityComponents, init: IdentityInit) {
    this.components = components
    this.maxTokenTtlMs = init.maxTokenTtlMs ?? MAX_TOKEN_TTL_MS
    this.tokenUseWriteIntervalMs = init.tokenUseWriteIntervalMs ?? TOKEN_USE_WRITE_INTERVAL_MS
    if (!(this.maxTokenTtlMs > 0) || !(this.tokenUseWriteIntervalMs >= 0)) throw new TypeError('identity needs maxTokenTtlMs > 0 and tokenUseWriteIntervalMs >= 0')
    this.log = components.logger.forComponent('tracker:tokens')
  }

  async start (): Promise<void> {}

  async stop (): Promise<void> {}

  async authenticate (token: string): Promise<Principal | undefined> {
    if (isJwtShape(token) && this.components.accessTokens !== undefined) return await this.components.accessTokens.verify(token)
    if (!isApiTokenShape(token)) return undefined
    const { store } = this.components
    const nowMs = this.components.now()
    const row = await store.findActiveToken(hashApiToken(token), nowMs)
    if (row === undefined) return undefined
    // `last used` for admins' listings, written at most once a minute per token (read from
    // the row itself, so every tracker process on one database shares the throttle). A
    // failed write must not fail the request it rode on.
    if (row.lastUsedAtMs === null || nowMs - row.lastUsedAtMs >= this.tokenUseWriteIntervalMs) {
      await store.markTokenUsed(row.id, nowMs).catch(() => {})
    }
    const role = tokenRole(row)
    return { tokenId: row.id, user: row.user, groups: row.groups, admin: role !== 'user', role, kind: row.kind, via: 'api-token' }
  }

  async issue (input: CreateToken, by: string): Promise<{ token: string, record: TokenRecord }> {
    const nowMs = this.components.now()
    const expiresAtMs = tokenExpiry(input, nowMs, this.maxTokenTtlMs)
    const role = input.role ?? (input.admin === true ? 'admin' : 'user')
    if (input.admin !== undefined && input.admin !== (role !== 'user')) throw badRequest(`admin: contradicts role "${role}"`)
    const minted = await mintApiToken(this.components.store, {
      user: input.user,
      groups: [...new Set(input.groups ?? [])],
      ...roleColumns(role),
      kind: input.kind ?? 'user',
      label: input.label ?? '',
      expiresAtMs,
      nowMs
    })
    const { record } = minted
    this.log.info('token issued', { id: record.id, user: record.user, role, kind: record.kind, by })
    return minted
  }

  async list (filter: { user?: string } = {}): Promise<TokenRecord[]> {
    return await this.components.store.listTokens(filter.user === undefined ? {} : { user: filter.user })
  }

  async revoke (id: number, by: string): Promise<TokenRecord> {
    const { store } = this.components
    if (!await store.revokeToken(id, this.components.now())) throw notFound(`no token ${id}`)
    const record = await store.getToken(id)
    if (record === undefined) throw notFound(`no token ${id}`)
    this.log.info('token revoked', { id, user: record.user, by })
    return record
  }

  async tokenOf (principal: Principal): Promise<TokenRecord | undefined> {
    if (principal.tokenId === undefined) return undefined
    const token = await this.components.store.getToken(principal.tokenId)
    if (token === undefined) throw unauthenticated('token vanished')
    return token
  }

  async requireClientOwner (clientId: string, user: string, what = 'client id'): Promise<void> {
    const client = await this.components.store.getClient(clientId)
    if (client !== undefined && client.user !== user) throw forbidden(`this ${what} is registered to another user`)
  }
}
