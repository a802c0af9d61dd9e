/**
 * Row ↔ record translation shared by both dialects: both schemas name their columns the
 * same, so one set of functions maps either driver's rows to the records of `store.ts`,
 * and validates what callers hand in (caller mistakes throw `TypeError`).
 */
import type {
  BootProfileCandidateRecord, BootProfileRecord, ClientImage, ClientRecord, ClientWorkspaces, CreatePolicyInput, EventRecord, ImageRecord, PolicyFields, PolicyRecord,
  SwarmMember, TokenKind, TokenRecord, UploadLease, VersionRecord, VersionState, AssignmentRecord, SubjectKind, PolicyMatch
} from './store.ts'
import type { ChannelDirection, WorkspaceMode } from '../../protocol/index.ts'

const CHANNEL_DIRECTIONS: readonly string[] = ['off', 'host-to-guest', 'guest-to-host', 'both'] satisfies ChannelDirection[]

const HEX64 = /^[0-9a-f]{64}$/

export function assertHex64 (value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string' || !HEX64.test(value)) throw new TypeError(`${what} must be 64 lowercase hex characters`)
}

export function assertCount (value: unknown, what: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new TypeError(`${what} must be a non-negative safe integer`)
}

export function assertTime (value: unknown, what: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new TypeError(`${what} must be an integer of epoch milliseconds`)
}

export function assertName (value: unknown, what: string, maxChars = 200): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxChars) throw new TypeError(`${what} must be a string of 1–${maxChars} characters`)
}

export function assertSubjectKind (value: unknown): asserts value is SubjectKind {
  if (value !== 'user' && value !== 'group') throw new TypeError('subjectKind must be user or group')
}

const num = (v: unknown): number => typeof v === 'number' ? v : Number(v)
const numOrNull = (v: unknown): number | null => v === null || v === undefined ? null : num(v)
const bytesOrNull = (v: unknown): Uint8Array | null => v === null || v === undefined ? null : new Uint8Array(v as Uint8Array)

export interface ImageRow { id: unknown, name: string, description: string, createdAt: unknown }
export function toImage (r: ImageRow): ImageRecord {
  return { id: num(r.id), name: r.name, description: r.description, createdAtMs: num(r.createdAt) }
}

export interface VersionRow {
  id: unknown, imageId: unknown, number: unknown, state: string, manifestRoot: unknown, manifestId: string | null,
  totalBytes: unknown, chunkCount: unknown, newBytes: unknown, sourceOf: unknown, uploadId: string | null,
  createdAt: unknown, publishedAt: unknown, retiredAt: unknown, expiresAt: unknown, createdBy: string
}
export function toVersion (r: VersionRow, imageName: string): VersionRecord {
  return {
    id: num(r.id),
    imageId: num(r.imageId),
    imageName,
    number: num(r.number),
    state: r.state as VersionState,
    manifestRoot: bytesOrNull(r.manifestRoot),
    manifestId: r.manifestId === null ? null : r.manifestId.trim(),
    totalBytes: num(r.totalBytes),
    chunkCount: num(r.chunkCount),
    newBytes: num(r.newBytes),
    sourceOf: numOrNull(r.sourceOf),
    uploadId: r.uploadId,
    createdAtMs: num(r.createdAt),
    publishedAtMs: numOrNull(r.publishedAt),
    retiredAtMs: numOrNull(r.retiredAt),
    expiresAtMs: numOrNull(r.expiresAt),
    createdBy: r.createdBy
  }
}

export interface UploadRow { id: string, imageName: string, startedAt: unknown, heartbeatAt: unknown, expiresAt: unknown }
export function toUpload (r: UploadRow): UploadLease {
  return { id: r.id, imageName: r.imageName, startedAtMs: num(r.startedAt), heartbeatAtMs: num(r.heartbeatAt), expiresAtMs: num(r.expiresAt) }
}

export interface TokenRow {
  id: unknown, tokenHash: string, user: string, groups: string, isAdmin: unknown, readOnly: unknown, kind: string, label: string,
  createdAt: unknown, expiresAt: unknown, revokedAt: unknown, lastUsedAt: unknown
}
export function toToken (r: TokenRow): TokenRecord {
  return {
    id: num(r.id),
    tokenHash: r.tokenHash.trim(),
    user: r.user,
    groups: JSON.parse(r.groups) as string[],
    isAdmin: r.isAdmin === true || r.isAdmin === 1,
    readOnly: r.readOnly === true || r.readOnly === 1,
    kind: r.kind as TokenKind,
    label: r.label,
    createdAtMs: num(r.createdAt),
    expiresAtMs: numOrNull(r.expiresAt),
    revokedAtMs: numOrNull(r.revokedAt),
    lastUsedAtMs: numOrNull(r.lastUsedAt)
  }
}

