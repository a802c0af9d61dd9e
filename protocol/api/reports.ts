/**
 * Reports (admins): `GET /api/v1/reports/{name}` as JSON, or as CSV with `?format=csv`
 * (streamed, RFC 4180, cells starting with = + - @ prefixed with ' so spreadsheets do not
 * run them). MED-V's status, activity and error reports, plus WAN offload per site and
 * day and deployment status per image version. `branchcast reports …`.
 *
 * Pages: `limit` rows (default 100, at most 1000) and an opaque `cursor` from the previous
 * answer's `nextCursor` (null on the last page). Times are epoch ms in JSON, ISO 8601 in CSV.
 */
import { z } from 'zod'
import { MAX_DURATION_CHARS, isDuration, parseTimeMs } from '../units.ts'
import { ImageNameSchema, nameSchema } from './common.ts'
import { EventTypeSchema, MAX_HOST_CHARS } from './events.ts'
import { SiteSchema } from './swarm.ts'

export const REPORT_NAMES = ['status', 'activity', 'errors', 'offload', 'deployment'] as const
export type ReportName = typeof REPORT_NAMES[number]
export const ReportNameSchema = z.enum(REPORT_NAMES)

/** Rows in one JSON page at most (the default is 100). CSV streams every row. */
export const MAX_REPORT_PAGE_ROWS = 1000
/** An opaque cursor is short. */
export const MAX_REPORT_CURSOR_CHARS = 200

/** The sort keys each report accepts (the first is its default). */
export const REPORT_SORTS = {
  status: ['lastSeen', 'host', 'user', 'site', 'firstSeen'],
  activity: ['at'],
  errors: ['at'],
  offload: ['day', 'site', 'originBytes', 'offload'],
  deployment: ['image', 'clients', 'lagging']
} as const satisfies Record<ReportName, readonly string[]>

const QueryTimeSchema = z.string().max(40).refine((s) => parseTimeMs(s) !== undefined, 'not epoch ms or an ISO 8601 time')

export const ReportParamsSchema = z.object({ name: ReportNameSchema })

export const ReportQuerySchema = z.object({
  /** time range (event time; the day for offload; last seen for status): from inclusive, to exclusive */
  from: QueryTimeSchema.optional(),
  to: QueryTimeSchema.optional(),
  /** a duration back from now: 90s, 15m, 1h, 7d */
  since: z.string().max(MAX_DURATION_CHARS).refine(isDuration, 'since must look like 15m, 1h, 7d or 1d12h').optional(),
  site: SiteSchema.optional(),
  image: ImageNameSchema.optional(),
  user: nameSchema('user').optional(),
  host: z.string().max(MAX_HOST_CHARS).optional(),
  /** activity log only: one event type */
  type: EventTypeSchema.optional(),
  sort: z.string().max(32).optional(),
  order: z.enum(['asc', 'desc']).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_REPORT_PAGE_ROWS).optional(),
  cursor: z.string().max(MAX_REPORT_CURSOR_CHARS).optional(),
  format: z.enum(['json', 'csv']).optional()
})
export type ReportQuery = z.infer<typeof ReportQuerySchema>

export const SeveritySchema = z.enum(['error', 'warning', 'info'])
export type Severity = z.infer<typeof SeveritySchema>

export const StatusRowSchema = z.object({
  clientId: z.string(),
  user: z.string(),
  host: z.string(),
  site: z.string(),
  os: z.string(),
  online: z.boolean(),
  onlineSinceMs: z.number().int().nullable(),
  lastSeenAtMs: z.number().int(),
  firstSeenAtMs: z.number().int(),
  clientVersion: z.string(),
  /** "image:state" per workspace, e.g. "win11:running" */
  workspace: z.string(),
  /** "image@version" per image held */
  imageVersions: z.string(),
  /** "policy@ISO time of its last change" per image held */
  policyVersions: z.string(),
  /** "image@version 42%" or '' */
  pull: z.string()
})
export type StatusRow = z.infer<typeof StatusRowSchema>

export const LogRowSchema = z.object({
  id: z.string(),
  /** the client's clock */
  atMs: z.number().int(),
  /** the tracker's clock when it arrived */
  receivedAtMs: z.number().int(),
  severity: SeveritySchema,
  category: z.string(),
  description: z.string(),
  type: z.string(),
  site: z.string(),
  host: z.string(),
  user: z.string(),
  clientId: z.string(),
  image: z.string()
})
export type LogRow = z.infer<typeof LogRowSchema>

export const OffloadRowSchema = z.object({
  /** the UTC day, YYYY-MM-DD */
  day: z.string(),
  site: z.string(),
  pulls: z.number().int(),
  /** wire bytes by source */
  originBytes: z.number().int(),
  peerBytes: z.number().int(),
  /** image data reused from the node's own disk (nothing crossed a wire) */
  localBytes: z.number().int(),
  decodedOriginBytes: z.number().int(),
  decodedPeerBytes: z.number().int(),
  /** share of the image data that did not cross the WAN: (peer + local) / (origin + peer + local), 0–1 */
  offload: z.number(),
  originBytesByReason: z.record(z.string(), z.number().int())
})
export type OffloadReportRow = z.infer<typeof OffloadRowSchema>

export const DeploymentRowSchema = z.object({
  image: z.string(),
  version: z.number().int(),
  /** published / retired / draft, or 'unknown' for a version the repository no longer has */
  state: z.string(),
  /** the image's latest published version */
  current: z.boolean(),
  /** clients whose newest complete version of the image is this one */
  clients: z.number().int(),
  /** clients pulling this version now */
  pulling: z.number().int(),
  /** clients on this version while a newer one is current (0 for the current one) */
  lagging: z.number().int(),
  firstHeldAtMs: z.number().int().nullable(),
  lastHeldAtMs: z.number().int().nullable(),
  publishedAtMs: z.number().int().nullable(),
  /** for a lagging version: since when it has been behind (the current version's publish time) */
  behindSinceMs: z.number().int().nullable()
})
export type DeploymentRow = z.infer<typeof DeploymentRowSchema>

const ROW_SCHEMAS = { status: StatusRowSchema, activity: LogRowSchema, errors: LogRowSchema, offload: OffloadRowSchema, deployment: DeploymentRowSchema } as const

export type ReportRow<N extends ReportName> = z.infer<typeof ROW_SCHEMAS[N]>

/** The JSON answer of a report. */
export function reportAnswerSchema<N extends ReportName> (name: N) {
  return z.object({
    report: z.literal(name),
    generatedAtMs: z.number().int(),
    rows: z.array(ROW_SCHEMAS[name] as typeof ROW_SCHEMAS[N]),
    nextCursor: z.string().nullable()
  })
}
export const ReportAnswerSchema = z.object({
  report: ReportNameSchema,
  generatedAtMs: z.number().int(),
  rows: z.array(z.union([StatusRowSchema, LogRowSchema, OffloadRowSchema, DeploymentRowSchema])),
  nextCursor: z.string().nullable()
}).meta({ id: 'Report' })
export type ReportAnswer<N extends ReportName = ReportName> = { report: N, generatedAtMs: number, rows: Array<ReportRow<N>>, nextCursor: string | null }
