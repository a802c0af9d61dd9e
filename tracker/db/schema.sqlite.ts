/**
 * SQLite schema (`node:sqlite`). Same tables, columns and indexes as `schema.mssql.ts`;
 * times are integers of epoch milliseconds, JSON is text, booleans are 0/1.
 * After a change: regenerate migrations (tracker/db/README.md).
 */
import { blob, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'

export const images = sqliteTable('images', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull(),
  description: text('description').notNull().default(''),
  /** the highest version number ever handed out: numbers are never reused */
  lastVersion: integer('last_version').notNull().default(0),
  createdAt: integer('created_at').notNull()
}, (t) => [uniqueIndex('images_name_uq').on(t.name)])

export const versions = sqliteTable('versions', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  imageId: integer('image_id').notNull().references(() => images.id, { onDelete: 'cascade' }),
  number: integer('number').notNull(),
  state: text('state').notNull(),
  manifestRoot: blob('manifest_root', { mode: 'buffer' }),
  manifestId: text('manifest_id', { length: 64 }),
  totalBytes: integer('total_bytes').notNull().default(0),
  chunkCount: integer('chunk_count').notNull().default(0),
  newBytes: integer('new_bytes').notNull().default(0),
  sourceOf: integer('source_of'),
  uploadId: text('upload_id', { length: 64 }),
  createdAt: integer('created_at').notNull(),
  publishedAt: integer('published_at'),
  retiredAt: integer('retired_at'),
  expiresAt: integer('expires_at'),
  createdBy: text('created_by').notNull()
}, (t) => [
  uniqueIndex('versions_image_number_uq').on(t.imageId, t.number),
  index('versions_state_idx').on(t.state)
])

export const versionChunks = sqliteTable('version_chunks', {
  versionId: integer('version_id').notNull().references(() => versions.id, { onDelete: 'cascade' }),
  chunkId: text('chunk_id', { length: 64 }).notNull()
}, (t) => [
  primaryKey({ columns: [t.versionId, t.chunkId] }),
  index('version_chunks_chunk_idx').on(t.chunkId)
])

export const uploads = sqliteTable('uploads', {
  id: text('id', { length: 64 }).primaryKey(),
  imageName: text('image_name').notNull(),
  startedAt: integer('started_at').notNull(),
  heartbeatAt: integer('heartbeat_at').notNull(),
  expiresAt: integer('expires_at').notNull()
})

export const apiTokens = sqliteTable('api_tokens', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  tokenHash: text('token_hash', { length: 64 }).notNull(),
  user: text('user').notNull(),
  groups: text('groups').notNull().default('[]'),
  isAdmin: integer('is_admin', { mode: 'boolean' }).notNull().default(false),
  /** with is_admin: a read-only admin (sees everything, changes nothing) */
  readOnly: integer('read_only', { mode: 'boolean' }).notNull().default(false),
  kind: text('kind').notNull(),
  label: text('label').notNull().default(''),
  createdAt: integer('created_at').notNull(),
  expiresAt: integer('expires_at'),
  revokedAt: integer('revoked_at'),
  lastUsedAt: integer('last_used_at')
}, (t) => [
  uniqueIndex('api_tokens_hash_uq').on(t.tokenHash),
  index('api_tokens_user_idx').on(t.user)
])

