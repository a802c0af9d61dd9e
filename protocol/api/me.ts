/**
 * What the caller is and what it gets (`/api/v1/me`, any valid token): its identity and
 * token, and its workspaces — one per assigned image, after the precedence rule, each
 * resolved to the version it delivers. What a node asks before it pulls.
 */
import { z } from 'zod'
import { PolicySchema, SubjectKindSchema } from './policies.ts'
import { RoleSchema, TokenKindSchema } from './tokens.ts'

/** How the caller authenticated: an API token (bct_…), an OpenID Connect access token, or the console's session cookie. */
export const CredentialKindSchema = z.enum(['api-token', 'access-token', 'session'])
export type CredentialKind = z.infer<typeof CredentialKindSchema>

export const MeSchema = z.object({
  user: z.string(),
  groups: z.array(z.string()),
  /** either admin role; `role` says which */
  admin: z.boolean(),
  role: RoleSchema,
  kind: TokenKindSchema,
  via: CredentialKindSchema,
  /** the API token called with; null for an access token or a session */
  token: z.object({ id: z.number().int(), label: z.string(), createdAt: z.string(), expiresAt: z.string().nullable(), expiresAtMs: z.number().int().nullable() }).nullable()
}).meta({ id: 'Me' })
export type Me = z.infer<typeof MeSchema>

export const WorkspaceSchema = z.object({
  image: z.string(),
  policy: PolicySchema,
  /** the assignment that made this policy apply */
  via: z.object({ kind: SubjectKindSchema, subject: z.string() }),
  /** the policy's expiry has passed: the node must lock the workspace */
  expired: z.boolean(),
  /** the version delivered: the pinned one if published, else the latest published; null = none yet */
  version: z.number().int().nullable(),
  manifestId: z.string().nullable()
}).meta({ id: 'Workspace' })
export type Workspace = z.infer<typeof WorkspaceSchema>

/** A user's workspaces: one per image, so a few hundred at most. */
export const MAX_DOCUMENT_WORKSPACES = 1000
/** The signed workspace document's payload text, at most (a node refuses a larger one unread). */
export const MAX_WORKSPACE_DOCUMENT_BYTES = 1024 * 1024
/** The signature context of the workspace document (see `protocol/signing/signed-document.ts`). */
export const WORKSPACE_DOCUMENT_CONTEXT = 'branchcast/workspaces/1'

/**
 * What the tracker signs for the caller: its workspaces and when it said so. A node keeps
 * the last one it verified and enforces it offline; `issuedAtMs` orders documents (an
 * older one never replaces a newer one) and `serverTimeMs` is the tracker's clock at that
 * moment: the last successful contact the offline grace counts from.
 */
export const WorkspaceDocumentSchema = z.object({
  user: z.string().min(1).max(200),
  issuedAtMs: z.number().int().nonnegative(),
  serverTimeMs: z.number().int().nonnegative(),
  workspaces: z.array(WorkspaceSchema).max(MAX_DOCUMENT_WORKSPACES)
}).meta({ id: 'WorkspaceDocument' })
export type WorkspaceDocument = z.infer<typeof WorkspaceDocumentSchema>

export const SignedDocumentSchema = z.object({
  payload: z.string().max(MAX_WORKSPACE_DOCUMENT_BYTES),
  signature: z.string().max(200),
  keyId: z.string().max(64)
}).strict().meta({ id: 'SignedDocument' })

/** `/me/workspaces`: the workspaces in the clear (for people and scripts) and the signed document (for nodes). */
export const WorkspaceListSchema = z.object({ workspaces: z.array(WorkspaceSchema), signed: SignedDocumentSchema })
export type WorkspaceList = z.infer<typeof WorkspaceListSchema>

/**
 * How to log in to this tracker (`GET /auth/config`, open): the OpenID Connect issuer, the
 * audience its access tokens must carry, and the public clients `branchcast login` (device
 * grant) and the console (code + PKCE) use.
 */
export const AuthConfigSchema = z.object({
  issuer: z.string().url(),
  audience: z.string(),
  cliClientId: z.string(),
  consoleClientId: z.string(),
  /** the tracker runs the issuer itself (development provider, users in its data directory) */
  embedded: z.boolean()
}).meta({ id: 'AuthConfig' })
export type AuthConfig = z.infer<typeof AuthConfigSchema>

/** A loopback host name or address (`localhost`, `127.x.x.x`, `::1`). */
export function isLoopbackHost (hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || hostname === '::1' || /^127\.\d+\.\d+\.\d+$/.test(hostname)
}

/**
 * An issuer both sides will talk to: https, or plain http on a loopback address only (tests,
 * the tracker's development provider) — openid-client needs `allowInsecureRequests` then.
 */
export function isSecureIssuer (url: string): boolean {
  const u = new URL(url)
  return u.protocol === 'https:' || (u.protocol === 'http:' && isLoopbackHost(u.hostname))
}