export interface PolicyRow {
  id: unknown, name: string, imageName: string, pinnedVersion: unknown, expiresAt: unknown, offlineGraceSeconds: unknown,
  p2pAllowed: unknown, originRateBytesPerSec: unknown, downloadWindowStart: unknown, downloadWindowEnd: unknown,
  vmMemoryMb: unknown, vmCpus: unknown, publishedApps: string, startup: string, priority: unknown, createdAt: unknown, updatedAt: unknown,
  workspaceMode: string, clipboard: string, fileTransfer: string, fileTransferExtensions: string, printing: unknown, idleLockMinutes: unknown, lockOnSuspend: unknown
}
export function toPolicy (r: PolicyRow): PolicyRecord {
  const start = numOrNull(r.downloadWindowStart)
  const end = numOrNull(r.downloadWindowEnd)
  return {
    id: num(r.id),
    name: r.name,
    imageName: r.imageName,
    pinnedVersion: numOrNull(r.pinnedVersion),
    expiresAtMs: numOrNull(r.expiresAt),
    offlineGraceSeconds: num(r.offlineGraceSeconds),
    p2pAllowed: r.p2pAllowed === true || r.p2pAllowed === 1,
    originRateBytesPerSec: numOrNull(r.originRateBytesPerSec),
    downloadWindow: start === null || end === null ? null : { startMinute: start, endMinute: end },
    vmMemoryMb: num(r.vmMemoryMb),
    vmCpus: num(r.vmCpus),
    publishedApps: JSON.parse(r.publishedApps),
    startup: JSON.parse(r.startup),
    workspaceMode: r.workspaceMode as WorkspaceMode,
    guestChannels: {
      clipboard: r.clipboard as ChannelDirection,
      fileTransfer: { direction: r.fileTransfer as ChannelDirection, extensions: JSON.parse(r.fileTransferExtensions) },
      printing: r.printing === true || r.printing === 1
    },
    idleLockMinutes: numOrNull(r.idleLockMinutes),
    lockOnSuspend: r.lockOnSuspend === true || r.lockOnSuspend === 1,
    priority: num(r.priority),
    createdAtMs: num(r.createdAt),
    updatedAtMs: num(r.updatedAt)
  }
}

/** Defaults for a policy's unset fields (documented in README.md). */
export const POLICY_DEFAULTS: Omit<PolicyFields, 'imageName'> = {
  pinnedVersion: null,
  expiresAtMs: null,
  offlineGraceSeconds: 7 * 24 * 3600,
  p2pAllowed: true,
  originRateBytesPerSec: null,
  downloadWindow: null,
  vmMemoryMb: 2048,
  vmCpus: 2,
  publishedApps: [],
  startup: { mode: 'manual' },
  workspaceMode: 'persistent',
  guestChannels: { clipboard: 'off', fileTransfer: { direction: 'off', extensions: [] }, printing: false },
  idleLockMinutes: null,
  lockOnSuspend: true,
  priority: 0
}