export const policies = sqliteTable('policies', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull(),
  imageName: text('image_name').notNull(),
  pinnedVersion: integer('pinned_version'),
  expiresAt: integer('expires_at'),
  offlineGraceSeconds: integer('offline_grace_seconds').notNull(),
  p2pAllowed: integer('p2p_allowed', { mode: 'boolean' }).notNull(),
  originRateBytesPerSec: integer('origin_rate_bytes_per_sec'),
  downloadWindowStart: integer('download_window_start'),
  downloadWindowEnd: integer('download_window_end'),
  vmMemoryMb: integer('vm_memory_mb').notNull(),
  vmCpus: integer('vm_cpus').notNull(),
  publishedApps: text('published_apps').notNull(),
  startup: text('startup').notNull(),
  workspaceMode: text('workspace_mode').notNull().default('persistent'),
  /** off, host-to-guest, guest-to-host or both */
  clipboard: text('clipboard').notNull().default('off'),
  fileTransfer: text('file_transfer').notNull().default('off'),
  /** JSON array of lowercase extensions without the dot */
  fileTransferExtensions: text('file_transfer_extensions').notNull().default('[]'),
  printing: integer('printing', { mode: 'boolean' }).notNull().default(false),
  /** null = never */
  idleLockMinutes: integer('idle_lock_minutes'),
  lockOnSuspend: integer('lock_on_suspend', { mode: 'boolean' }).notNull().default(true),
  priority: integer('priority').notNull().default(0),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull()
}, (t) => [
  uniqueIndex('policies_name_uq').on(t.name),
  index('policies_image_idx').on(t.imageName)
])

export const assignments = sqliteTable('assignments', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  policyId: integer('policy_id').notNull().references(() => policies.id, { onDelete: 'cascade' }),
  subjectKind: text('subject_kind').notNull(),
  subject: text('subject').notNull(),
  createdAt: integer('created_at').notNull()
}, (t) => [
  uniqueIndex('assignments_policy_subject_uq').on(t.policyId, t.subjectKind, t.subject),
  index('assignments_subject_idx').on(t.subjectKind, t.subject)
])

export const clients = sqliteTable('clients', {
  id: text('id', { length: 128 }).primaryKey(),
  user: text('user').notNull(),
  hostname: text('hostname').notNull().default(''),
  site: text('site').notNull().default(''),
  agentVersion: text('agent_version').notNull().default(''),
  os: text('os').notNull().default(''),
  lastSeenAt: integer('last_seen_at').notNull(),
  /** seen continuously since then (reset when it comes back after `CLIENT_ONLINE_WINDOW_MS` without a word) */
  onlineSince: integer('online_since').notNull().default(0),
  /** the pull in progress: image, version, progress in permille; null when none */
  pullImage: text('pull_image'),
  pullVersion: integer('pull_version'),
  pullPermille: integer('pull_permille'),
  /** workspace state as JSON (shape: `ClientWorkspaces` in store.ts); null until the node reports one */
  workspace: text('workspace'),
  createdAt: integer('created_at').notNull()
}, (t) => [
  index('clients_user_idx').on(t.user),
  index('clients_site_seen_idx').on(t.site, t.lastSeenAt),
  index('clients_seen_idx').on(t.lastSeenAt)
])

/** The newest complete version of each image a client holds, and the policy it runs it under. */
export const clientImages = sqliteTable('client_images', {
  clientId: text('client_id', { length: 128 }).notNull().references(() => clients.id, { onDelete: 'cascade' }),
  image: text('image', { length: 200 }).notNull(),
  version: integer('version').notNull(),
  heldSince: integer('held_since').notNull(),
  policy: text('policy').notNull().default(''),
  policyUpdatedAt: integer('policy_updated_at'),
  updatedAt: integer('updated_at').notNull()
}, (t) => [
  primaryKey({ columns: [t.clientId, t.image] }),
  index('client_images_image_idx').on(t.image, t.version)
])

export const swarmMembers = sqliteTable('swarm_members', {
  image: text('image', { length: 200 }).notNull(),
  version: integer('version').notNull(),
  peerId: text('peer_id', { length: 128 }).notNull(),
  clientId: text('client_id', { length: 128 }).notNull(),
  site: text('site', { length: 200 }).notNull(),
  addrs: text('addrs').notNull(),
  have: blob('have', { mode: 'buffer' }).notNull(),
  haveCount: integer('have_count').notNull(),
  joinedAt: integer('joined_at').notNull(),
  announcedAt: integer('announced_at').notNull(),
  expiresAt: integer('expires_at').notNull()
}, (t) => [
  primaryKey({ columns: [t.image, t.version, t.peerId] }),
  index('swarm_site_join_idx').on(t.image, t.version, t.site, t.joinedAt),
  index('swarm_expires_idx').on(t.expiresAt)
])

