/**
 * API tokens, admin only: issue (the plaintext is in the answer once and never again),
 * list (no hashes, no plaintexts), revoke. Shapes: `protocol/api/tokens.ts`; the rules:
 * the identity service.
 */
import { createRoute } from '@hono/zod-openapi'
import type { OpenAPIHono } from '@hono/zod-openapi'
import { CreateTokenSchema, IssuedTokenSchema, TokenIdParamSchema, TokenListQuerySchema, TokenListSchema, TokenSchema } from '../../protocol/index.ts'
import { requireAdmin } from '../auth.ts'
import type { TrackerComponents, TrackerEnv } from '../env.ts'
import { tokenView } from '../identity/index.ts'
import { ADMIN_ERRORS, adminJsonBody, adminOnly } from './admin-request.ts'
import { errorResponse, newRouter } from './router.ts'

export function tokensRoutes (components: Pick<TrackerComponents, 'identity' | 'now'>): OpenAPIHono<TrackerEnv> {
  const { identity, now } = components
  const app = newRouter()

  app.openapi(createRoute({
    method: 'post',
    path: '/tokens',
    summary: 'Issue an API token (admin); the plaintext is returned once',
    middleware: adminJsonBody(),
    request: { body: { required: true, content: { 'application/json': { schema: CreateTokenSchema } } } },
    responses: { 201: { description: 'issued', content: { 'application/json': { schema: IssuedTokenSchema } } }, ...ADMIN_ERRORS }
  }), async (c) => {
    const caller = requireAdmin(c)
    const { token, record } = await identity.issue(c.req.valid('json'), caller.user)
    return c.json({ ...tokenView(record, now()), token }, 201)
  })

  app.openapi(createRoute({
    method: 'get',
    middleware: [adminOnly] as const,
    path: '/tokens',
    summary: 'List API tokens (admin); never hashes or plaintexts',
    request: { query: TokenListQuerySchema },
    responses: { 200: { description: 'tokens, ascending by id', content: { 'application/json': { schema: TokenListSchema } } }, ...ADMIN_ERRORS }
  }), async (c) => {
    const tokens = await identity.list(c.req.valid('query'))
    const nowMs = now()
    return c.json({ tokens: tokens.map((t) => tokenView(t, nowMs)) }, 200)
  })

  app.openapi(createRoute({
    method: 'delete',
    middleware: [adminOnly] as const,
    path: '/tokens/{id}',
    summary: 'Revoke an API token (admin); idempotent',
    request: { params: TokenIdParamSchema },
    responses: { 200: { description: 'revoked', content: { 'application/json': { schema: TokenSchema } } }, 404: errorResponse('no such token'), ...ADMIN_ERRORS }
  }), async (c) => {
    const caller = requireAdmin(c)
    const record = await identity.revoke(c.req.valid('param').id, caller.user)
    return c.json(tokenView(record, now()), 200)
  })

  return app
}
