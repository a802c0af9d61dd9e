/**
 * The clients registry: every node the tracker has heard from (announces and event
 * batches), for admins — `GET /api/v1/clients` (filters, sort, offset pages) and
 * `GET /api/v1/clients/{id}`; `branchcast clients list|show`.
 */
import { z } from 'zod'
import { ImageNameSchema, nameSchema } from './common.ts'
import { MAX_CLIENT_ID_CHARS, MAX_HOST_CHARS } from './events.ts'
import { SiteSchema } from './swarm.ts'

/** One page of clients holds at most this many (the default is 100). */
export const MAX_CLIENTS_PER_PAGE = 1000
/** Offsets go this deep at most: past it, narrow the filters. */
export const MAX_CLIENT_OFFSET = 100_000
/** A search is a substring of id, host or user. */
export const MAX_CLIENT_SEARCH_CHARS = 100
/** Workspaces one node reports at most. */
export const MAX_WORKSPACES = 32

export const CLIENT_SORTS = ['lastSeen', 'firstSeen', 'host', 'user', 'site', 'id'] as const
export const ClientSortSchema = z.enum(CLIENT_SORTS)

/**
 * A node's workspaces by image name (the desk issue's node reports them; the tracker also
 * derives `running` / `stopped` / `locked` from `session.*` events).
 */
export const WorkspaceStateSchema = z.record(ImageNameSchema, z.looseObject({
  state: z.enum(['ready', 'running', 'paused', 'locked', 'stopped']),
  version: z.number().int().min(0).optional(),
  sinceMs: z.number().int().min(0).optional()
})).refine((w) => Object.keys(w).length <= MAX_WORKSPACES, `at most ${MAX_WORKSPACES} workspaces`)
export type WorkspaceState = z.infer<typeof WorkspaceStateSchema>

export const ClientQuerySchema = z.object({
  site: SiteSchema.optional(),
  user: nameSchema('user').optional(),
  host: z.string().max(MAX_HOST_CHARS).optional(),
  /** clients holding a version of this image */
  image: ImageNameSchema.optional(),
  /** online: seen within the tracker's online window; offline: not */
  status: z.enum(['online', 'offline']).optional(),
  /** substring of id, host name or user */
  q: z.string().max(MAX_CLIENT_SEARCH_CHARS).optional(),
  sort: ClientSortSchema.optional(),
  /** default: newest first for times, A→Z for names */
  order: z.enum(['asc', 'desc']).optional(),
  offset: z.coerce.number().int().min(0).max(MAX_CLIENT_OFFSET).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_CLIENTS_PER_PAGE).optional()
})
export type ClientQuery = z.infer<typeof ClientQuerySchema>

export const ClientIdParamSchema = z.object({ id: z.string().min(1).max(MAX_CLIENT_ID_CHARS) })

export const ClientImageSchema = z.object({
  image: z.string(),
  /** the newest version it holds complete */
  version: z.number().int(),
  heldSinceMs: z.number().int(),
  /** the policy that assigned it at the last announce ('' when unknown) and that policy's last change */
  policy: z.string(),
  policyUpdatedAtMs: z.number().int().nullable()
})

export const ClientSchema = z.object({
  id: z.string(),
  user: z.string(),
  host: z.string(),
  site: z.string(),
  os: z.string(),
  nodeVersion: z.string(),
  online: z.boolean(),
  /** seen without a longer gap than the online window since then; null while offline */
  onlineSinceMs: z.number().int().nullable(),
  lastSeenAtMs: z.number().int(),
  firstSeenAtMs: z.number().int(),
  images: z.array(ClientImageSchema),
  /** the pull in progress: progress 0–1 */
  pull: z.object({ image: z.string(), version: z.number().int(), progress: z.number() }).nullable(),
  workspace: z.record(z.string(), z.looseObject({ state: z.string() })).nullable()
}).meta({ id: 'Client' })
export type Client = z.infer<typeof ClientSchema>

export const ClientListSchema = z.object({
  clients: z.array(ClientSchema),
  /** clients matching the filters in all */
  total: z.number().int(),
  /** the offset of the next page; null on the last */
  nextOffset: z.number().int().nullable()
})
export type ClientList = z.infer<typeof ClientListSchema>
