/**
 * What the caller is and what it gets: any authenticated user or machine. Shapes:
 * `protocol/api/me.ts`. `/me/workspaces` is the policies service's answer for the caller —
 * the precedence rule over its assignments, each workspace resolved to the version it
 * delivers (pinned, or the latest published).
 */
import { createRoute } from '@hono/zod-openapi'
import type { OpenAPIHono } from '@hono/zod-openapi'
import { MeSchema, WorkspaceListSchema } from '../../protocol/index.ts'
import type { TrackerComponents, TrackerEnv } from '../env.ts'
import { meView } from '../identity/index.ts'
import { workspaceView } from '../policies/index.ts'
import { errorResponse, newRouter } from './router.ts'

export function meRoutes (components: Pick<TrackerComponents, 'identity' | 'policies'>): OpenAPIHono<TrackerEnv> {
  const { identity, policies } = components
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
    const resolved = await policies.workspacesFor(c.get('principal'))
    const workspaces = await Promise.all(resolved.map(async (w) => workspaceView(w, await policies.deliveredVersion(w.policy))))
    return c.json({ workspaces }, 200)
  })

  return app
}
