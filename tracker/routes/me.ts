/**
 * What the caller is and what it gets: any authenticated user or machine. `/me/workspaces`
 * applies the precedence rule (`workspaces.ts`) to the caller's assignments and resolves
 * each workspace to the version it delivers (pinned, or the latest published).
 */
import { createRoute, z } from '@hono/zod-openapi'
import type { OpenAPIHono } from '@hono/zod-openapi'
import { newRouter } from './router.ts'
import { workspacesFor } from '../access.ts'
import type { TrackerComponents, TrackerEnv } from '../env.ts'
import type { PolicyRecord, TrackerStore, VersionRecord } from '../db/store.ts'
import { unauthenticated } from '../errors.ts'
import { iso } from './admin-request.ts'
import { PolicySchema, policyView } from './policies.ts'

const ErrorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) })

const MeSchema = z.object({
  user: z.string(),
  groups: z.array(z.string()),
  admin: z.boolean(),
  kind: z.enum(['user', 'machine']),
  token: z.object({ id: z.number().int(), label: z.string(), createdAt: z.string(), expiresAt: z.string().nullable(), expiresAtMs: z.number().int().nullable() })
}).openapi('Me')

const WorkspaceSchema = z.object({
  image: z.string(),
  policy: PolicySchema,
  /** the assignment that made this policy apply */
  via: z.object({ kind: z.enum(['user', 'group']), subject: z.string() }),
  /** the policy's expiry has passed: the node must lock the workspace */
  expired: z.boolean(),
  /** the version delivered: the pinned one if published, else the latest published; null = none yet */
  version: z.number().int().nullable(),
  manifestId: z.string().nullable()
}).openapi('Workspace')

/** The published version a policy resolves to, if any. */
async function resolvedVersion (store: TrackerStore, policy: PolicyRecord): Promise<VersionRecord | undefined> {
  const image = await store.getImage(policy.imageName)
  if (image === undefined) return undefined
  const v = policy.pinnedVersion === null
    ? await store.latestPublished(image.id)
    : await store.getVersion(image.id, policy.pinnedVersion)
  return v?.state === 'published' ? v : undefined
}

export function meRoutes (components: Pick<TrackerComponents, 'store' | 'now'>): OpenAPIHono<TrackerEnv> {
  const { store } = components
  const app = newRouter()

  app.openapi(createRoute({
    method: 'get',
    path: '/me',
    summary: 'Who the caller is (any token)',
    responses: {
      200: { description: 'the caller', content: { 'application/json': { schema: MeSchema } } },
      401: { description: 'no valid token', content: { 'application/json': { schema: ErrorSchema } } }
    }
  }), async (c) => {
    const p = c.get('principal')
    const token = await store.getToken(p.tokenId)
    if (token === undefined) throw unauthenticated('token vanished')
    return c.json({
      user: p.user,
      groups: p.groups,
      admin: p.admin,
      kind: p.kind,
      token: { id: token.id, label: token.label, createdAt: iso(token.createdAtMs)!, expiresAt: iso(token.expiresAtMs), expiresAtMs: token.expiresAtMs }
    }, 200)
  })

  app.openapi(createRoute({
    method: 'get',
    path: '/me/workspaces',
    summary: "The caller's workspaces: one per assigned image, after the precedence rule (any token)",
    responses: {
      200: { description: 'workspaces, by image name', content: { 'application/json': { schema: z.object({ workspaces: z.array(WorkspaceSchema) }) } } },
      401: { description: 'no valid token', content: { 'application/json': { schema: ErrorSchema } } }
    }
  }), async (c) => {
    const resolved = await workspacesFor(components, c.get('principal'))
    const workspaces = await Promise.all(resolved.map(async (w) => {
      const v = await resolvedVersion(store, w.policy)
      return { image: w.image, policy: policyView(w.policy), via: w.via, expired: w.expired, version: v?.number ?? null, manifestId: v?.manifestId ?? null }
    }))
    return c.json({ workspaces }, 200)
  })

  return app
}
