/**
 * The tracker's storage interface: domain-shaped, async, one implementation per SQL
 * dialect (SQLite through `node:sqlite`, SQL Server through `mssql`), both checked by
 * `tests/integration/tracker/store.contract.ts`.
 *
 * Conventions:
 * - Every time is an integer of milliseconds since the epoch (`…Ms`); the store never
 *   reads a clock, so every write that stamps a time takes `nowMs`.
 * - Chunk ids and manifest ids are lowercase hex SHA-256 (64 characters).
 * - Failures the database decides (a name taken, a row gone, a forbidden transition)
 *   reject with `StoreError` (`./errors.ts`) and a stable `code`; caller mistakes
 *   (malformed ids, negative sizes) reject with `TypeError`.
 * - "Absent" is `undefined`, never `null`; nullable columns map to optional-or-null
 *   fields as documented per field.
 */
import type { DownloadWindow, GuestChannels, WorkspaceMode } from '../../protocol/index.ts'

export type VersionState = 'draft' | 'published' | 'retired'
export type TokenKind = 'user' | 'machine'
export type SubjectKind = 'user' | 'group'

export interface ImageRecord {
  id: number
  name: string
  description: string
  createdAtMs: number
}

export interface VersionRecord {
  id: number
  imageId: number
  imageName: string
  /** unique per image; each new draft gets a number higher than any before it */
  number: number
  state: VersionState
  /** signed manifest root bytes; null while a draft is still being uploaded */
  manifestRoot: Uint8Array | null
  /** sha256 hex of `manifestRoot`; null while a draft is still being uploaded */
  manifestId: string | null
  totalBytes: number
  chunkCount: number
  /** bytes this version added to the chunk store (not already stored at publish) */
  newBytes: number
  /** a rollback: the version number whose content this one republishes */
  sourceOf: number | null
  /** the upload lease that is writing this draft; null once finalized */
  uploadId: string | null
  createdAtMs: number
  publishedAtMs: number | null
  retiredAtMs: number | null
  expiresAtMs: number | null
  createdBy: string
}

export interface CreateDraftInput {
  imageId: number
  createdBy: string
  nowMs: number
  /** the upload lease writing it: an abandoned draft is found through its dead lease */
  uploadId?: string | null
  sourceOf?: number | null
  expiresAtMs?: number | null
}

/** What a finished upload knows: set once, then the draft can be published. */
export interface FinalizeDraftInput {
  manifestRoot: Uint8Array
  manifestId: string
  totalBytes: number
  chunkCount: number
  newBytes: number
  expiresAtMs?: number | null
}

export interface UploadLease {
  id: string
  imageName: string
  startedAtMs: number
  heartbeatAtMs: number
  /** the lease is dead (its upload crashed) once `nowMs > expiresAtMs` */
  expiresAtMs: number
}

export interface TokenRecord {
  id: number
  /** sha256 hex of the plaintext token; the plaintext is never stored */
  tokenHash: string
  user: string
  groups: string[]
  isAdmin: boolean
  /** with `isAdmin`: a read-only admin, who sees everything and changes nothing */
  readOnly: boolean
  kind: TokenKind
  label: string
  createdAtMs: number
  expiresAtMs: number | null
  revokedAtMs: number | null
  lastUsedAtMs: number | null
}

export interface CreateTokenInput {
  tokenHash: string
  user: string
  groups?: string[]
  isAdmin?: boolean
  /** with `isAdmin`: read-only admin (default false) */
  readOnly?: boolean
  kind?: TokenKind
  label?: string
  expiresAtMs?: number | null
  nowMs: number
}

/** `findTokenByHash` says why a token does not authenticate, so routes can log it. */
export type TokenLookup =
  | { status: 'valid', token: TokenRecord }
  | { status: 'revoked' | 'expired', token: TokenRecord }
  | { status: 'unknown' }

export interface PublishedApp {
  name: string
  command: string
  icon?: string
}

