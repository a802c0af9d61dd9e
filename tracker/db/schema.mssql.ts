/**
 * SQL Server schema (`mssql`). Same tables, columns and indexes as `schema.sqlite.ts`;
 * times are bigint epoch milliseconds, JSON is nvarchar(max), booleans are bit.
 * Indexed strings have a bounded length (SQL Server keys are at most 1700 bytes).
 * After a change: regenerate migrations (tracker/db/README.md).
 */
import { bigint, bit, char, index, int, mssqlTable, nvarchar, primaryKey, uniqueIndex, varbinary, varchar } from 'drizzle-orm/mssql-core'

const ms = (name: string) => bigint(name, { mode: 'number' })

export const images = mssqlTable('images', {
  id: int('id').identity().primaryKey(),
  name: nvarchar('name', { length: 200 }).notNull(),
  description: nvarchar('description', { length: 'max' }).notNull().default(''),
  /** the highest version number ever handed out: numbers are never reused */
  lastVersion: int('last_version').notNull().default(0),
  createdAt: ms('created_at').notNull()
}, (t) => [uniqueIndex('images_name_uq').on(t.name)])

export const versions = mssqlTable('versions', {
  id: int('id').identity().primaryKey(),
  imageId: int('image_id').notNull().references(() => images.id, { onDelete: 'cascade' }),
  number: int('number').notNull(),
  state: varchar('state', { length: 16 }).notNull(),
  manifestRoot: varbinary('manifest_root', { length: 'max' }),
  manifestId: char('manifest_id', { length: 64 }),
  totalBytes: ms('total_bytes').notNull().default(0),
  chunkCount: ms('chunk_count').notNull().default(0),
  newBytes: ms('new_bytes').notNull().default(0),
  sourceOf: int('source_of'),
  uploadId: varchar('upload_id', { length: 64 }),
  createdAt: ms('created_at').notNull(),
  publishedAt: ms('published_at'),
  retiredAt: ms('retired_at'),
  expiresAt: ms('expires_at'),
  createdBy: nvarchar('created_by', { length: 200 }).notNull()
}, (t) => [
  uniqueIndex('versions_image_number_uq').on(t.imageId, t.number),
  index('versions_state_idx').on(t.state)
])

export const versionChunks = mssqlTable('version_chunks', {
  versionId: int('version_id').notNull().references(() => versions.id, { onDelete: 'cascade' }),
  chunkId: char('chunk_id', { length: 64 }).notNull()
}, (t) => [
  primaryKey({ columns: [t.versionId, t.chunkId] }),
  index('version_chunks_chunk_idx').on(t.chunkId)
])

export const uploads = mssqlTable('uploads', {
  id: varchar('id', { length: 64 }).primaryKey(),
  imageName: nvarchar('image_name', { length: 200 }).notNull(),
  startedAt: ms('started_at').notNull(),
  heartbeatAt: ms('heartbeat_at').notNull(),
  expiresAt: ms('expires_at').notNull()
})

export const apiTokens = mssqlTable('api_tokens', {
  id: int('id').identity().primaryKey(),
  tokenHash: char('token_hash', { length: 64 }).notNull(),
  user: nvarchar('user', { length: 200 }).notNull(),
  groups: nvarchar('groups', { length: 'max' }).notNull().default('[]'),
  isAdmin: bit('is_admin').notNull().default(false),
  /** with is_admin: a read-only admin (sees everything, changes nothing) */
  readOnly: bit('read_only').notNull().default(false),
  kind: varchar('kind', { length: 16 }).notNull(),
  label: nvarchar('label', { length: 400 }).notNull().default(''),
  createdAt: ms('created_at').notNull(),
  expiresAt: ms('expires_at'),
  revokedAt: ms('revoked_at'),
  lastUsedAt: ms('last_used_at')
}, (t) => [
  uniqueIndex('api_tokens_hash_uq').on(t.tokenHash),
  index('api_tokens_user_idx').on(t.user)
])

