/**
 * Usage policies and their assignments (`/api/v1/policies`, `/api/v1/assignments`, admins
 * only): the fields a policy has, what an admin sends to create or change one, and what the
 * tracker answers. Shared by the tracker's routes, `branchcast policies` and
 * `branchcast assign`, and (inside a workspace) by `/me/workspaces`.
 */
import { z } from 'zod'
import { MAX_NAME_CHARS, nameSchema } from './common.ts'

/** Published applications per policy: a start menu's worth. */
export const MAX_PUBLISHED_APPS = 32
/** An application's display name. */
export const MAX_APP_NAME_CHARS = 100
/** An application's command line (run in the guest by its shell). */
export const MAX_APP_COMMAND_CHARS = 2048
/**
 * An application's icon: a freedesktop icon-theme name, or a small PNG/SVG as a
 * `data:image/png;base64,…` URL (what the desk can show without reaching the guest); other
 * text (a path in the guest) is kept and shown as a generic icon.
 */
export const MAX_APP_ICON_CHARS = 16 * 1024
/**
 * All of a policy's icons together: every app at its other caps plus this stays well under
 * the tracker's 256 KiB admin body limit (32 × 2 KiB of names and commands + 128 KiB).
 */
export const MAX_APP_ICONS_TOTAL_CHARS = 128 * 1024
/** File-transfer extension allow-list: entries, and characters of each. */
export const MAX_TRANSFER_EXTENSIONS = 64
export const MAX_TRANSFER_EXTENSION_CHARS = 16
/** Idle lock: at most a day of no input. */
export const MAX_IDLE_LOCK_MINUTES = 24 * 60
/** Offline grace period: at most a year without reaching the tracker. */
export const MAX_OFFLINE_GRACE_SECONDS = 366 * 86_400
/** VM memory: 1 TiB in MiB, more than any desktop host has. */
export const MAX_VM_MEMORY_MB = 1024 * 1024
/** VM CPUs. */
export const MAX_VM_CPUS = 256
/** Policy priority range: wide enough for any ordering scheme, small enough for every SQL integer. */
export const MAX_POLICY_PRIORITY = 1_000_000
/** Origin rate cap: 100 GB/s is "no cap" in practice; larger values are typos. */
export const MAX_ORIGIN_RATE_BYTES_PER_SEC = 100_000_000_000
/** A download window as text: "HH:MM-HH:MM". */
const MAX_WINDOW_CHARS = 11

// eslint-disable-next-line no-control-regex
const NO_CONTROL = /^[^\x00-\x1f\x7f]*$/
const appText = (maxChars: number): z.ZodString => z.string().min(1).max(maxChars).regex(NO_CONTROL, 'no control characters')

const PublishedAppSchema = z.object({
  name: appText(MAX_APP_NAME_CHARS),
  command: appText(MAX_APP_COMMAND_CHARS),
  icon: appText(MAX_APP_ICON_CHARS).optional()
}).strict()

const MinuteSchema = z.number().int().min(0).max(1439)
const StartupSchema = z.object({ mode: z.enum(['auto', 'manual']), fullscreen: z.boolean().optional() })

/** Which way a host↔guest channel may carry data; `off`: the channel is absent from the VM. */
export const ChannelDirectionSchema = z.enum(['off', 'host-to-guest', 'guest-to-host', 'both'], {
  error: 'a direction is off, host-to-guest, guest-to-host or both'
})
export type ChannelDirection = z.infer<typeof ChannelDirectionSchema>

/** A file name extension, without the dot, lowercase: "pdf", "tar.gz". */
const ExtensionSchema = z.string().min(1).max(MAX_TRANSFER_EXTENSION_CHARS)
  .regex(/^[a-z0-9]+(\.[a-z0-9]+)*$/, 'file extensions are lowercase letters and digits, without the leading dot ("pdf", "tar.gz")')

/**
 * The guest channels a policy allows. Each one that is off is absent from the VM (no
 * device, no socket); file transfer carries only files whose extension is on the list
 * (an empty list: none).
 */
export const GuestChannelsSchema = z.object({
  clipboard: ChannelDirectionSchema,
  fileTransfer: z.object({
    direction: ChannelDirectionSchema,
    extensions: z.array(ExtensionSchema).max(MAX_TRANSFER_EXTENSIONS, `at most ${MAX_TRANSFER_EXTENSIONS} file extensions`)
      .refine((xs) => new Set(xs).size === xs.length, 'file extensions must be unique')
  }).strict(),
  printing: z.boolean()
}).strict()
export type GuestChannels = z.infer<typeof GuestChannelsSchema>

/** Everything off: what a policy that names no channels allows. */
export const NO_GUEST_CHANNELS: GuestChannels = { clipboard: 'off', fileTransfer: { direction: 'off', extensions: [] }, printing: false }

