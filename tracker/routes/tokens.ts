/**
 * API tokens, admin only: issue (the plaintext is in the response once and never again),
 * list (no hashes, no plaintexts), revoke. The plaintext never reaches a log line.
 */
import { createRoute, z } from '@hono/zod-openapi'
import type { OpenAPIHono } from '@hono/zod-openapi'
import { newRouter } from './router.ts'
import { generateApiToken, hashApiToken, requireAdmin } from '../auth.ts'
import type { TrackerComponents, TrackerEnv } from '../env.ts'
import { notFound } from '../errors.ts'
import { MAX_TOKEN_GROUPS, MAX_TOKEN_LABEL_CHARS } from '../constants.ts'
import { tokenExpiry, tokenView } from '../api-tokens.ts'
import { adminJsonBody, adminOnly, nameSchema } from './admin-request.ts'

export const TokenSchema = z.object({
  id: z.number().int(),
  user: z.string(),
  groups: z.array(z.string()),
  admin: z.boolean(),
  kind: z.enum(['user', 'machine']),
  label: z.string(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
  status: z.enum(['active', 'revoked', 'expired'])
}).openapi('ApiToken')

export const CreateTokenSchema = z.object({
  user: nameSchema('user'),
  groups: z.array(nameSchema('group')).max(MAX_TOKEN_GROUPS).optional(),
  admin: z.boolean().optional(),
  kind: z.enum(['user', 'machine']).optional(),
  label: z.string().max(MAX_TOKEN_LABEL_CHARS).optional(),
  /** relative lifetime: "30d", "12h", "1d12h" */
  expiresIn: z.string().max(32).optional(),
  /** absolute expiry, epoch milliseconds */
  expiresAtMs: z.number().int().positive().optional()
}).strict().openapi('CreateToken')

const IssuedTokenSchema = TokenSchema.extend({
  /** the plaintext bearer token: shown in this response only */
  token: z.string()
}).openapi('IssuedToken')

const ErrorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) })
const errors = {
  400: { description: 'malformed body', content: { 'application/json': { schema: ErrorSchema } } },
  401: { description: 'no valid token', content: { 'application/json': { schema: ErrorSchema } } },
  403: { description: 'not an admin', content: { 'application/json': { schema: ErrorSchema } } }
} as const

export function tokensRoutes (components: Pick<TrackerComponents, 'store' | 'now' | 'logger'>): OpenAPIHono<TrackerEnv> {
  const { store, now } = components
  const log = components.logger.forComponent('tracker:tokens')
  const app = newRouter()

  app.openapi(createRoute({
    method: 'post',
    path: '/tokens',
    summary: 'Issue an API token (admin); the plaintext is returned once',
    middleware: adminJsonBody(),
    request: { body: { required: true, content: { 'application/json': { schema: CreateTokenSchema } } } },
    responses: { 201: { description: 'issued', content: { 'application/json': { schema: IssuedTokenSchema } } }, ...errors }
  }), async (c) => {
    const caller = requireAdmin(c)
    const body = c.req.valid('json')
    const nowMs = now()
    const expiresAtMs = tokenExpiry(body, nowMs)
    const token = generateApiToken()
    const record = await store.createToken({
      tokenHash: hashApiToken(token),
      user: body.user,
      groups: [...new Set(body.groups ?? [])],
      isAdmin: body.admin ?? false,
      kind: body.kind ?? 'user',
      label: body.label ?? '',
      expiresAtMs,
      nowMs
    })
    log.info('token issued', { id: record.id, user: record.user, admin: record.isAdmin, kind: record.kind, by: caller.user })
    return c.json({ ...tokenView(record, nowMs), token }, 201)
  })

  app.openapi(createRoute({
    method: 'get',
    middleware: [adminOnly] as const,
    path: '/tokens',
    summary: 'List API tokens (admin); never hashes or plaintexts',
    request: { query: z.object({ user: z.string().max(200).optional() }) },
    responses: { 200: { description: 'tokens, ascending by id', content: { 'application/json': { schema: z.object({ tokens: z.array(TokenSchema) }) } } }, ...errors }
  }), async (c) => {
    requireAdmin(c)
    const { user } = c.req.valid('query')
    const nowMs = now()
    const tokens = await store.listTokens(user === undefined ? {} : { user })
    return c.json({ tokens: tokens.map((t) => tokenView(t, nowMs)) }, 200)
  })

  app.openapi(createRoute({
    method: 'delete',
    middleware: [adminOnly] as const,
    path: '/tokens/{id}',
    summary: 'Revoke an API token (admin); idempotent',
    request: { params: z.object({ id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) }) },
    responses: {
      200: { description: 'revoked', content: { 'application/json': { schema: TokenSchema } } },
      404: { description: 'no such token', content: { 'application/json': { schema: ErrorSchema } } },
      ...errors
    }
  }), async (c) => {
    const caller = requireAdmin(c)
    const { id } = c.req.valid('param')
    const nowMs = now()
    if (!await store.revokeToken(id, nowMs)) throw notFound(`no token ${id}`)
    const record = await store.getToken(id)
    if (record === undefined) throw notFound(`no token ${id}`)
    log.info('token revoked', { id, user: record.user, by: caller.user })
    return c.json(tokenView(record, nowMs), 200)
  })

  return app
}