export const policies = mssqlTable('policies', {
  id: int('id').identity().primaryKey(),
  name: nvarchar('name', { length: 200 }).notNull(),
  imageName: nvarchar('image_name', { length: 200 }).notNull(),
  pinnedVersion: int('pinned_version'),
  expiresAt: ms('expires_at'),
  offlineGraceSeconds: int('offline_grace_seconds').notNull(),
  p2pAllowed: bit('p2p_allowed').notNull(),
  originRateBytesPerSec: ms('origin_rate_bytes_per_sec'),
  downloadWindowStart: int('download_window_start'),
  downloadWindowEnd: int('download_window_end'),
  vmMemoryMb: int('vm_memory_mb').notNull(),
  vmCpus: int('vm_cpus').notNull(),
  publishedApps: nvarchar('published_apps', { length: 'max' }).notNull(),
  startup: nvarchar('startup', { length: 'max' }).notNull(),
  workspaceMode: nvarchar('workspace_mode', { length: 16 }).notNull().default('persistent'),
  /** off, host-to-guest, guest-to-host or both */
  clipboard: nvarchar('clipboard', { length: 16 }).notNull().default('off'),
  fileTransfer: nvarchar('file_transfer', { length: 16 }).notNull().default('off'),
  /** JSON array of lowercase extensions without the dot */
  fileTransferExtensions: nvarchar('file_transfer_extensions', { length: 'max' }).notNull().default('[]'),
  printing: bit('printing').notNull().default(false),
  /** null = never */
  idleLockMinutes: int('idle_lock_minutes'),
  lockOnSuspend: bit('lock_on_suspend').notNull().default(true),
  priority: int('priority').notNull().default(0),
  createdAt: ms('created_at').notNull(),
  updatedAt: ms('updated_at').notNull()
}, (t) => [
  uniqueIndex('policies_name_uq').on(t.name),
  index('policies_image_idx').on(t.imageName)
])

export const assignments = mssqlTable('assignments', {
  id: int('id').identity().primaryKey(),
  policyId: int('policy_id').notNull().references(() => policies.id, { onDelete: 'cascade' }),
  subjectKind: varchar('subject_kind', { length: 16 }).notNull(),
  subject: nvarchar('subject', { length: 200 }).notNull(),
  createdAt: ms('created_at').notNull()
}, (t) => [
  uniqueIndex('assignments_policy_subject_uq').on(t.policyId, t.subjectKind, t.subject),
  index('assignments_subject_idx').on(t.subjectKind, t.subject)
])

export const clients = mssqlTable('clients', {
  id: varchar('id', { length: 128 }).primaryKey(),
  user: nvarchar('user', { length: 200 }).notNull(),
  hostname: nvarchar('hostname', { length: 255 }).notNull().default(''),
  site: nvarchar('site', { length: 200 }).notNull().default(''),
  agentVersion: nvarchar('agent_version', { length: 64 }).notNull().default(''),
  os: nvarchar('os', { length: 100 }).notNull().default(''),
  lastSeenAt: ms('last_seen_at').notNull(),
  onlineSince: ms('online_since').notNull().default(0),
  pullImage: nvarchar('pull_image', { length: 200 }),
  pullVersion: int('pull_version'),
  pullPermille: int('pull_permille'),
  workspace: nvarchar('workspace', { length: 'max' }),
  createdAt: ms('created_at').notNull()
}, (t) => [
  index('clients_user_idx').on(t.user),
  index('clients_site_seen_idx').on(t.site, t.lastSeenAt),
  index('clients_seen_idx').on(t.lastSeenAt)
])

export const clientImages = mssqlTable('client_images', {
  clientId: varchar('client_id', { length: 128 }).notNull().references(() => clients.id, { onDelete: 'cascade' }),
  image: nvarchar('image', { length: 200 }).notNull(),
  version: int('version').notNull(),
  heldSince: ms('held_since').notNull(),
  policy: nvarchar('policy', { length: 200 }).notNull().default(''),
  policyUpdatedAt: ms('policy_updated_at'),
  updatedAt: ms('updated_at').notNull()
}, (t) => [
  primaryKey({ columns: [t.clientId, t.image] }),
  index('client_images_image_idx').on(t.image, t.version)
])

