/**
 * Usage policies, admin only: create, list, show (with its assignments), update, delete.
 * A policy names an image and says how a workspace of it may be fetched and run. Every
 * field is validated here once; the store trusts what it gets.
 */
import { createRoute, z } from '@hono/zod-openapi'
import type { OpenAPIHono } from '@hono/zod-openapi'
import { newRouter } from './router.ts'
import { requireAdmin } from '../auth.ts'
import type { TrackerComponents, TrackerEnv } from '../env.ts'
import type { DownloadWindow, PolicyFields, PolicyRecord } from '../db/store.ts'
import { badRequest, notFound } from '../errors.ts'
import {
  MAX_APP_COMMAND_CHARS, MAX_APP_NAME_CHARS, MAX_OFFLINE_GRACE_SECONDS, MAX_ORIGIN_RATE_BYTES_PER_SEC,
  MAX_POLICY_PRIORITY, MAX_PUBLISHED_APPS, MAX_VM_CPUS, MAX_VM_MEMORY_MB
} from '../constants.ts'
import { formatDownloadWindow, parseDownloadWindow } from '../../protocol/index.ts'
import { adminJsonBody, adminOnly, iso, nameSchema } from './admin-request.ts'

// eslint-disable-next-line no-control-regex
const NO_CONTROL = /^[^\x00-\x1f\x7f]*$/

const PublishedAppSchema = z.object({
  name: z.string().min(1).max(MAX_APP_NAME_CHARS).regex(NO_CONTROL, 'no control characters'),
  command: z.string().min(1).max(MAX_APP_COMMAND_CHARS).regex(NO_CONTROL, 'no control characters'),
  icon: z.string().min(1).max(MAX_APP_COMMAND_CHARS).regex(NO_CONTROL, 'no control characters').optional()
}).strict()

const MinuteSchema = z.number().int().min(0).max(1439)

/** Every policy field a request may set; create requires `name` and `image`. */
const policyFieldSchemas = {
  image: nameSchema('image'),
  /** a version number to pin, or null for the latest published version */
  pinnedVersion: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).nullable(),
  /** 'latest' is the same as pinnedVersion: null */
  channel: z.literal('latest'),
  /** ISO 8601 date or date-time with offset, or epoch ms; null = never */
  expiresAt: z.union([z.number().int().nonnegative().max(8.64e15), z.iso.datetime({ offset: true }), z.iso.date()]).nullable(),
  offlineGraceSeconds: z.number().int().min(0).max(MAX_OFFLINE_GRACE_SECONDS),
  p2pAllowed: z.boolean(),
  /** null = no cap */
  originRateBytesPerSec: z.number().int().positive().max(MAX_ORIGIN_RATE_BYTES_PER_SEC).nullable(),
  /** "HH:MM-HH:MM" (may wrap past midnight) or minutes after midnight; null = any time */
  downloadWindow: z.union([z.string().max(11), z.object({ startMinute: MinuteSchema, endMinute: MinuteSchema }).strict()]).nullable(),
  vmMemoryMb: z.number().int().min(64).max(MAX_VM_MEMORY_MB),
  vmCpus: z.number().int().min(1).max(MAX_VM_CPUS),
  publishedApps: z.array(PublishedAppSchema).max(MAX_PUBLISHED_APPS)
    .refine((apps) => new Set(apps.map((a) => a.name)).size === apps.length, 'application names must be unique'),
  startup: z.object({ mode: z.enum(['auto', 'manual']), fullscreen: z.boolean().optional() }).strict(),
  /** higher wins when several assigned policies name the same image */
  priority: z.number().int().min(-MAX_POLICY_PRIORITY).max(MAX_POLICY_PRIORITY)
}

export const CreatePolicySchema = z.object({
  name: nameSchema('name'),
  ...policyFieldSchemas,
  pinnedVersion: policyFieldSchemas.pinnedVersion.optional(),
  channel: policyFieldSchemas.channel.optional(),
  expiresAt: policyFieldSchemas.expiresAt.optional(),
  offlineGraceSeconds: policyFieldSchemas.offlineGraceSeconds.optional(),
  p2pAllowed: policyFieldSchemas.p2pAllowed.optional(),
  originRateBytesPerSec: policyFieldSchemas.originRateBytesPerSec.optional(),
  downloadWindow: policyFieldSchemas.downloadWindow.optional(),
  vmMemoryMb: policyFieldSchemas.vmMemoryMb.optional(),
  vmCpus: policyFieldSchemas.vmCpus.optional(),
  publishedApps: policyFieldSchemas.publishedApps.optional(),
  startup: policyFieldSchemas.startup.optional(),
  priority: policyFieldSchemas.priority.optional()
}).strict().openapi('CreatePolicy')