export interface StartupBehaviour {
  mode: 'auto' | 'manual'
  fullscreen?: boolean
  [key: string]: unknown
}

export interface PolicyFields {
  imageName: string
  /** a pinned version number; null = the latest published version */
  pinnedVersion: number | null
  /** the workspace may not be used after this time; null = no expiry */
  expiresAtMs: number | null
  offlineGraceSeconds: number
  p2pAllowed: boolean
  /** null = no cap */
  originRateBytesPerSec: number | null
  /** null = any time */
  downloadWindow: DownloadWindow | null
  vmMemoryMb: number
  vmCpus: number
  publishedApps: PublishedApp[]
  startup: StartupBehaviour
  workspaceMode: WorkspaceMode
  /** which host↔guest channels the VM has, and which way they carry data */
  guestChannels: GuestChannels
  /** lock after this many minutes without input; null = never */
  idleLockMinutes: number | null
  lockOnSuspend: boolean
  /** higher wins when several assigned policies name the same image */
  priority: number
}

export interface PolicyRecord extends PolicyFields {
  id: number
  name: string
  createdAtMs: number
  updatedAtMs: number
}

export interface CreatePolicyInput extends Partial<PolicyFields> {
  name: string
  imageName: string
  nowMs: number
}

export interface AssignmentRecord {
  id: number
  policyId: number
  subjectKind: SubjectKind
  subject: string
  createdAtMs: number
}

/** One policy that applies to a subject, with the assignment that made it apply. */
export interface PolicyMatch {
  policy: PolicyRecord
  /** the assignment: to the user, or to one of the user's groups */
  via: { kind: SubjectKind, subject: string }
}

/**
 * A node's workspaces, per image name, as the node reports them (the desk issue fills in
 * more): `{ "win11": { "state": "running", "version": 3, "sinceMs": 1800000000000 } }`.
 * `state` is one of `ready`, `running`, `paused`, `locked`, `stopped`; unknown fields are kept.
 */
export type ClientWorkspaces = Record<string, { state: string, version?: number, sinceMs?: number, [key: string]: unknown }>

/** The pull a node has in progress: `permille` of the version's chunks held (0–1000). */
export interface ClientPull {
  image: string
  version: number
  permille: number
}

/** The newest complete version of an image a client holds, and the policy it came under. */
export interface ClientImage {
  image: string
  version: number
  heldSinceMs: number
  /** the policy that assigned the image when the client last announced it; '' when unknown */
  policy: string
  /** that policy's last change: the "policy version" of MED-V's status report */
  policyUpdatedAtMs: number | null
  updatedAtMs: number
}

export interface ClientRecord {
  /** the node's libp2p peer id, or an id the tracker generated */
  id: string
  user: string
  hostname: string
  site: string
  /** the node's software version */
  agentVersion: string
  os: string
  lastSeenAtMs: number
  /** seen without a gap longer than the online window since this time */
  onlineSinceMs: number
  /** first seen */
  createdAtMs: number
  pull: ClientPull | null
  workspace: ClientWorkspaces | null
}

/** A client with the images it holds (client listings and the status report). */
export interface ClientDetail extends ClientRecord {
  images: ClientImage[]
}

export interface UpsertClientInput {
  id: string
  user: string
  /** undefined keeps what is stored ('' for a new client); so do `site`, `agentVersion`, `os` */
  hostname?: string
  site?: string
  agentVersion?: string
  os?: string
  nowMs: number
  /** a client unseen for longer than this comes back "online since" now (default 5 min) */
  onlineWindowMs?: number
  /** a new id is refused (`ERR_STORE_CLIENT_LIMIT`) when the user already has this many clients */
  maxClientsPerUser?: number
  /** the client holds this version complete: recorded when newer than what it held, and its pull of it ends */
  held?: { image: string, version: number, policy?: { name: string, updatedAtMs: number } | null }
  /** the pull in progress; null clears it; undefined keeps it */
  pull?: ClientPull | null
  /** undefined keeps the stored state */
  workspace?: ClientWorkspaces | null
}