export const events = sqliteTable('events', {
  id: text('id', { length: 64 }).primaryKey(),
  clientId: text('client_id', { length: 128 }).notNull(),
  user: text('user').notNull(),
  type: text('type', { length: 100 }).notNull(),
  at: integer('at').notNull(),
  receivedAt: integer('received_at').notNull(),
  /** the client's site and host when the event arrived: reports filter without a join */
  site: text('site', { length: 100 }).notNull().default(''),
  host: text('host', { length: 255 }).notNull().default(''),
  /** the payload's `image`, when it names one */
  image: text('image', { length: 200 }).notNull().default(''),
  payload: text('payload').notNull()
}, (t) => [
  index('events_type_at_idx').on(t.type, t.at),
  index('events_client_at_idx').on(t.clientId, t.at),
  index('events_at_idx').on(t.at),
  index('events_site_at_idx').on(t.site, t.at)
])

/** WAN offload per UTC day, site and image: `pull.completed` sums, updated with each fresh event. */
export const offloadDaily = sqliteTable('offload_daily', {
  day: integer('day').notNull(),
  site: text('site', { length: 100 }).notNull(),
  image: text('image', { length: 200 }).notNull(),
  pulls: integer('pulls').notNull(),
  originBytes: integer('origin_bytes').notNull(),
  peerBytes: integer('peer_bytes').notNull(),
  localBytes: integer('local_bytes').notNull(),
  decodedOriginBytes: integer('decoded_origin_bytes').notNull(),
  decodedPeerBytes: integer('decoded_peer_bytes').notNull()
}, (t) => [primaryKey({ columns: [t.day, t.site, t.image] })])

/** Origin wire bytes per UTC day, site, image and reason. */
export const offloadReasons = sqliteTable('offload_reasons', {
  day: integer('day').notNull(),
  site: text('site', { length: 100 }).notNull(),
  image: text('image', { length: 200 }).notNull(),
  reason: text('reason', { length: 32 }).notNull(),
  bytes: integer('bytes').notNull()
}, (t) => [primaryKey({ columns: [t.day, t.site, t.image, t.reason] })])

/** Fixed-window counters shared by every tracker process on the database (rate limits, quotas). */
export const usageCounters = sqliteTable('usage_counters', {
  key: text('key', { length: 300 }).notNull(),
  windowStart: integer('window_start').notNull(),
  count: integer('count').notNull()
}, (t) => [
  primaryKey({ columns: [t.key, t.windowStart] }),
  index('usage_counters_window_idx').on(t.windowStart)
])

/** A version's published boot profile: who decided it, and the signed document the origin file is rewritten from. */
export const bootProfiles = sqliteTable('boot_profiles', {
  versionId: integer('version_id').primaryKey().references(() => versions.id, { onDelete: 'cascade' }),
  /** admin | auto */
  source: text('source', { length: 8 }).notNull(),
  document: blob('document', { mode: 'buffer' }).notNull(),
  chunkCount: integer('chunk_count').notNull(),
  publishedAt: integer('published_at').notNull(),
  publishedBy: text('published_by').notNull()
})

/** Recordings nodes handed in for a version without a profile: one per user, merged at the quorum. */
export const bootProfileCandidates = sqliteTable('boot_profile_candidates', {
  versionId: integer('version_id').notNull().references(() => versions.id, { onDelete: 'cascade' }),
  user: text('user').notNull(),
  clientId: text('client_id', { length: 128 }).notNull(),
  /** JSON array of chunk ids in first-read order */
  chunks: text('chunks').notNull(),
  chunkCount: integer('chunk_count').notNull(),
  end: text('end_reason', { length: 16 }).notNull(),
  durationMs: integer('duration_ms').notNull(),
  submittedAt: integer('submitted_at').notNull()
}, (t) => [primaryKey({ columns: [t.versionId, t.user] })])