/** Policy fields → column values (for insert and for a partial update). */
export function policyColumns (p: Partial<PolicyFields> & { name?: string }): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (p.name !== undefined) { assertName(p.name, 'policy name'); out.name = p.name }
  if (p.imageName !== undefined) { assertName(p.imageName, 'imageName'); out.imageName = p.imageName }
  if (p.pinnedVersion !== undefined) {
    if (p.pinnedVersion !== null) assertCount(p.pinnedVersion, 'pinnedVersion')
    out.pinnedVersion = p.pinnedVersion
  }
  if (p.expiresAtMs !== undefined) {
    if (p.expiresAtMs !== null) assertTime(p.expiresAtMs, 'expiresAtMs')
    out.expiresAt = p.expiresAtMs
  }
  if (p.offlineGraceSeconds !== undefined) { assertCount(p.offlineGraceSeconds, 'offlineGraceSeconds'); out.offlineGraceSeconds = p.offlineGraceSeconds }
  if (p.p2pAllowed !== undefined) out.p2pAllowed = Boolean(p.p2pAllowed)
  if (p.originRateBytesPerSec !== undefined) {
    if (p.originRateBytesPerSec !== null) assertCount(p.originRateBytesPerSec, 'originRateBytesPerSec')
    out.originRateBytesPerSec = p.originRateBytesPerSec
  }
  if (p.downloadWindow !== undefined) {
    const w = p.downloadWindow
    if (w !== null) {
      for (const m of [w.startMinute, w.endMinute]) {
        if (!Number.isInteger(m) || m < 0 || m > 1439) throw new TypeError('download window minutes must be 0–1439')
      }
    }
    out.downloadWindowStart = w?.startMinute ?? null
    out.downloadWindowEnd = w?.endMinute ?? null
  }
  if (p.vmMemoryMb !== undefined) { assertCount(p.vmMemoryMb, 'vmMemoryMb'); out.vmMemoryMb = p.vmMemoryMb }
  if (p.vmCpus !== undefined) { assertCount(p.vmCpus, 'vmCpus'); out.vmCpus = p.vmCpus }
  if (p.publishedApps !== undefined) {
    if (!Array.isArray(p.publishedApps)) throw new TypeError('publishedApps must be an array')
    out.publishedApps = JSON.stringify(p.publishedApps)
  }
  if (p.startup !== undefined) {
    if (p.startup?.mode !== 'auto' && p.startup?.mode !== 'manual') throw new TypeError('startup.mode must be auto or manual')
    out.startup = JSON.stringify(p.startup)
  }
  if (p.workspaceMode !== undefined) {
    if (p.workspaceMode !== 'persistent' && p.workspaceMode !== 'revertible') throw new TypeError('workspaceMode must be persistent or revertible')
    out.workspaceMode = p.workspaceMode
  }
  if (p.guestChannels !== undefined) {
    const g = p.guestChannels
    for (const d of [g.clipboard, g.fileTransfer.direction]) if (!CHANNEL_DIRECTIONS.includes(d)) throw new TypeError(`a channel direction is one of ${CHANNEL_DIRECTIONS.join(', ')}`)
    if (!Array.isArray(g.fileTransfer.extensions)) throw new TypeError('fileTransfer.extensions must be an array')
    out.clipboard = g.clipboard
    out.fileTransfer = g.fileTransfer.direction
    out.fileTransferExtensions = JSON.stringify(g.fileTransfer.extensions)
    out.printing = Boolean(g.printing)
  }
  if (p.idleLockMinutes !== undefined) {
    if (p.idleLockMinutes !== null) assertCount(p.idleLockMinutes, 'idleLockMinutes')
    out.idleLockMinutes = p.idleLockMinutes
  }
  if (p.lockOnSuspend !== undefined) out.lockOnSuspend = Boolean(p.lockOnSuspend)
  if (p.priority !== undefined) {
    if (!Number.isSafeInteger(p.priority)) throw new TypeError('priority must be an integer')
    out.priority = p.priority
  }
  return out
}

export function newPolicyColumns (input: CreatePolicyInput): Record<string, unknown> {
  assertTime(input.nowMs, 'nowMs')
  const { nowMs, ...fields } = input
  return { ...policyColumns({ ...POLICY_DEFAULTS, ...fields }), createdAt: nowMs, updatedAt: nowMs }
}

export interface AssignmentRow { id: unknown, policyId: unknown, subjectKind: string, subject: string, createdAt: unknown }
export function toAssignment (r: AssignmentRow): AssignmentRecord {
  return { id: num(r.id), policyId: num(r.policyId), subjectKind: r.subjectKind as SubjectKind, subject: r.subject, createdAtMs: num(r.createdAt) }
}

export interface ClientRow {
  id: string, user: string, hostname: string, site: string, agentVersion: string, os: string, lastSeenAt: unknown, onlineSince: unknown,
  pullImage: string | null, pullVersion: unknown, pullPermille: unknown, workspace: string | null, createdAt: unknown
}
export function toClient (r: ClientRow): ClientRecord {
  return {
    id: r.id,
    user: r.user,
    hostname: r.hostname,
    site: r.site,
    agentVersion: r.agentVersion,
    os: r.os,
    lastSeenAtMs: num(r.lastSeenAt),
    onlineSinceMs: num(r.onlineSince),
    createdAtMs: num(r.createdAt),
    pull: r.pullImage == null ? null : { image: r.pullImage, version: num(r.pullVersion), permille: num(r.pullPermille) },
    workspace: r.workspace == null ? null : JSON.parse(r.workspace) as ClientWorkspaces
  }
}

export interface ClientImageRow { clientId: string, image: string, version: unknown, heldSince: unknown, policy: string, policyUpdatedAt: unknown, updatedAt: unknown }
export function toClientImage (r: ClientImageRow): ClientImage {
  return {
    image: r.image,
    version: num(r.version),
    heldSinceMs: num(r.heldSince),
    policy: r.policy,
    policyUpdatedAtMs: r.policyUpdatedAt == null ? null : num(r.policyUpdatedAt),
    updatedAtMs: num(r.updatedAt)
  }
}

/** A LIKE pattern matching `text` anywhere, its wildcards escaped with `\`. */
export function containsPattern (text: string): string {
  return `%${text.replace(/[\\%_[]/g, (c) => `\\${c}`)}%`
}