export type ClientSort = 'lastSeen' | 'firstSeen' | 'host' | 'user' | 'site' | 'id'

export interface ClientQuery {
  site?: string
  user?: string
  host?: string
  /** clients holding (a version of) this image */
  image?: string
  /** substring of id, host name or user */
  search?: string
  /** seen at or after this time (`online`) or before it (`offline`) */
  seen?: { state: 'online' | 'offline', sinceMs: number }
  /** last seen within [fromMs, toMs) */
  fromMs?: number
  toMs?: number
  sort?: ClientSort
  order?: 'asc' | 'desc'
  offset?: number
  /** default 100, at most 1000 */
  limit?: number
}

export interface SwarmMember {
  image: string
  version: number
  peerId: string
  clientId: string
  site: string
  addrs: string[]
  /** bitfield over the version's chunk indexes (bit i of byte i>>3, most significant first) */
  have: Uint8Array
  haveCount: number
  /** when this membership began; kept across announces, reset after an expiry */
  joinedAtMs: number
  announcedAtMs: number
  expiresAtMs: number
}

export interface UpsertMemberInput {
  image: string
  version: number
  peerId: string
  clientId: string
  site: string
  addrs: string[]
  have: Uint8Array
  haveCount: number
  nowMs: number
  /** membership lapses `ttlMs` after this announce unless renewed */
  ttlMs: number
}

export interface MembersForOptions {
  /** the asking peer, left out of the answer */
  excludePeerId?: string
  /** members of this site come first */
  site?: string
  /** members whose `expiresAtMs < nowMs` are left out */
  nowMs: number
  limit?: number
}

export interface SwarmSize {
  image: string
  version: number
  members: number
}

/** Byte counts of the offload rollup: wire bytes by source, decoded beside them. */
export interface OffloadBytes {
  originBytes: number
  peerBytes: number
  localBytes: number
  decodedOriginBytes: number
  decodedPeerBytes: number
  /** origin wire bytes by reason */
  originBytesByReason: Record<string, number>
}

/** What one fresh `pull.completed` adds to the offload rollup of its UTC day, site and image. */
export interface OffloadDelta extends OffloadBytes {
  /** start of the UTC day, epoch ms */
  dayMs: number
  site: string
  image: string
}

export interface EventInput {
  /** client-supplied UUID: the idempotency key */
  id: string
  clientId: string
  user: string
  type: string
  atMs: number
  payload: unknown
  /** the client's site and host at ingest ('' when unknown) */
  site?: string
  host?: string
  /** the image the event is about ('' when none) */
  image?: string
  /** added to the offload rollup when (and only when) the event is new */
  offload?: OffloadDelta
}

export interface ReportInput {
  /** the reporting client; what it holds, pulls and runs comes from `contents` */
  client: Omit<UpsertClientInput, 'held' | 'pull' | 'workspace'>
  /** a fixed-window counter (as `addUsage`) the report's `amount` must fit under `limit` */
  quota?: { key: string, windowStartMs: number, amount: number, limit: number }
  contents: (current: ClientRecord | undefined) => { state: Pick<UpsertClientInput, 'held' | 'pull' | 'workspace'>, events: readonly EventInput[] }
  /** events stored in the report's transaction; the rest are returned */
  storeNow: number
  receivedAtMs: number
}

export type ReportResult =
  | { stored: true, inserted: number, duplicates: number, pending: readonly EventInput[] }
  | { stored: false, quotaUsed: number }

export interface EventRecord extends Omit<EventInput, 'offload' | 'site' | 'host' | 'image'> {
  site: string
  host: string
  image: string
  receivedAtMs: number
}

