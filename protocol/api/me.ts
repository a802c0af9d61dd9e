/**
 * What the caller is and what it gets (`/api/v1/me`, any valid token): its identity and
 * token, and its workspaces — one per assigned image, after the precedence rule, each
 * resolved to the version it delivers. What a node asks before it pulls.
 */
import { z } from 'zod'
import { PolicySchema, SubjectKindSchema } from './policies.ts'
import { TokenKindSchema } from './tokens.ts'

export const MeSchema = z.object({
  user: z.string(),
  groups: z.array(z.string()),
  admin: z.boolean(),
  kind: TokenKindSchema,
  token: z.object({ id: z.number().int(), label: z.string(), createdAt: z.string(), expiresAt: z.string().nullable(), expiresAtMs: z.number().int().nullable() })
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

export const WorkspaceListSchema = z.object({ workspaces: z.array(WorkspaceSchema) })
export type WorkspaceList = z.infer<typeof WorkspaceListSchema>
