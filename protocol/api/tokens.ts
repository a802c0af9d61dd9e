/**
 * API tokens (`/api/v1/tokens`, admins only): what an admin sends to issue one and what the
 * tracker answers. The plaintext token is in the answer to issuing and nowhere else; no
 * answer ever carries its hash. Shared by the tracker's routes and `branchcast token`.
 */
import { z } from 'zod'
import { MAX_NAME_CHARS, nameSchema } from './common.ts'

/** Groups carried by one token: directory users are in dozens, not thousands. */
export const MAX_TOKEN_GROUPS = 256
/** A token's label, shown in listings. */
export const MAX_TOKEN_LABEL_CHARS = 200
/** `expiresIn`: a duration ("30d", "1d12h"), a few units. */
const MAX_EXPIRES_IN_CHARS = 32

export const TokenKindSchema = z.enum(['user', 'machine'])
export type TokenKind = z.infer<typeof TokenKindSchema>

/**
 * What a caller may do, as MED-V had it: a user (their own workspaces), a read-only admin
 * (sees everything, changes nothing) or a full admin. The same for API tokens and OpenID
 * Connect access tokens.
 */
export const RoleSchema = z.enum(['user', 'read-only-admin', 'admin'])
export type Role = z.infer<typeof RoleSchema>

/** A token as admins see it: never the hash, never the plaintext. */
export const TokenSchema = z.object({
  id: z.number().int(),
  user: z.string(),
  groups: z.array(z.string()),
  /** either admin role (sees everything); `role` says which */
  admin: z.boolean(),
  role: RoleSchema,
  kind: TokenKindSchema,
  label: z.string(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
  status: z.enum(['active', 'revoked', 'expired'])
}).meta({ id: 'ApiToken' })
export type Token = z.infer<typeof TokenSchema>

export const CreateTokenSchema = z.object({
  user: nameSchema('user'),
  groups: z.array(nameSchema('group')).max(MAX_TOKEN_GROUPS).optional(),
  /** `true` = `role: "admin"`; give one of the two */
  admin: z.boolean().optional(),
  role: RoleSchema.optional(),
  kind: TokenKindSchema.optional(),
  label: z.string().max(MAX_TOKEN_LABEL_CHARS).optional(),
  /** relative lifetime: "30d", "12h", "1d12h" */
  expiresIn: z.string().max(MAX_EXPIRES_IN_CHARS).optional(),
  /** absolute expiry, epoch milliseconds */
  expiresAtMs: z.number().int().positive().optional()
}).strict().meta({ id: 'CreateToken' })
export type CreateToken = z.infer<typeof CreateTokenSchema>

export const IssuedTokenSchema = TokenSchema.extend({
  /** the plaintext bearer token: shown in this answer only */
  token: z.string()
}).meta({ id: 'IssuedToken' })
export type IssuedToken = z.infer<typeof IssuedTokenSchema>

export const TokenListQuerySchema = z.object({ user: z.string().max(MAX_NAME_CHARS).optional() })
export const TokenListSchema = z.object({ tokens: z.array(TokenSchema) })
export type TokenList = z.infer<typeof TokenListSchema>

export const TokenIdParamSchema = z.object({ id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) })