export interface EventQuery {
  type?: string
  /** any of these types, or a type ending in one of `typeSuffixes` (the error log's severity table) */
  typeIn?: readonly string[]
  typeSuffixes?: readonly string[]
  clientId?: string
  /** any of these client ids (lets the (client, at) index serve a filter by user) */
  clientIdIn?: readonly string[]
  user?: string
  site?: string
  host?: string
  image?: string
  /** inclusive */
  fromMs?: number
  /** exclusive */
  toMs?: number
  /** keyset paging: events strictly after this one in the chosen order */
  after?: { atMs: number, id: string }
  /** default 1000, at most 10000 */
  limit?: number
  /** default 'desc' (newest first); ties broken by id */
  order?: 'asc' | 'desc'
}

/** Offload of one UTC day and site (summed over images unless filtered to one). */
export interface OffloadRow extends OffloadBytes {
  dayMs: number
  site: string
  pulls: number
}

export interface OffloadQuery {
  /** days starting at or after (inclusive) */
  fromMs?: number
  /** days starting before (exclusive) */
  toMs?: number
  site?: string
  image?: string
}

/** How many clients hold an image version as their newest, and since when. */
export interface HeldVersionRow {
  image: string
  version: number
  clients: number
  firstHeldAtMs: number
  lastHeldAtMs: number
}

/** How many clients are pulling an image version. */
export interface PullingVersionRow {
  image: string
  version: number
  clients: number
}

export interface DeploymentQuery {
  image?: string
  site?: string
  user?: string
  host?: string
}

export interface TrackerStore {
  readonly dialect: 'sqlite' | 'mssql'

  // ---- images ----------------------------------------------------------------------
  /** Rejects `ERR_STORE_CONFLICT` when the name is taken. */
  createImage (input: { name: string, description?: string, nowMs: number }): Promise<ImageRecord>
  getImage (name: string): Promise<ImageRecord | undefined>
  getImageById (id: number): Promise<ImageRecord | undefined>
  listImages (): Promise<ImageRecord[]>
  /** `ERR_STORE_NOT_FOUND` if absent. */
  updateImage (id: number, patch: { description: string }): Promise<ImageRecord>
  /**
   * Deletes the image with its drafts and retired versions. Rejects `ERR_STORE_IN_USE` while a
   * version is published (retire it first); resolves false when there was no such image.
   */
  deleteImage (id: number): Promise<boolean>

  // ---- versions --------------------------------------------------------------------
  /**
   * Reserves and returns the next version number of an image: every call, from any
   * process on the same database, gets a number higher than every number returned before
   * (gaps are possible when a reserved number is never used). `ERR_STORE_NOT_FOUND` if no
   * such image. `createDraft` calls it itself; use it alone only to learn a number early.
   */
  nextVersionNumber (imageId: number): Promise<number>
  /**
   * Creates a draft under a freshly reserved number (so its manifest can be signed with
   * it). Manifest fields stay null until `finalizeDraft`.
   */
  createDraft (input: CreateDraftInput): Promise<VersionRecord>
  /**
   * Records every chunk id the version references — image chunks and chunk-list parts —
   * in batches; duplicates (zero blocks) and repeats across calls are absorbed. Safe to
   * call many times while an upload streams. `ERR_STORE_NOT_FOUND` / `ERR_STORE_INVALID_STATE`
   * unless the version is a draft.
   */
  addVersionChunks (versionId: number, chunkIds: Iterable<string>): Promise<void>
  /** Sets the manifest of a draft and clears its upload id; `ERR_STORE_INVALID_STATE` unless a draft. */
  finalizeDraft (versionId: number, input: FinalizeDraftInput): Promise<VersionRecord>
  /**
   * draft → published. Rejects `ERR_STORE_INVALID_STATE` unless a finalized draft, and
   * `ERR_STORE_STALE_VERSION` when a higher-numbered version of the image has ever been
   * published (clients that saw it would refuse this one as a rollback).
   */
  publish (versionId: number, nowMs: number): Promise<VersionRecord>
  /** published → retired (idempotent for retired); `ERR_STORE_INVALID_STATE` for a draft. */
  retire (versionId: number, nowMs: number): Promise<VersionRecord>
  /** Deletes a draft and its chunk references; false if there was none. `ERR_STORE_INVALID_STATE` if not a draft. */
  deleteDraft (versionId: number): Promise<boolean>
  /**
   * Deletes drafts whose upload lease is gone or expired at `nowMs` (their upload
   * crashed), with their chunk references; returns the deleted version ids.
   */
  deleteAbandonedDrafts (nowMs: number): Promise<number[]>
  getVersion (imageId: number, number: number): Promise<VersionRecord | undefined>
  getVersionById (id: number): Promise<VersionRecord | undefined>
  /** Highest-numbered published version, if any. */
  latestPublished (imageId: number): Promise<VersionRecord | undefined>
  /** Ascending by number. */
  listVersions (imageId: number, filter?: { state?: VersionState }): Promise<VersionRecord[]>
  /** The chunk ids a version references, in id order (for rollback: copy them to the new version). */
  versionChunkIds (versionId: number): Promise<string[]>