/** A persistent workspace keeps the user's changes across stops; a revertible one loses them at every stop. */
export const WorkspaceModeSchema = z.enum(['persistent', 'revertible'], { error: 'workspaceMode is persistent or revertible' })
export type WorkspaceMode = z.infer<typeof WorkspaceModeSchema>

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
  downloadWindow: z.union([z.string().max(MAX_WINDOW_CHARS), z.object({ startMinute: MinuteSchema, endMinute: MinuteSchema }).strict()]).nullable(),
  vmMemoryMb: z.number().int().min(64).max(MAX_VM_MEMORY_MB),
  vmCpus: z.number().int().min(1).max(MAX_VM_CPUS),
  publishedApps: z.array(PublishedAppSchema).max(MAX_PUBLISHED_APPS)
    .refine((apps) => new Set(apps.map((a) => a.name)).size === apps.length, 'application names must be unique')
    .refine((apps) => apps.reduce((n, a) => n + (a.icon?.length ?? 0), 0) <= MAX_APP_ICONS_TOTAL_CHARS, `the icons of a policy's applications are at most ${MAX_APP_ICONS_TOTAL_CHARS} characters together`),
  startup: StartupSchema.strict(),
  workspaceMode: WorkspaceModeSchema,
  guestChannels: GuestChannelsSchema,
  /** lock the VM after this many minutes without input; null = never */
  idleLockMinutes: z.number().int().min(1).max(MAX_IDLE_LOCK_MINUTES).nullable(),
  /** lock the VM when the host suspends */
  lockOnSuspend: z.boolean(),
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
  workspaceMode: policyFieldSchemas.workspaceMode.optional(),
  guestChannels: policyFieldSchemas.guestChannels.optional(),
  idleLockMinutes: policyFieldSchemas.idleLockMinutes.optional(),
  lockOnSuspend: policyFieldSchemas.lockOnSuspend.optional(),
  priority: policyFieldSchemas.priority.optional()
}).strict().meta({ id: 'CreatePolicy' })
export type CreatePolicy = z.infer<typeof CreatePolicySchema>

export const UpdatePolicySchema = CreatePolicySchema.partial().strict().meta({ id: 'UpdatePolicy' })
export type UpdatePolicy = z.infer<typeof UpdatePolicySchema>

/** A policy as the tracker answers it. */
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
  startup: StartupSchema,
  workspaceMode: WorkspaceModeSchema,
  guestChannels: GuestChannelsSchema,
  idleLockMinutes: z.number().int().nullable(),
  lockOnSuspend: z.boolean(),
  priority: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string()
}).meta({ id: 'Policy' })
export type Policy = z.infer<typeof PolicySchema>

export const SubjectKindSchema = z.enum(['user', 'group'])

/** `GET /policies/{name}`: the policy and whom it is assigned to. */
export const PolicyWithAssignmentsSchema = PolicySchema.extend({
  assignments: z.array(z.object({ kind: SubjectKindSchema, subject: z.string() }))
}).meta({ id: 'PolicyWithAssignments' })
export type PolicyWithAssignments = z.infer<typeof PolicyWithAssignmentsSchema>

export const PolicyNameParamSchema = z.object({ name: nameSchema('name') })
export const PolicyListQuerySchema = z.object({ image: z.string().max(MAX_NAME_CHARS).optional() })
export const PolicyListSchema = z.object({ policies: z.array(PolicySchema) })
export type PolicyList = z.infer<typeof PolicyListSchema>
export const DeletedPolicySchema = z.object({ deleted: z.string() })
export type DeletedPolicy = z.infer<typeof DeletedPolicySchema>

// ---- assignments ------------------------------------------------------------------------

/** A policy and exactly one of user / group (the tracker says which one is missing). */
export const AssignmentTargetSchema = z.object({
  policy: nameSchema('policy'),
  user: nameSchema('user').optional(),
  group: nameSchema('group').optional()
}).strict().meta({ id: 'AssignmentTarget' })
export type AssignmentTarget = z.infer<typeof AssignmentTargetSchema>

export const AssignmentSchema = z.object({
  id: z.number().int(),
  policy: z.string(),
  kind: SubjectKindSchema,
  subject: z.string(),
  createdAt: z.string()
}).meta({ id: 'Assignment' })
export type Assignment = z.infer<typeof AssignmentSchema>

export const AssignmentListQuerySchema = z.object({
  policy: z.string().max(MAX_NAME_CHARS).optional(),
  user: z.string().max(MAX_NAME_CHARS).optional(),
  group: z.string().max(MAX_NAME_CHARS).optional()
}).strict()
export type AssignmentListQuery = z.infer<typeof AssignmentListQuerySchema>
export const AssignmentListSchema = z.object({ assignments: z.array(AssignmentSchema) })
export type AssignmentList = z.infer<typeof AssignmentListSchema>
export const RemovedAssignmentSchema = z.object({ removed: AssignmentTargetSchema })