export const swarmMembers = mssqlTable('swarm_members', {
  image: nvarchar('image', { length: 200 }).notNull(),
  version: int('version').notNull(),
  peerId: varchar('peer_id', { length: 128 }).notNull(),
  clientId: varchar('client_id', { length: 128 }).notNull(),
  site: nvarchar('site', { length: 200 }).notNull(),
  addrs: nvarchar('addrs', { length: 'max' }).notNull(),
  have: varbinary('have', { length: 'max' }).notNull(),
  haveCount: int('have_count').notNull(),
  joinedAt: ms('joined_at').notNull(),
  announcedAt: ms('announced_at').notNull(),
  expiresAt: ms('expires_at').notNull()
}, (t) => [
  primaryKey({ columns: [t.image, t.version, t.peerId] }),
  index('swarm_site_join_idx').on(t.image, t.version, t.site, t.joinedAt),
  index('swarm_expires_idx').on(t.expiresAt)
])

export const events = mssqlTable('events', {
  id: varchar('id', { length: 64 }).primaryKey(),
  clientId: varchar('client_id', { length: 128 }).notNull(),
  user: nvarchar('user', { length: 200 }).notNull(),
  type: varchar('type', { length: 100 }).notNull(),
  at: ms('at').notNull(),
  receivedAt: ms('received_at').notNull(),
  site: nvarchar('site', { length: 100 }).notNull().default(''),
  host: nvarchar('host', { length: 255 }).notNull().default(''),
  image: nvarchar('image', { length: 200 }).notNull().default(''),
  payload: nvarchar('payload', { length: 'max' }).notNull()
}, (t) => [
  index('events_type_at_idx').on(t.type, t.at),
  index('events_client_at_idx').on(t.clientId, t.at),
  index('events_at_idx').on(t.at),
  index('events_site_at_idx').on(t.site, t.at)
])

export const offloadDaily = mssqlTable('offload_daily', {
  day: ms('day').notNull(),
  site: nvarchar('site', { length: 100 }).notNull(),
  image: nvarchar('image', { length: 200 }).notNull(),
  pulls: int('pulls').notNull(),
  originBytes: ms('origin_bytes').notNull(),
  peerBytes: ms('peer_bytes').notNull(),
  localBytes: ms('local_bytes').notNull(),
  decodedOriginBytes: ms('decoded_origin_bytes').notNull(),
  decodedPeerBytes: ms('decoded_peer_bytes').notNull()
}, (t) => [primaryKey({ columns: [t.day, t.site, t.image] })])

export const offloadReasons = mssqlTable('offload_reasons', {
  day: ms('day').notNull(),
  site: nvarchar('site', { length: 100 }).notNull(),
  image: nvarchar('image', { length: 200 }).notNull(),
  reason: nvarchar('reason', { length: 32 }).notNull(),
  bytes: ms('bytes').notNull()
}, (t) => [primaryKey({ columns: [t.day, t.site, t.image, t.reason] })])

export const usageCounters = mssqlTable('usage_counters', {
  key: nvarchar('key', { length: 300 }).notNull(),
  windowStart: ms('window_start').notNull(),
  count: ms('count').notNull()
}, (t) => [
  primaryKey({ columns: [t.key, t.windowStart] }),
  index('usage_counters_window_idx').on(t.windowStart)
])

export const bootProfiles = mssqlTable('boot_profiles', {
  versionId: int('version_id').primaryKey().references(() => versions.id, { onDelete: 'cascade' }),
  source: varchar('source', { length: 8 }).notNull(),
  document: varbinary('document', { length: 'max' }).notNull(),
  chunkCount: int('chunk_count').notNull(),
  publishedAt: ms('published_at').notNull(),
  publishedBy: nvarchar('published_by', { length: 200 }).notNull()
})

export const bootProfileCandidates = mssqlTable('boot_profile_candidates', {
  versionId: int('version_id').notNull().references(() => versions.id, { onDelete: 'cascade' }),
  user: nvarchar('user', { length: 200 }).notNull(),
  clientId: nvarchar('client_id', { length: 128 }).notNull(),
  chunks: nvarchar('chunks', { length: 'max' }).notNull(),
  chunkCount: int('chunk_count').notNull(),
  end: varchar('end_reason', { length: 16 }).notNull(),
  durationMs: ms('duration_ms').notNull(),
  submittedAt: ms('submitted_at').notNull()
}, (t) => [primaryKey({ columns: [t.versionId, t.user] })])