  /**
   * Whether a published or retired (still rollback-able) version of the image references
   * the chunk — drafts do not count. The built-in origin's check that an origin token's
   * image covers the chunk asked for. False for an unknown image.
   */
  imageHasChunk (imageName: string, chunkId: string): Promise<boolean>

  // ---- garbage collection (see tracker/db/README.md for the full rule) ---------------
  /**
   * Of the given chunk ids, those referenced by no version that protects its chunks: every
   * draft and published version protects; a retired version protects while
   * `retiredAtMs > retiredCutoffMs` (so it can still be rolled back to).
   */
  unreferencedChunks (chunkIds: readonly string[], opts: { retiredCutoffMs: number }): Promise<string[]>
  /**
   * The GC horizon: the `startedAtMs` of the oldest upload lease alive at `nowMs`, or
   * `nowMs` when none is. A chunk file modified at or after the horizon is never deleted.
   */
  gcHorizonMs (nowMs: number): Promise<number>

  // ---- upload leases ----------------------------------------------------------------
  /** Take the lease BEFORE writing the first chunk file. `ERR_STORE_CONFLICT` if the id is taken. */
  beginUpload (input: { id: string, imageName: string, nowMs: number, ttlMs: number }): Promise<UploadLease>
  /** Extends a live lease; false when it has expired or ended (the upload must abort). */
  heartbeatUpload (id: string, nowMs: number, ttlMs: number): Promise<boolean>
  /** Ends a lease (after the draft is finalized or deleted); false if it was not there. */
  endUpload (id: string): Promise<boolean>
  activeUploads (nowMs: number): Promise<UploadLease[]>

  // ---- API tokens -------------------------------------------------------------------
  /** `ERR_STORE_CONFLICT` when the hash exists. */
  createToken (input: CreateTokenInput): Promise<TokenRecord>
  /** Looks a hash up and says whether it authenticates at `nowMs`. */
  findTokenByHash (tokenHash: string, nowMs: number): Promise<TokenLookup>
  /** The token when it authenticates at `nowMs` (exists, not revoked, not expired). */
  findActiveToken (tokenHash: string, nowMs: number): Promise<TokenRecord | undefined>
  /** Records use; callers may throttle it (one write per token per minute is plenty). */
  markTokenUsed (id: number, nowMs: number): Promise<void>
  /** Idempotent (keeps the first revocation time); false if no such token. */
  revokeToken (id: number, nowMs: number): Promise<boolean>
  getToken (id: number): Promise<TokenRecord | undefined>
  /** Ascending by id. */
  listTokens (filter?: { user?: string }): Promise<TokenRecord[]>