export interface MemberRow {
  image: string, version: unknown, peerId: string, clientId: string, site: string, addrs: string, have: unknown,
  haveCount: unknown, joinedAt: unknown, announcedAt: unknown, expiresAt: unknown
}
export function toMember (r: MemberRow): SwarmMember {
  return {
    image: r.image,
    version: num(r.version),
    peerId: r.peerId,
    clientId: r.clientId,
    site: r.site,
    addrs: JSON.parse(r.addrs) as string[],
    have: new Uint8Array(r.have as Uint8Array),
    haveCount: num(r.haveCount),
    joinedAtMs: num(r.joinedAt),
    announcedAtMs: num(r.announcedAt),
    expiresAtMs: num(r.expiresAt)
  }
}

export interface EventRow { id: string, clientId: string, user: string, type: string, at: unknown, receivedAt: unknown, site: string, host: string, image: string, payload: string }
export function toEvent (r: EventRow): EventRecord {
  return {
    id: r.id, clientId: r.clientId, user: r.user, type: r.type, atMs: num(r.at), receivedAtMs: num(r.receivedAt), site: r.site, host: r.host, image: r.image, payload: JSON.parse(r.payload)
  }
}

/** Event ids are client-supplied UUIDs (any 1–64 printable ASCII characters, space included, are accepted). */
const EVENT_ID = /^[\x20-\x7e]{1,64}$/
export function assertEventId (id: unknown): asserts id is string {
  if (typeof id !== 'string' || !EVENT_ID.test(id)) throw new TypeError('event id must be 1–64 printable ASCII characters')
}

export const EVENT_QUERY_DEFAULT_LIMIT = 1000
export const EVENT_QUERY_MAX_LIMIT = 10_000
/** Rows per multi-row statement: SQL Server allows 2100 parameters per statement. */
export const IN_LIST_BATCH = 1000

export const CLIENT_QUERY_DEFAULT_LIMIT = 100
export const CLIENT_QUERY_MAX_LIMIT = 1000
export function clientLimit (limit: number | undefined): number {
  if (limit === undefined) return CLIENT_QUERY_DEFAULT_LIMIT
  if (!Number.isSafeInteger(limit) || limit < 1) throw new TypeError('limit must be a positive integer')
  return Math.min(limit, CLIENT_QUERY_MAX_LIMIT)
}

/** The entries whose value is not undefined. */
export function definedOnly<T extends Record<string, unknown>> (o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> }
}

export function eventLimit (limit: number | undefined): number {
  if (limit === undefined) return EVENT_QUERY_DEFAULT_LIMIT
  if (!Number.isSafeInteger(limit) || limit < 1) throw new TypeError('limit must be a positive integer')
  return Math.min(limit, EVENT_QUERY_MAX_LIMIT)
}

export function * batches<T> (items: Iterable<T>, size: number): Generator<T[]> {
  let batch: T[] = []
  for (const item of items) {
    batch.push(item)
    if (batch.length === size) { yield batch; batch = [] }
  }
  if (batch.length > 0) yield batch
}

/**
 * The order `policiesForSubject` returns matches in: by policy id, then kind, then subject,
 * compared by code units (so the same on every database, whatever its collation). Neutral:
 * which match applies is the caller's precedence rule.
 */
export function byPolicyThenSubject (a: PolicyMatch, b: PolicyMatch): number {
  return a.policy.id - b.policy.id || byCodeUnits(a.via.kind, b.via.kind) || byCodeUnits(a.via.subject, b.via.subject)
}

function byCodeUnits (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

export interface BootProfileRow { source: string, document: unknown, chunkCount: unknown, publishedAt: unknown, publishedBy: string }
export interface BootProfileCandidateRow { versionId: unknown, user: string, clientId: string, chunks: string, end: string, durationMs: unknown, submittedAt: unknown }

export function toBootProfile (r: BootProfileRow): BootProfileRecord {
  return {
    source: r.source === 'admin' ? 'admin' : 'auto',
    document: new Uint8Array(r.document as Uint8Array),
    chunkCount: Number(r.chunkCount),
    publishedAtMs: Number(r.publishedAt),
    publishedBy: r.publishedBy
  }
}

export function toBootProfileCandidate (r: BootProfileCandidateRow): BootProfileCandidateRecord {
  return {
    versionId: Number(r.versionId),
    user: r.user,
    clientId: r.clientId,
    chunks: JSON.parse(r.chunks) as string[],
    end: r.end,
    durationMs: Number(r.durationMs),
    submittedAtMs: Number(r.submittedAt)
  }
}
