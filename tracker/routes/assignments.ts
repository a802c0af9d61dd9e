/**
 * Who gets which policy, admin only: assign a policy to a user or a group, list, remove.
 * Which one applies when several reach a user is `workspaces.ts`'s precedence rule.
 */
import { createRoute, z } from '@hono/zod-openapi'
import type { OpenAPIHono } from '@hono/zod-openapi'
import { newRouter } from './router.ts'
import { requireAdmin } from '../auth.ts'
import type { TrackerComponents, TrackerEnv } from '../env.ts'
import type { AssignmentRecord, SubjectKind } from '../db/store.ts'
import { badRequest, notFound } from '../errors.ts'
import { adminJsonBody, adminOnly, iso, nameSchema } from './admin-request.ts'

const TargetFields = {
  policy: nameSchema('policy'),
  user: nameSchema('user').optional(),
  group: nameSchema('group').optional()
}
export const AssignmentBodySchema = z.object(TargetFields).strict().openapi('AssignmentTarget')

const AssignmentSchema = z.object({
  id: z.number().int(),
  policy: z.string(),
  kind: z.enum(['user', 'group']),
  subject: z.string(),
  createdAt: z.string()
}).openapi('Assignment')

const ErrorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) })
const err = (description: string): { description: string, content: { 'application/json': { schema: typeof ErrorSchema } } } =>
  ({ description, content: { 'application/json': { schema: ErrorSchema } } })
const errors = { 400: err('malformed request'), 401: err('no valid token'), 403: err('not an admin') }

/** Exactly one of user / group. */
function subjectOf (t: { user?: string, group?: string }): { subjectKind: SubjectKind, subject: string } {
  if (t.user !== undefined && t.group !== undefined) throw badRequest('user: give user or group, not both')
  if (t.user !== undefined) return { subjectKind: 'user', subject: t.user }
  if (t.group !== undefined) return { subjectKind: 'group', subject: t.group }
  throw badRequest('user: give user or group')
}

export function assignmentsRoutes (components: Pick<TrackerComponents, 'store' | 'now' | 'logger'>): OpenAPIHono<TrackerEnv> {
  const { store, now } = components
  const log = components.logger.forComponent('tracker:assignments')
  const app = newRouter()

  const view = (a: AssignmentRecord, policy: string): z.infer<typeof AssignmentSchema> =>
    ({ id: a.id, policy, kind: a.subjectKind, subject: a.subject, createdAt: iso(a.createdAtMs)! })

  app.openapi(createRoute({
    method: 'post',
    path: '/assignments',
    summary: 'Assign a policy to a user or a group (admin)',
    middleware: adminJsonBody(),
    request: { body: { required: true, content: { 'application/json': { schema: AssignmentBodySchema } } } },
    responses: {
      201: { description: 'assigned', content: { 'application/json': { schema: AssignmentSchema } } },
      404: err('no such policy'),
      409: err('already assigned'),
      ...errors
    }
  }), async (c) => {
    const caller = requireAdmin(c)
    const body = c.req.valid('json')
    const target = subjectOf(body)
    const policy = await store.getPolicyByName(body.policy)
    if (policy === undefined) throw notFound(`no policy named ${JSON.stringify(body.policy)}`)
    const a = await store.assign({ policyId: policy.id, ...target, nowMs: now() })
    log.info('policy assigned', { policy: policy.name, kind: a.subjectKind, subject: a.subject, by: caller.user })
    return c.json(view(a, policy.name), 201)
  })

  app.openapi(createRoute({
    method: 'get',
    middleware: [adminOnly] as const,
    path: '/assignments',
    summary: 'List assignments, filtered by policy, user or group (admin)',
    request: { query: z.object({ policy: z.string().max(200).optional(), user: z.string().max(200).optional(), group: z.string().max(200).optional() }).strict() },
    responses: { 200: { description: 'assignments, ascending by id', content: { 'application/json': { schema: z.object({ assignments: z.array(AssignmentSchema) }) } } }, ...errors }
  }), async (c) => {
    requireAdmin(c)
    const q = c.req.valid('query')
    const target = q.user === undefined && q.group === undefined ? {} : subjectOf(q)
    const policies = new Map((await store.listPolicies()).map((p) => [p.id, p.name]))
    let policyId: number | undefined
    if (q.policy !== undefined) {
      policyId = [...policies].find(([, name]) => name === q.policy)?.[0]
      if (policyId === undefined) return c.json({ assignments: [] }, 200)
    }
    const rows = await store.listAssignments({ ...target, ...(policyId === undefined ? {} : { policyId }) })
    return c.json({ assignments: rows.map((a) => view(a, policies.get(a.policyId) ?? '')) }, 200)
  })

  app.openapi(createRoute({
    method: 'delete',
    middleware: [adminOnly] as const,
    path: '/assignments',
    summary: 'Remove an assignment (admin)',
    request: { query: AssignmentBodySchema },
    responses: {
      200: { description: 'removed', content: { 'application/json': { schema: z.object({ removed: AssignmentBodySchema }) } } },
      404: err('no such policy or assignment'),
      ...errors
    }
  }), async (c) => {
    const caller = requireAdmin(c)
    const q = c.req.valid('query')
    const target = subjectOf(q)
    const policy = await store.getPolicyByName(q.policy)
    if (policy === undefined) throw notFound(`no policy named ${JSON.stringify(q.policy)}`)
    if (!await store.unassign({ policyId: policy.id, ...target })) throw notFound(`policy ${JSON.stringify(policy.name)} is not assigned to ${target.subjectKind} ${JSON.stringify(target.subject)}`)
    log.info('policy unassigned', { policy: policy.name, kind: target.subjectKind, subject: target.subject, by: caller.user })
    return c.json({ removed: q }, 200)
  })

  return app
}