  // ---- policies and assignments -------------------------------------------------------
  /** `ERR_STORE_CONFLICT` when the name is taken. Unset fields get the defaults in README.md. */
  createPolicy (input: CreatePolicyInput): Promise<PolicyRecord>
  getPolicy (id: number): Promise<PolicyRecord | undefined>
  getPolicyByName (name: string): Promise<PolicyRecord | undefined>
  /** Ascending by name. */
  listPolicies (filter?: { imageName?: string }): Promise<PolicyRecord[]>
  /** `ERR_STORE_NOT_FOUND` / `ERR_STORE_CONFLICT` (renamed onto a taken name). */
  updatePolicy (id: number, patch: Partial<PolicyFields> & { name?: string }, nowMs: number): Promise<PolicyRecord>
  /** Deletes the policy and its assignments; false if there was none. */
  deletePolicy (id: number): Promise<boolean>
  /** `ERR_STORE_NOT_FOUND` (no such policy) / `ERR_STORE_CONFLICT` (already assigned). */
  assign (input: { policyId: number, subjectKind: SubjectKind, subject: string, nowMs: number }): Promise<AssignmentRecord>
  unassign (input: { policyId: number, subjectKind: SubjectKind, subject: string }): Promise<boolean>
  listAssignments (filter?: { policyId?: number, subjectKind?: SubjectKind, subject?: string }): Promise<AssignmentRecord[]>
  /**
   * Every assignment of a policy to the user or to one of the groups, with its policy: a
   * policy assigned both ways comes once per assignment. Ordered by policy id, then kind
   * ('group' before 'user'), then subject. Which policy applies per image is the caller's
   * precedence rule; the store applies none.
   */
  policiesForSubject (user: string, groups: readonly string[]): Promise<PolicyMatch[]>

  // ---- clients (nodes) ----------------------------------------------------------------
  /**
   * Inserts or updates; `createdAtMs` is kept from the first call, `onlineSinceMs` while the
   * client is seen within the online window. A new id is refused with
   * `ERR_STORE_CLIENT_LIMIT` when `maxClientsPerUser` is given and reached (exact on SQLite,
   * whose writers are serialised; on SQL Server two racing first reports may overshoot by one).
   */
  upsertClient (input: UpsertClientInput): Promise<ClientRecord>
  getClient (id: string): Promise<ClientRecord | undefined>
  /** A client with the images it holds. */
  getClientDetail (id: string): Promise<ClientDetail | undefined>
  /** Most recently seen first. */
  listClients (filter?: { user?: string, site?: string }): Promise<ClientRecord[]>
  /** Clients matching every filter, sorted (ties by id), one page, and how many match in all. */
  queryClients (query?: ClientQuery): Promise<{ clients: ClientDetail[], total: number }>
  /** How many clients are registered to the user. */
  countClients (user: string): Promise<number>

  // ---- swarm --------------------------------------------------------------------------
  /** Inserts or refreshes a membership; `joinedAtMs` is kept unless the old one had expired. */
  upsertMember (input: UpsertMemberInput): Promise<SwarmMember>
  /**
   * Live members of (image, version): same site first, then most chunks held, then most
   * recent announce, then peer id.
   */
  membersFor (image: string, version: number, opts: MembersForOptions): Promise<SwarmMember[]>
  /**
   * Live members of one site, ordered by join time then peer id: the stable order the
   * origin-work split is computed from (member i of n takes the chunks whose index ≡ i mod n).
   */
  siteMembers (image: string, version: number, site: string, nowMs: number): Promise<SwarmMember[]>
  removeMember (image: string, version: number, peerId: string): Promise<boolean>
  /** Deletes memberships expired at `nowMs`; returns how many. */
  expireMembers (nowMs: number): Promise<number>
  /** Live members per (image, version), for metrics. */
  swarmSizes (nowMs: number): Promise<SwarmSize[]>

