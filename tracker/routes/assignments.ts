/**
 * Who gets which policy, admin only: assign a policy to a user or a group, list, remove.
 * Shapes: `protocol/api/policies.ts`; which policy applies when several reach a user is the
 * policies service's precedence rule (`policies/workspaces.ts`).
 */
import { createRoute } from '@hono/zod-openapi'
import type { OpenAPIHono } from '@hono/zod-openapi'
import { AssignmentListQuerySchema, AssignmentListSchema, AssignmentSchema, AssignmentTargetSchema, RemovedAssignmentSchema } from '../../protocol/index.ts'
import { requireAdmin } from '../auth.ts'
import type { TrackerComponents, TrackerEnv } from '../env.ts'
import { assignmentView } from '../policies/index.ts'
import { ADMIN_ERRORS, adminJsonBody, adminOnly } from './admin-request.ts'
import { errorResponse, newRouter } from './router.ts'

export function assignmentsRoutes (components: Pick<TrackerComponents, 'policies'>): OpenAPIHono<TrackerEnv> {
  const { policies } = components
  const app = newRouter()

  app.openapi(createRoute({
    method: 'post',
    path: '/assignments',
    summary: 'Assign a policy to a user or a group (admin)',
    middleware: adminJsonBody(),
    request: { body: { required: true, content: { 'application/json': { schema: AssignmentTargetSchema } } } },
    responses: {
      201: { description: 'assigned', content: { 'application/json': { schema: AssignmentSchema } } },
      404: errorResponse('no such policy'),
      409: errorResponse('already assigned'),
      ...ADMIN_ERRORS
    }
  }), async (c) => {
    const caller = requireAdmin(c)
    const { assignment, policy } = await policies.assign(c.req.valid('json'), caller.user)
    return c.json(assignmentView(assignment, policy.name), 201)
  })

  app.openapi(createRoute({
    method: 'get',
    middleware: [adminOnly] as const,
    path: '/assignments',
    summary: 'List assignments, filtered by policy, user or group (admin)',
    request: { query: AssignmentListQuerySchema },
    responses: { 200: { description: 'assignments, ascending by id', content: { 'application/json': { schema: AssignmentListSchema } } }, ...ADMIN_ERRORS }
  }), async (c) => {
    const rows = await policies.listAssignments(c.req.valid('query'))
    return c.json({ assignments: rows.map((r) => assignmentView(r.assignment, r.policy)) }, 200)
  })

  app.openapi(createRoute({
    method: 'delete',
    middleware: [adminOnly] as const,
    path: '/assignments',
    summary: 'Remove an assignment (admin)',
    request: { query: AssignmentTargetSchema },
    responses: {
      200: { description: 'removed', content: { 'application/json': { schema: RemovedAssignmentSchema } } },
      404: errorResponse('no such policy or assignment'),
      ...ADMIN_ERRORS
    }
  }), async (c) => {
    const caller = requireAdmin(c)
    const target = c.req.valid('query')
    await policies.unassign(target, caller.user)
    return c.json({ removed: target }, 200)
  })

  return app
}
