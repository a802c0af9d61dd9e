/**
 * What the caller is and what it gets: any authenticated user or machine. Shapes:
 * `protocol/api/me.ts`. `/me/workspaces` is the policies service's answer for the caller —
 * the precedence rule over its assignments, each workspace resolved to the version it
 * delivers (pinned, or the latest published) — in the clear and as a document signed with
 * the repository key, which nodes keep as their policy cache.
 */
import { createRoute } from '@hono/zod-openapi'
import type { OpenAPIHono } from '@hono/zod-openapi'
import { MeSchema, WORKSPACE_DOCUMENT_CONTEXT, WorkspaceListSchema, signDocument } from '../../protocol/index.ts'
import type { WorkspaceDocument } from '../../protocol/index.ts'
import type { TrackerComponents, TrackerEnv } from '../env.ts'
import { meView } from '../identity/index.ts'
import { workspaceView } from '../policies/index.ts'
import { errorResponse, newRouter } from './router.ts'

export function meRoutes (components: Pick<TrackerComponents, 'identity' | 'policies' | 'keys' | 'now'>): OpenAPIHono<TrackerEnv> {
  const { identity, policies, keys, now } = components
  const app = newRouter()

  app.openapi(createRoute({
    method: 'get',
    path: '/me',
    summary: 'Who the caller is (any token)',
    responses: { 200: { description: 'the caller', content: { 'application/json': { schema: MeSchema } } }, 401: errorResponse('no valid token') }
  }), async (c) => {
    const p = c.get('principal')
    return c.json(meView(p, await identity.tokenOf(p)), 200)
  })

  app.openapi(createRoute({
    method: 'get',
    path: '/me/workspaces',
    summary: "The caller's workspaces: one per assigned image, after the precedence rule (any token)",
    responses: { 200: { description: 'workspaces, by image name', content: { 'application/json': { schema: WorkspaceListSchema } } }, 401: errorResponse('no valid token') }
  }), async (c) => {
    const principal = c.get('principal')
    const resolved = await policies.workspacesFor(principal)
    const workspaces = await Promise.all(resolved.map(async (w) => workspaceView(w, await policies.deliveredVersion(w.policy))))
    // Signed with the repository key the node pinned at enrollment: the node keeps it and
    // enforces it offline, and refuses one changed on its disk.
    const t = now()
    const document: WorkspaceDocument = { user: principal.user, issuedAtMs: t, serverTimeMs: t, workspaces }
    return c.json({ workspaces, signed: signDocument(keys.repository.privateKey, WORKSPACE_DOCUMENT_CONTEXT, JSON.stringify(document)) }, 200)
  })

  return app
}