export const UpdatePolicySchema = CreatePolicySchema.partial().strict().openapi('UpdatePolicy')

type PolicyBody = z.infer<typeof UpdatePolicySchema>

export const PolicySchema = z.object({
  id: z.number().int(),
  name: z.string(),
  image: z.string(),
  channel: z.enum(['latest', 'pinned']),
  pinnedVersion: z.number().int().nullable(),
  expiresAt: z.string().nullable(),
  expiresAtMs: z.number().int().nullable(),
  offlineGraceSeconds: z.number().int(),
  p2pAllowed: z.boolean(),
  originRateBytesPerSec: z.number().int().nullable(),
  downloadWindow: z.object({ startMinute: z.number().int(), endMinute: z.number().int(), text: z.string() }).nullable(),
  vmMemoryMb: z.number().int(),
  vmCpus: z.number().int(),
  publishedApps: z.array(z.object({ name: z.string(), command: z.string(), icon: z.string().optional() })),
  startup: z.object({ mode: z.enum(['auto', 'manual']), fullscreen: z.boolean().optional() }),
  priority: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string()
}).openapi('Policy')

export type PolicyView = z.infer<typeof PolicySchema>

export function policyView (p: PolicyRecord): PolicyView {
  return {
    id: p.id,
    name: p.name,
    image: p.imageName,
    channel: p.pinnedVersion === null ? 'latest' : 'pinned',
    pinnedVersion: p.pinnedVersion,
    expiresAt: iso(p.expiresAtMs),
    expiresAtMs: p.expiresAtMs,
    offlineGraceSeconds: p.offlineGraceSeconds,
    p2pAllowed: p.p2pAllowed,
    originRateBytesPerSec: p.originRateBytesPerSec,
    downloadWindow: p.downloadWindow === null ? null : { ...p.downloadWindow, text: formatDownloadWindow(p.downloadWindow) },
    vmMemoryMb: p.vmMemoryMb,
    vmCpus: p.vmCpus,
    publishedApps: p.publishedApps.map((a) => a.icon === undefined ? { name: a.name, command: a.command } : { name: a.name, command: a.command, icon: a.icon }),
    startup: { mode: p.startup.mode, ...(p.startup.fullscreen === undefined ? {} : { fullscreen: p.startup.fullscreen }) },
    priority: p.priority,
    createdAt: iso(p.createdAtMs)!,
    updatedAt: iso(p.updatedAtMs)!
  }
}

function expiryMs (v: number | string): number {
  if (typeof v === 'number') return v
  const ms = Date.parse(v.length === 10 ? `${v}T00:00:00Z` : v)
  if (!Number.isSafeInteger(ms)) throw badRequest('expiresAt: not a date')
  return ms
}

function windowOf (v: string | DownloadWindow): DownloadWindow {
  try {
    if (typeof v === 'string') return parseDownloadWindow(v)
  } catch (err) {
    throw badRequest(`downloadWindow: ${(err as Error).message}`)
  }
  if (v.startMinute === v.endMinute) throw badRequest('downloadWindow: a window must not start where it ends (use null for any time)')
  return v
}

/** A validated body → store fields; only what the body names. */
export function policyFields (body: PolicyBody): Partial<PolicyFields> & { name?: string } {
  const out: Partial<PolicyFields> & { name?: string } = {}
  if (body.channel === 'latest' && body.pinnedVersion !== undefined && body.pinnedVersion !== null) {
    throw badRequest('channel: channel "latest" and a pinnedVersion contradict each other')
  }
  if (body.name !== undefined) out.name = body.name
  if (body.image !== undefined) out.imageName = body.image
  if (body.channel === 'latest') out.pinnedVersion = null
  if (body.pinnedVersion !== undefined) out.pinnedVersion = body.pinnedVersion
  if (body.expiresAt !== undefined) out.expiresAtMs = body.expiresAt === null ? null : expiryMs(body.expiresAt)
  if (body.offlineGraceSeconds !== undefined) out.offlineGraceSeconds = body.offlineGraceSeconds
  if (body.p2pAllowed !== undefined) out.p2pAllowed = body.p2pAllowed
  if (body.originRateBytesPerSec !== undefined) out.originRateBytesPerSec = body.originRateBytesPerSec
  if (body.downloadWindow !== undefined) out.downloadWindow = body.downloadWindow === null ? null : windowOf(body.downloadWindow)
  if (body.vmMemoryMb !== undefined) out.vmMemoryMb = body.vmMemoryMb
  if (body.vmCpus !== undefined) out.vmCpus = body.vmCpus
  if (body.publishedApps !== undefined) out.publishedApps = body.publishedApps
  if (body.startup !== undefined) out.startup = body.startup
  if (body.priority !== undefined) out.priority = body.priority
  return out
}

const ErrorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) })
const err = (description: string): { description: string, content: { 'application/json': { schema: typeof ErrorSchema } } } =>
  ({ description, content: { 'application/json': { schema: ErrorSchema } } })
const errors = { 400: err('malformed request'), 401: err('no valid token'), 403: err('not an admin') }
const NameParam = z.object({ name: nameSchema('name') })

const AssignedSchema = z.object({ kind: z.enum(['user', 'group']), subject: z.string() })
const PolicyWithAssignments = PolicySchema.extend({ assignments: z.array(AssignedSchema) }).openapi('PolicyWithAssignments')

export function policiesRoutes (components: Pick<TrackerComponents, 'store' | 'now' | 'logger'>): OpenAPIHono<TrackerEnv> {
  const { store, now } = components
  const log = components.logger.forComponent('tracker:policies')
  const app = newRouter()

  async function byName (name: string): Promise<PolicyRecord> {
    const p = await store.getPolicyByName(name)
    if (p === undefined) throw notFound(`no policy named ${JSON.stringify(name)}`)
    return p
  }

  app.openapi(createRoute({
    method: 'post',
    path: '/policies',
    summary: 'Create a usage policy (admin)',
    middleware: adminJsonBody(),
    request: { body: { required: true, content: { 'application/json': { schema: CreatePolicySchema } } } },
    responses: { 201: { description: 'created', content: { 'application/json': { schema: PolicySchema } } }, 409: err('name taken'), ...errors }
  }), async (c) => {
    const caller = requireAdmin(c)
    const body = c.req.valid('json')
    const { name, imageName, ...rest } = policyFields(body)
    const policy = await store.createPolicy({ ...rest, name: name!, imageName: imageName!, nowMs: now() })
    log.info('policy created', { policy: policy.name, image: policy.imageName, by: caller.user })
    return c.json(policyView(policy), 201)
  })

  app.openapi(createRoute({
    method: 'get',
    middleware: [adminOnly] as const,
    path: '/policies',
    summary: 'List policies, optionally of one image (admin)',
    request: { query: z.object({ image: z.string().max(200).optional() }) },
    responses: { 200: { description: 'policies, ascending by name', content: { 'application/json': { schema: z.object({ policies: z.array(PolicySchema) }) } } }, ...errors }
  }), async (c) => {
    requireAdmin(c)
    const { image } = c.req.valid('query')
    const policies = await store.listPolicies(image === undefined ? {} : { imageName: image })
    return c.json({ policies: policies.map(policyView) }, 200)
  })

  app.openapi(createRoute({
    method: 'get',
    middleware: [adminOnly] as const,
    path: '/policies/{name}',
    summary: 'Show a policy and whom it is assigned to (admin)',
    request: { params: NameParam },
    responses: { 200: { description: 'the policy', content: { 'application/json': { schema: PolicyWithAssignments } } }, 404: err('no such policy'), ...errors }
  }), async (c) => {
    requireAdmin(c)
    const policy = await byName(c.req.valid('param').name)
    const assignments = await store.listAssignments({ policyId: policy.id })
    return c.json({ ...policyView(policy), assignments: assignments.map((a) => ({ kind: a.subjectKind, subject: a.subject })) }, 200)
  })

  app.openapi(createRoute({
    method: 'patch',
    path: '/policies/{name}',
    summary: 'Change some fields of a policy, or rename it (admin)',
    middleware: adminJsonBody(),
    request: { params: NameParam, body: { required: true, content: { 'application/json': { schema: UpdatePolicySchema } } } },
    responses: { 200: { description: 'updated', content: { 'application/json': { schema: PolicySchema } } }, 404: err('no such policy'), 409: err('new name taken'), ...errors }
  }), async (c) => {
    const caller = requireAdmin(c)
    const policy = await byName(c.req.valid('param').name)
    const patch = policyFields(c.req.valid('json'))
    const updated = await store.updatePolicy(policy.id, patch, now())
    log.info('policy updated', { policy: updated.name, fields: Object.keys(patch), by: caller.user })
    return c.json(policyView(updated), 200)
  })

  app.openapi(createRoute({
    method: 'delete',
    middleware: [adminOnly] as const,
    path: '/policies/{name}',
    summary: 'Delete a policy and its assignments (admin)',
    request: { params: NameParam },
    responses: { 200: { description: 'deleted', content: { 'application/json': { schema: z.object({ deleted: z.string() }) } } }, 404: err('no such policy'), ...errors }
  }), async (c) => {
    const caller = requireAdmin(c)
    const policy = await byName(c.req.valid('param').name)
    if (!await store.deletePolicy(policy.id)) throw notFound(`no policy named ${JSON.stringify(policy.name)}`)
    log.info('policy deleted', { policy: policy.name, by: caller.user })
    return c.json({ deleted: policy.name }, 200)
  })

  return app
}