  // ---- events -------------------------------------------------------------------------
  /**
   * Stores each event once by id: a repeated id (in this batch or stored before) counts as
   * a duplicate and changes nothing. A new event's `offload` is added to the rollup in the
   * same transaction, so the rollup counts each event once too.
   */
  insertEvents (events: readonly EventInput[], receivedAtMs: number): Promise<{ inserted: number, duplicates: number }>
  /**
   * A node's report in one transaction (one commit, where separate calls made four): adds
   * `quota.amount` to the quota's counter — past its limit nothing else happens and the
   * count stays —, reads the client row, asks `contents` what the report holds given that
   * row (undefined: a new client; it may throw to refuse the report, and then nothing is
   * kept), writes the client row as `upsertClient` would and stores the first `storeNow`
   * events as `insertEvents` would. The rest come back as `pending`, for `insertEvents`:
   * the caller may let other work in between.
   */
  recordReport (input: ReportInput): Promise<ReportResult>
  /** Filters are bound parameters, never spliced into SQL. */
  queryEvents (query?: EventQuery): Promise<EventRecord[]>
  /**
   * Deletes at most `limit` events with `atMs` (client time) or `receivedAtMs` before
   * `beforeMs` — one bounded statement, so ingest is never held up for long; returns how many.
   */
  pruneEvents (beforeMs: number, limit: number): Promise<number>

  // ---- reports ------------------------------------------------------------------------
  /** Offload per UTC day and site, newest day first, then site. */
  offloadByDay (query?: OffloadQuery): Promise<OffloadRow[]>
  /** Deletes offload rollups of days before `beforeMs`; returns how many rows. */
  pruneOffload (beforeMs: number): Promise<number>
  /** Clients per (image, newest version held) and per (image, version pulling), over the matching clients. */
  deploymentCounts (query?: DeploymentQuery): Promise<{ held: HeldVersionRow[], pulling: PullingVersionRow[] }>

  // ---- boot profiles (instant start) -------------------------------------------------
  /** The version's published profile row, if one was published since these rows exist. */
  getBootProfile (versionId: number): Promise<BootProfileRecord | undefined>
  /**
   * Records a published profile. `source: 'admin'` always writes (and drops the version's
   * candidates); `'auto'` writes only while no admin profile is recorded, and answers
   * false otherwise — the admin's choice is never overwritten by agreeing nodes.
   */
  putBootProfile (input: BootProfileRecord & { versionId: number }): Promise<boolean>
  /**
   * Adds a user's recording of a version. ERR_STORE_CONFLICT: that user already has one;
   * ERR_STORE_INVALID_STATE: the version has a profile already, or holds `maxCandidates`.
   * Returns the version's candidates after the insert, oldest first.
   */
  addBootProfileCandidate (input: BootProfileCandidateInput, maxCandidates: number): Promise<BootProfileCandidateRecord[]>
  /** The version's candidates with their chunk ids, oldest first. */
  listBootProfileCandidates (versionId: number): Promise<BootProfileCandidateRecord[]>
  /** Deletes the version's candidates; returns how many. */
  clearBootProfileCandidates (versionId: number): Promise<number>

  // ---- usage counters (rate limits and quotas shared by every tracker process) --------
  /** Adds `amount` to the counter of (`key`, `windowStartMs`) and returns its new value. */
  addUsage (key: string, windowStartMs: number, amount: number): Promise<number>
  /** Deletes counters of windows that started before `beforeMs`; returns how many. */
  pruneUsage (beforeMs: number): Promise<number>

  /** Resolves when the database answers a trivial query (for `/healthz`). */
  ping (): Promise<void>
  /** Closes the connection (pool); idempotent. */
  close (): Promise<void>
}

export interface BootProfileRecord {
  source: 'admin' | 'auto'
  /** the signed profile document, as the origin serves it */
  document: Uint8Array
  chunkCount: number
  publishedAtMs: number
  publishedBy: string
}

export interface BootProfileCandidateInput {
  versionId: number
  user: string
  clientId: string
  /** chunk ids in first-read order, distinct, each checked against the version by the caller */
  chunks: string[]
  end: string
  durationMs: number
  nowMs: number
}

export type BootProfileCandidateRecord = Omit<BootProfileCandidateInput, 'nowMs'> & { submittedAtMs: number }

export type { DownloadWindow }
