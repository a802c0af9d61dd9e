/**
 * Usage policies, admin only: create, list, show (with its assignments), update, delete.
 * A policy names an image and says how a workspace of it may be fetched and run. Shapes:
 * `protocol/api/policies.ts`, validated here once; the rules: the policies service.
 */
import { createRoute } from '@hono/zod-openapi'
import type { OpenAPIHono } from '@hono/zod-openapi'
import {
  CreatePolicySchema, DeletedPolicySchema, PolicyListQuerySchema, PolicyListSchema, PolicyNameParamSchema, PolicySchema,
  PolicyWithAssignmentsSchema, UpdatePolicySchema
} from '../../protocol/index.ts'
import { requireAdmin } from '../auth.ts'
import type { TrackerComponents, TrackerEnv } from '../env.ts'
import { policyView } from '../policies/index.ts'
import { ADMIN_ERRORS, adminJsonBody, adminOnly } from './admin-request.ts'
import { errorResponse, newRouter } from './router.ts'

export function policiesRoutes (components: Pick<TrackerComponents, 'policies'>): OpenAPIHono<TrackerEnv> {
  const { policies } = components
  const app = newRouter()

  app.openapi(createRoute({
    method: 'post',
    path: '/policies',
    summary: 'Create a usage policy (admin)',
    middleware: adminJsonBody(),
    request: { body: { required: true, content: { 'application/json': { schema: CreatePolicySchema } } } },
    responses: { 201: { description: 'created', content: { 'application/json': { schema: PolicySchema } } }, 409: errorResponse('name taken'), ...ADMIN_ERRORS }
  }), async (c) => {
    const caller = requireAdmin(c)
    return c.json(policyView(await policies.create(c.req.valid('json'), caller.user)), 201)
  })

  app.openapi(createRoute({
    method: 'get',
    middleware: [adminOnly] as const,
    path: '/policies',
    summary: 'List policies, optionally of one image (admin)',
    request: { query: PolicyListQuerySchema },
    responses: { 200: { description: 'policies, ascending by name', content: { 'application/json': { schema: PolicyListSchema } } }, ...ADMIN_ERRORS }
  }), async (c) => {
    return c.json({ policies: (await policies.list(c.req.valid('query'))).map(policyView) }, 200)
  })

  app.openapi(createRoute({
    method: 'get',
    middleware: [adminOnly] as const,
    path: '/policies/{name}',
    summary: 'Show a policy and whom it is assigned to (admin)',
    request: { params: PolicyNameParamSchema },
    responses: { 200: { description: 'the policy', content: { 'application/json': { schema: PolicyWithAssignmentsSchema } } }, 404: errorResponse('no such policy'), ...ADMIN_ERRORS }
  }), async (c) => {
    const { policy, assignments } = await policies.show(c.req.valid('param').name)
    return c.json({ ...policyView(policy), assignments: assignments.map((a) => ({ kind: a.subjectKind, subject: a.subject })) }, 200)
  })

  app.openapi(createRoute({
    method: 'patch',
    path: '/policies/{name}',
    summary: 'Change some fields of a policy, or rename it (admin)',
    middleware: adminJsonBody(),
    request: { params: PolicyNameParamSchema, body: { required: true, content: { 'application/json': { schema: UpdatePolicySchema } } } },
    responses: { 200: { description: 'updated', content: { 'application/json': { schema: PolicySchema } } }, 404: errorResponse('no such policy'), 409: errorResponse('new name taken'), ...ADMIN_ERRORS }
  }), async (c) => {
    const caller = requireAdmin(c)
    return c.json(policyView(await policies.update(c.req.valid('param').name, c.req.valid('json'), caller.user)), 200)
  })

  app.openapi(createRoute({
    method: 'delete',
    middleware: [adminOnly] as const,
    path: '/policies/{name}',
    summary: 'Delete a policy and its assignments (admin)',
    request: { params: PolicyNameParamSchema },
    responses: { 200: { description: 'deleted', content: { 'application/json': { schema: DeletedPolicySchema } } }, 404: errorResponse('no such policy'), ...ADMIN_ERRORS }
  }), async (c) => {
    const caller = requireAdmin(c)
    const deleted = await policies.delete(c.req.valid('param').name, caller.user)
    return c.json({ deleted: deleted.name }, 200)
  })

  return app
}
