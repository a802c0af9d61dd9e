/**
 * `TrackerStore` on SQLite through `node:sqlite` and `drizzle-orm/node-sqlite`.
 *
 * One file may be shared by several tracker processes: WAL mode, a busy timeout, and
 * every read-then-write done in a synchronous `BEGIN IMMEDIATE` transaction (drizzle's
 * transactions on node:sqlite are only real with a synchronous callback), so a writer
 * waits for the lock instead of failing half-way.
 */
import { DatabaseSync } from 'node:sqlite'
import { fileURLToPath } from 'node:url'
import { and, asc, desc, eq, gt, gte, inArray, isNotNull, lt, or, sql, type SQL } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/node-sqlite'
import { migrate } from 'drizzle-orm/node-sqlite/migrator'
import * as s from './schema.sqlite.ts'
import { StoreError } from './errors.ts'
import {
  assertCount, assertEventId, assertHex64, assertName, assertSubjectKind, assertTime, batches, eventLimit,
  IN_LIST_BATCH, newPolicyColumns, policyColumns, toAssignment, toClient, toEvent, toImage, toMember, toPolicy,
  byPolicyThenSubject, toToken, toUpload, toVersion
} from './records.ts'
import type {
  SwarmMember, TokenLookup, TrackerStore, VersionRecord
} from './store.ts'

/** How long a writer waits for another process's lock before failing. */
export const SQLITE_BUSY_TIMEOUT_MS = 10_000
/** Rows of version_chunks per transaction: short enough not to starve another process. */
const CHUNK_ROWS_PER_TX = 50_000
/** Rows per multi-row INSERT (2 parameters each, well under SQLite's 32766). */
const CHUNK_ROWS_PER_STMT = 500

const MIGRATIONS = fileURLToPath(new URL('./migrations/sqlite', import.meta.url))

type Db = ReturnType<typeof drizzle>

function isUniqueViolation (err: unknown): boolean {
  for (let e = err as { errcode?: number, message?: string, cause?: unknown } | undefined, i = 0; e != null && i < 5; e = e.cause as typeof e, i++) {
    if (e.errcode === 2067 || e.errcode === 1555) return true
    if (typeof e.message === 'string' && /UNIQUE constraint failed/.test(e.message)) return true
  }
  return false
}

function conflict<T> (what: string, fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    if (isUniqueViolation(err)) throw new StoreError('ERR_STORE_CONFLICT', `${what} already exists`, { cause: err })
    throw err
  }
}

export async function openSqliteStore (path: string): Promise<TrackerStore> {
  const client = new DatabaseSync(path, { timeout: SQLITE_BUSY_TIMEOUT_MS })
  client.exec(`PRAGMA busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`)
  client.exec('PRAGMA journal_mode = WAL')
  // NORMAL is durable across process crashes in WAL mode; only an OS crash may lose the last commits.
  client.exec('PRAGMA synchronous = NORMAL')
  client.exec('PRAGMA foreign_keys = ON')
  // 64 MiB of page cache: a 1M-row version_chunks insert thrashes the 2 MiB default.
  client.exec('PRAGMA cache_size = -65536')
  const db: Db = drizzle({ client })
  try {
    migrate(db, { migrationsFolder: MIGRATIONS })
  } catch (err) {
    // Two processes opening a fresh file both see "nothing applied"; the loser's CREATE
    // fails. Its second pass sees the winner's migrations and has nothing left to do.
    migrate(db, { migrationsFolder: MIGRATIONS })
    void err
  }
  return createSqliteStore(db, client)
}

function createSqliteStore (db: Db, client: DatabaseSync): TrackerStore {
  let closed = false
  const imageName = (tx: Db, imageId: number): string =>
    tx.select({ name: s.images.name }).from(s.images).where(eq(s.images.id, imageId)).get()?.name ?? ''

  function versionById (tx: Db, id: number): VersionRecord | undefined {
    const row = tx.select({ v: s.versions, name: s.images.name }).from(s.versions)
      .innerJoin(s.images, eq(s.images.id, s.versions.imageId)).where(eq(s.versions.id, id)).get()
    return row === undefined ? undefined : toVersion(row.v, row.name)
  }

  function draftOrThrow (tx: Db, versionId: number): VersionRecord {
    const v = versionById(tx, versionId)
    if (v === undefined) throw new StoreError('ERR_STORE_NOT_FOUND', `no version ${versionId}`)
    if (v.state !== 'draft') throw new StoreError('ERR_STORE_INVALID_STATE', `version ${v.imageName}@${v.number} is ${v.state}, not a draft`)
    return v
  }

  function reserveNumber (tx: Db, imageId: number): number {
    const row = tx.update(s.images).set({ lastVersion: sql`${s.images.lastVersion} + 1` })
      .where(eq(s.images.id, imageId)).returning({ n: s.images.lastVersion }).get()
    if (row === undefined) throw new StoreError('ERR_STORE_NOT_FOUND', `no image ${imageId}`)
    return row.n
  }

  const insertChunkStmts = new Map<number, ReturnType<DatabaseSync['prepare']>>()
  function insertChunkStmt (rows: number): ReturnType<DatabaseSync['prepare']> {
    let stmt = insertChunkStmts.get(rows)
    if (stmt === undefined) {
      stmt = client.prepare(`INSERT OR IGNORE INTO version_chunks (version_id, chunk_id) VALUES ${Array(rows).fill('(?, ?)').join(', ')}`)
      insertChunkStmts.set(rows, stmt)
    }
    return stmt
  }

  const store: TrackerStore = {
    dialect: 'sqlite',

    // ---- images ----
    async createImage ({ name, description = '', nowMs }) {
      assertName(name, 'image name')
      assertTime(nowMs, 'nowMs')
      const row = conflict(`image ${name}`, () => db.transaction((tx) =>
        tx.insert(s.images).values({ name, description, createdAt: nowMs }).returning().get()))
      return toImage(row)
    },
    async getImage (name) {
      const row = await db.select().from(s.images).where(eq(s.images.name, name)).get()
      return row === undefined ? undefined : toImage(row)
    },
    async getImageById (id) {
      const row = await db.select().from(s.images).where(eq(s.images.id, id)).get()
      return row === undefined ? undefined : toImage(row)
    },
    async listImages () {
      return (await db.select().from(s.images).orderBy(asc(s.images.name))).map(toImage)
    },
    async updateImage (id, { description }) {
      const row = await db.update(s.images).set({ description }).where(eq(s.images.id, id)).returning().get()
      if (row === undefined) throw new StoreError('ERR_STORE_NOT_FOUND', `no image ${id}`)
      return toImage(row)
    },
    async deleteImage (id) {
      return db.transaction((tx) => {
        const live = tx.select({ id: s.versions.id }).from(s.versions)
          .where(and(eq(s.versions.imageId, id), eq(s.versions.state, 'published'))).limit(1).get()
        if (live !== undefined) throw new StoreError('ERR_STORE_IN_USE', 'image has published versions; retire them first')
        return tx.delete(s.images).where(eq(s.images.id, id)).run().changes > 0
      }, { behavior: 'immediate' })
    },

    // ---- versions ----
    async nextVersionNumber (imageId) {
      return db.transaction((tx) => reserveNumber(tx as unknown as Db, imageId), { behavior: 'immediate' })
    },
    async createDraft ({ imageId, createdBy, nowMs, uploadId = null, sourceOf = null, expiresAtMs = null }) {
      assertTime(nowMs, 'nowMs')
      assertName(createdBy, 'createdBy')
      if (sourceOf !== null) assertCount(sourceOf, 'sourceOf')
      const id = db.transaction((t) => {
        const tx = t as unknown as Db
        const number = reserveNumber(tx, imageId)
        return tx.insert(s.versions).values({
          imageId, number, state: 'draft', sourceOf, uploadId, expiresAt: expiresAtMs, createdAt: nowMs, createdBy
        }).returning({ id: s.versions.id }).get().id
      }, { behavior: 'immediate' })
      return versionById(db, id)!
    },
    async addVersionChunks (versionId, chunkIds) {
      draftOrThrow(db, versionId)
      // Sorted, de-duplicated keys turn both B-tree inserts (the primary key and the
      // chunk_id index) into near-appends: 1M ids take ~3 s of CPU instead of ~14 s.
      const all = [...new Set(chunkIds)]
      for (const id of all) assertHex64(id, 'chunk id')
      all.sort()
      for (const group of batches(all, CHUNK_ROWS_PER_TX)) {
        db.transaction((t) => {
          // Re-check inside the lock: a concurrent deleteDraft must not leave orphan rows.
          draftOrThrow(t as unknown as Db, versionId)
          for (const rows of batches(group, CHUNK_ROWS_PER_STMT)) {
            const params: Array<string | number> = []
            for (const id of rows) params.push(versionId, id)
            insertChunkStmt(rows.length).run(...params)
          }
        }, { behavior: 'immediate' })
      }
    },
    async finalizeDraft (versionId, input) {
      if (!(input.manifestRoot instanceof Uint8Array)) throw new TypeError('manifestRoot must be bytes')
      assertHex64(input.manifestId, 'manifestId')
      assertCount(input.totalBytes, 'totalBytes')
      assertCount(input.chunkCount, 'chunkCount')
      assertCount(input.newBytes, 'newBytes')
      db.transaction((t) => {
        const tx = t as unknown as Db
        draftOrThrow(tx, versionId)
        tx.update(s.versions).set({
          manifestRoot: Buffer.from(input.manifestRoot),
          manifestId: input.manifestId,
          totalBytes: input.totalBytes,
          chunkCount: input.chunkCount,
          newBytes: input.newBytes,
          uploadId: null,
          ...(input.expiresAtMs !== undefined ? { expiresAt: input.expiresAtMs } : {})
        }).where(eq(s.versions.id, versionId)).run()
      }, { behavior: 'immediate' })
      return versionById(db, versionId)!
    },
    async publish (versionId, nowMs) {
      assertTime(nowMs, 'nowMs')
      db.transaction((t) => {
        const tx = t as unknown as Db
        const v = draftOrThrow(tx, versionId)
        if (v.manifestRoot === null) throw new StoreError('ERR_STORE_INVALID_STATE', `version ${v.imageName}@${v.number} has no manifest yet`)
        const higher = tx.select({ n: s.versions.number }).from(s.versions).where(and(
          eq(s.versions.imageId, v.imageId), gt(s.versions.number, v.number), isNotNull(s.versions.publishedAt)
        )).limit(1).get()
        if (higher !== undefined) throw new StoreError('ERR_STORE_STALE_VERSION', `${v.imageName}@${higher.n} is already published; publish a new draft instead of ${v.number}`)
        tx.update(s.versions).set({ state: 'published', publishedAt: nowMs }).where(eq(s.versions.id, versionId)).run()
      }, { behavior: 'immediate' })
      return versionById(db, versionId)!
    },
    async retire (versionId, nowMs) {
      assertTime(nowMs, 'nowMs')
      db.transaction((t) => {
        const tx = t as unknown as Db
        const v = versionById(tx, versionId)
        if (v === undefined) throw new StoreError('ERR_STORE_NOT_FOUND', `no version ${versionId}`)
        if (v.state === 'draft') throw new StoreError('ERR_STORE_INVALID_STATE', 'a draft cannot be retired; delete it')
        if (v.state === 'published') tx.update(s.versions).set({ state: 'retired', retiredAt: nowMs }).where(eq(s.versions.id, versionId)).run()
      }, { behavior: 'immediate' })
      return versionById(db, versionId)!
    },
    async deleteDraft (versionId) {
      return db.transaction((t) => {
        const tx = t as unknown as Db
        const v = versionById(tx, versionId)
        if (v === undefined) return false
        if (v.state !== 'draft') throw new StoreError('ERR_STORE_INVALID_STATE', `version ${v.imageName}@${v.number} is ${v.state}`)
        return tx.delete(s.versions).where(eq(s.versions.id, versionId)).run().changes > 0
      }, { behavior: 'immediate' })
    },
    async deleteAbandonedDrafts (nowMs) {
      assertTime(nowMs, 'nowMs')
      return db.transaction((t) => {
        const tx = t as unknown as Db
        const live = tx.select({ id: s.uploads.id }).from(s.uploads).where(gte(s.uploads.expiresAt, nowMs))
        const dead = tx.select({ id: s.versions.id }).from(s.versions).where(and(
          eq(s.versions.state, 'draft'), isNotNull(s.versions.uploadId),
          sql`${s.versions.uploadId} NOT IN ${live}`
        )).all().map((r) => r.id)
        for (const ids of batches(dead, IN_LIST_BATCH)) tx.delete(s.versions).where(inArray(s.versions.id, ids)).run()
        tx.delete(s.uploads).where(lt(s.uploads.expiresAt, nowMs)).run()
        return dead
      }, { behavior: 'immediate' })
    },
    async getVersion (imageId, number) {
      const row = await db.select({ v: s.versions, name: s.images.name }).from(s.versions)
        .innerJoin(s.images, eq(s.images.id, s.versions.imageId))
        .where(and(eq(s.versions.imageId, imageId), eq(s.versions.number, number))).get()
      return row === undefined ? undefined : toVersion(row.v, row.name)
    },
    async getVersionById (id) {
      return versionById(db, id)
    },
    async latestPublished (imageId) {
      const row = await db.select({ v: s.versions, name: s.images.name }).from(s.versions)
        .innerJoin(s.images, eq(s.images.id, s.versions.imageId))
        .where(and(eq(s.versions.imageId, imageId), eq(s.versions.state, 'published')))
        .orderBy(desc(s.versions.number)).limit(1).get()
      return row === undefined ? undefined : toVersion(row.v, row.name)
    },
    async listVersions (imageId, filter = {}) {
      const name = imageName(db, imageId)
      const where = filter.state === undefined ? eq(s.versions.imageId, imageId) : and(eq(s.versions.imageId, imageId), eq(s.versions.state, filter.state))
      return (await db.select().from(s.versions).where(where).orderBy(asc(s.versions.number))).map((r) => toVersion(r, name))
    },
    async versionChunkIds (versionId) {
      const rows = await db.select({ c: s.versionChunks.chunkId }).from(s.versionChunks)
        .where(eq(s.versionChunks.versionId, versionId)).orderBy(asc(s.versionChunks.chunkId))
      return rows.map((r) => r.c)
    },

    // ---- GC ----
    async imageHasChunk (imageName, chunkId) {
      assertHex64(chunkId, 'chunk id')
      const row = db.select({ one: sql<number>`1` }).from(s.versionChunks)
        .innerJoin(s.versions, eq(s.versions.id, s.versionChunks.versionId))
        .innerJoin(s.images, eq(s.images.id, s.versions.imageId))
        .where(and(eq(s.versionChunks.chunkId, chunkId), eq(s.images.name, imageName), inArray(s.versions.state, ['published', 'retired'])))
        .limit(1).get()
      return row !== undefined
    },
    async unreferencedChunks (chunkIds, { retiredCutoffMs }) {
      assertTime(retiredCutoffMs, 'retiredCutoffMs')
      const out: string[] = []
      for (const group of batches(chunkIds, IN_LIST_BATCH)) {
        for (const id of group) assertHex64(id, 'chunk id')
        const referenced = new Set(db.select({ c: s.versionChunks.chunkId }).from(s.versionChunks)
          .innerJoin(s.versions, eq(s.versions.id, s.versionChunks.versionId))
          .where(and(inArray(s.versionChunks.chunkId, group), or(
            sql`${s.versions.state} <> 'retired'`, gt(s.versions.retiredAt, retiredCutoffMs)
          ))).all().map((r) => r.c))
        for (const id of group) if (!referenced.has(id)) out.push(id)
      }
      return [...new Set(out)]
    },
    async gcHorizonMs (nowMs) {
      assertTime(nowMs, 'nowMs')
      const row = await db.select({ m: sql<number | null>`min(${s.uploads.startedAt})` }).from(s.uploads)
        .where(gte(s.uploads.expiresAt, nowMs)).get()
      return row?.m == null ? nowMs : Math.min(nowMs, Number(row.m))
    },

    // ---- uploads ----
    async beginUpload ({ id, imageName, nowMs, ttlMs }) {
      assertName(id, 'upload id', 64)
      assertTime(nowMs, 'nowMs')
      assertCount(ttlMs, 'ttlMs')
      const row = conflict(`upload ${id}`, () => db.transaction((tx) => tx.insert(s.uploads)
        .values({ id, imageName, startedAt: nowMs, heartbeatAt: nowMs, expiresAt: nowMs + ttlMs }).returning().get()))
      return toUpload(row)
    },
    async heartbeatUpload (id, nowMs, ttlMs) {
      assertTime(nowMs, 'nowMs')
      const r = await db.update(s.uploads).set({ heartbeatAt: nowMs, expiresAt: nowMs + ttlMs })
        .where(and(eq(s.uploads.id, id), gte(s.uploads.expiresAt, nowMs))).run()
      return r.changes > 0
    },
    async endUpload (id) {
      return (await db.delete(s.uploads).where(eq(s.uploads.id, id)).run()).changes > 0
    },
    async activeUploads (nowMs) {
      return (await db.select().from(s.uploads).where(gte(s.uploads.expiresAt, nowMs)).orderBy(asc(s.uploads.startedAt))).map(toUpload)
    },

    // ---- tokens ----
    async createToken ({ tokenHash, user, groups = [], isAdmin = false, kind = 'user', label = '', expiresAtMs = null, nowMs }) {
      assertHex64(tokenHash, 'tokenHash')
      assertName(user, 'user')
      if (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string')) throw new TypeError('groups must be strings')
      if (kind !== 'user' && kind !== 'machine') throw new TypeError('kind must be user or machine')
      assertTime(nowMs, 'nowMs')
      if (expiresAtMs !== null) assertTime(expiresAtMs, 'expiresAtMs')
      const row = conflict('token', () => db.transaction((tx) => tx.insert(s.apiTokens).values({
        tokenHash, user, groups: JSON.stringify(groups), isAdmin, kind, label, createdAt: nowMs, expiresAt: expiresAtMs
      }).returning().get()))
      return toToken(row)
    },
    async findTokenByHash (tokenHash, nowMs): Promise<TokenLookup> {
      const row = await db.select().from(s.apiTokens).where(eq(s.apiTokens.tokenHash, tokenHash)).get()
      if (row === undefined) return { status: 'unknown' }
      const token = toToken(row)
      if (token.revokedAtMs !== null && token.revokedAtMs <= nowMs) return { status: 'revoked', token }
      if (token.expiresAtMs !== null && token.expiresAtMs <= nowMs) return { status: 'expired', token }
      return { status: 'valid', token }
    },
    async findActiveToken (tokenHash, nowMs) {
      const found = await store.findTokenByHash(tokenHash, nowMs)
      return found.status === 'valid' ? found.token : undefined
    },
    async markTokenUsed (id, nowMs) {
      await db.update(s.apiTokens).set({ lastUsedAt: nowMs }).where(eq(s.apiTokens.id, id)).run()
    },
    async revokeToken (id, nowMs) {
      assertTime(nowMs, 'nowMs')
      return db.transaction((tx) => {
        const row = tx.select({ r: s.apiTokens.revokedAt }).from(s.apiTokens).where(eq(s.apiTokens.id, id)).get()
        if (row === undefined) return false
        if (row.r === null) tx.update(s.apiTokens).set({ revokedAt: nowMs }).where(eq(s.apiTokens.id, id)).run()
        return true
      }, { behavior: 'immediate' })
    },
    async getToken (id) {
      const row = await db.select().from(s.apiTokens).where(eq(s.apiTokens.id, id)).get()
      return row === undefined ? undefined : toToken(row)
    },
    async listTokens (filter = {}) {
      const q = db.select().from(s.apiTokens)
      const rows = filter.user === undefined ? await q.orderBy(asc(s.apiTokens.id)) : await q.where(eq(s.apiTokens.user, filter.user)).orderBy(asc(s.apiTokens.id))
      return rows.map(toToken)
    },

    // ---- policies ----
    async createPolicy (input) {
      const values = newPolicyColumns(input) as typeof s.policies.$inferInsert
      const row = conflict(`policy ${input.name}`, () => db.transaction((tx) => tx.insert(s.policies).values(values).returning().get()))
      return toPolicy(row)
    },
    async getPolicy (id) {
      const row = await db.select().from(s.policies).where(eq(s.policies.id, id)).get()
      return row === undefined ? undefined : toPolicy(row)
    },
    async getPolicyByName (name) {
      const row = await db.select().from(s.policies).where(eq(s.policies.name, name)).get()
      return row === undefined ? undefined : toPolicy(row)
    },
    async listPolicies (filter = {}) {
      const q = db.select().from(s.policies)
      const rows = filter.imageName === undefined ? await q.orderBy(asc(s.policies.name)) : await q.where(eq(s.policies.imageName, filter.imageName)).orderBy(asc(s.policies.name))
      return rows.map(toPolicy)
    },
    async updatePolicy (id, patch, nowMs) {
      assertTime(nowMs, 'nowMs')
      const cols = { ...policyColumns(patch), updatedAt: nowMs } as Partial<typeof s.policies.$inferInsert>
      const row = conflict(`policy ${patch.name ?? ''}`, () => db.transaction((tx) =>
        tx.update(s.policies).set(cols).where(eq(s.policies.id, id)).returning().get()))
      if (row === undefined) throw new StoreError('ERR_STORE_NOT_FOUND', `no policy ${id}`)
      return toPolicy(row)
    },
    async deletePolicy (id) {
      return (await db.delete(s.policies).where(eq(s.policies.id, id)).run()).changes > 0
    },
    async assign ({ policyId, subjectKind, subject, nowMs }) {
      assertSubjectKind(subjectKind)
      assertName(subject, 'subject')
      assertTime(nowMs, 'nowMs')
      const row = db.transaction((tx) => {
        const p = tx.select({ id: s.policies.id }).from(s.policies).where(eq(s.policies.id, policyId)).get()
        if (p === undefined) throw new StoreError('ERR_STORE_NOT_FOUND', `no policy ${policyId}`)
        return conflict(`assignment of policy ${policyId} to ${subjectKind} ${subject}`, () =>
          tx.insert(s.assignments).values({ policyId, subjectKind, subject, createdAt: nowMs }).returning().get())
      }, { behavior: 'immediate' })
      return toAssignment(row)
    },
    async unassign ({ policyId, subjectKind, subject }) {
      const r = await db.delete(s.assignments).where(and(
        eq(s.assignments.policyId, policyId), eq(s.assignments.subjectKind, subjectKind), eq(s.assignments.subject, subject)
      )).run()
      return r.changes > 0
    },
    async listAssignments (filter = {}) {
      const conds: SQL[] = []
      if (filter.policyId !== undefined) conds.push(eq(s.assignments.policyId, filter.policyId))
      if (filter.subjectKind !== undefined) conds.push(eq(s.assignments.subjectKind, filter.subjectKind))
      if (filter.subject !== undefined) conds.push(eq(s.assignments.subject, filter.subject))
      return (await db.select().from(s.assignments).where(and(...conds)).orderBy(asc(s.assignments.id))).map(toAssignment)
    },
    async policiesForSubject (user, groups) {
      const subjects: SQL[] = [and(eq(s.assignments.subjectKind, 'user'), eq(s.assignments.subject, user))!]
      for (const g of batches(groups, IN_LIST_BATCH)) subjects.push(and(eq(s.assignments.subjectKind, 'group'), inArray(s.assignments.subject, g))!)
      const rows = await db.select({ p: s.policies, kind: s.assignments.subjectKind, subject: s.assignments.subject })
        .from(s.assignments).innerJoin(s.policies, eq(s.policies.id, s.assignments.policyId)).where(or(...subjects))
      return rows.map((r) => ({ policy: toPolicy(r.p), via: { kind: r.kind as 'user' | 'group', subject: r.subject } })).sort(byPolicyThenSubject)
    },

    // ---- clients ----
    async upsertClient ({ id, user, hostname = '', site = '', agentVersion = '', nowMs }) {
      assertName(id, 'client id', 128)
      assertName(user, 'user')
      assertTime(nowMs, 'nowMs')
      const row = await db.insert(s.clients).values({ id, user, hostname, site, agentVersion, lastSeenAt: nowMs, createdAt: nowMs })
        .onConflictDoUpdate({ target: s.clients.id, set: { user, hostname, site, agentVersion, lastSeenAt: nowMs } }).returning().get()
      return toClient(row)
    },
    async getClient (id) {
      const row = await db.select().from(s.clients).where(eq(s.clients.id, id)).get()
      return row === undefined ? undefined : toClient(row)
    },
    async listClients (filter = {}) {
      const conds: SQL[] = []
      if (filter.user !== undefined) conds.push(eq(s.clients.user, filter.user))
      if (filter.site !== undefined) conds.push(eq(s.clients.site, filter.site))
      return (await db.select().from(s.clients).where(and(...conds)).orderBy(desc(s.clients.lastSeenAt), asc(s.clients.id))).map(toClient)
    },

    // ---- swarm ----
    async upsertMember (m) {
      assertName(m.image, 'image')
      assertCount(m.version, 'version')
      assertName(m.peerId, 'peerId', 128)
      assertName(m.clientId, 'clientId', 128)
      assertTime(m.nowMs, 'nowMs')
      assertCount(m.ttlMs, 'ttlMs')
      assertCount(m.haveCount, 'haveCount')
      const values = {
        image: m.image, version: m.version, peerId: m.peerId, clientId: m.clientId, site: m.site,
        addrs: JSON.stringify(m.addrs), have: Buffer.from(m.have), haveCount: m.haveCount,
        joinedAt: m.nowMs, announcedAt: m.nowMs, expiresAt: m.nowMs + m.ttlMs
      }
      const { image: _i, version: _v, peerId: _p, joinedAt: _j, ...update } = values
      const row = await db.insert(s.swarmMembers).values(values).onConflictDoUpdate({
        target: [s.swarmMembers.image, s.swarmMembers.version, s.swarmMembers.peerId],
        // A member whose membership had lapsed rejoins at the back of its site's queue.
        set: { ...update, joinedAt: sql`CASE WHEN ${s.swarmMembers.expiresAt} < ${m.nowMs} THEN ${m.nowMs} ELSE ${s.swarmMembers.joinedAt} END` }
      }).returning().get()
      return toMember(row)
    },
    async membersFor (image, version, { excludePeerId, site, nowMs, limit = 50 }) {
      assertTime(nowMs, 'nowMs')
      const conds: SQL[] = [eq(s.swarmMembers.image, image), eq(s.swarmMembers.version, version), gte(s.swarmMembers.expiresAt, nowMs)]
      if (excludePeerId !== undefined) conds.push(sql`${s.swarmMembers.peerId} <> ${excludePeerId}`)
      const order: SQL[] = site === undefined ? [] : [sql`CASE WHEN ${s.swarmMembers.site} = ${site} THEN 0 ELSE 1 END`]
      const rows = await db.select().from(s.swarmMembers).where(and(...conds))
        .orderBy(...order, desc(s.swarmMembers.haveCount), desc(s.swarmMembers.announcedAt), asc(s.swarmMembers.peerId)).limit(limit)
      return rows.map(toMember)
    },
    async siteMembers (image, version, site, nowMs): Promise<SwarmMember[]> {
      const rows = await db.select().from(s.swarmMembers).where(and(
        eq(s.swarmMembers.image, image), eq(s.swarmMembers.version, version), eq(s.swarmMembers.site, site), gte(s.swarmMembers.expiresAt, nowMs)
      )).orderBy(asc(s.swarmMembers.joinedAt), asc(s.swarmMembers.peerId))
      return rows.map(toMember)
    },
    async removeMember (image, version, peerId) {
      const r = await db.delete(s.swarmMembers).where(and(
        eq(s.swarmMembers.image, image), eq(s.swarmMembers.version, version), eq(s.swarmMembers.peerId, peerId)
      )).run()
      return r.changes > 0
    },
    async expireMembers (nowMs) {
      assertTime(nowMs, 'nowMs')
      return Number((await db.delete(s.swarmMembers).where(lt(s.swarmMembers.expiresAt, nowMs)).run()).changes)
    },
    async swarmSizes (nowMs) {
      const rows = await db.select({ image: s.swarmMembers.image, version: s.swarmMembers.version, members: sql<number>`count(*)` })
        .from(s.swarmMembers).where(gte(s.swarmMembers.expiresAt, nowMs))
        .groupBy(s.swarmMembers.image, s.swarmMembers.version).orderBy(asc(s.swarmMembers.image), asc(s.swarmMembers.version))
      return rows.map((r) => ({ image: r.image, version: Number(r.version), members: Number(r.members) }))
    },

    // ---- events ----
    async insertEvents (events, receivedAtMs) {
      assertTime(receivedAtMs, 'receivedAtMs')
      const rows = events.map((e) => {
        assertEventId(e.id)
        assertName(e.clientId, 'clientId', 128)
        assertName(e.type, 'event type', 100)
        assertTime(e.atMs, 'atMs')
        return { id: e.id, clientId: e.clientId, user: e.user, type: e.type, at: e.atMs, receivedAt: receivedAtMs, payload: JSON.stringify(e.payload ?? null) }
      })
      let inserted = 0
      db.transaction((tx) => {
        for (const group of batches(rows, 200)) {
          inserted += Number(tx.insert(s.events).values(group).onConflictDoNothing({ target: s.events.id }).run().changes)
        }
      }, { behavior: 'immediate' })
      return { inserted, duplicates: rows.length - inserted }
    },
    async queryEvents (query = {}) {
      const conds: SQL[] = []
      if (query.type !== undefined) conds.push(eq(s.events.type, query.type))
      if (query.clientId !== undefined) conds.push(eq(s.events.clientId, query.clientId))
      if (query.user !== undefined) conds.push(eq(s.events.user, query.user))
      if (query.fromMs !== undefined) { assertTime(query.fromMs, 'fromMs'); conds.push(gte(s.events.at, query.fromMs)) }
      if (query.toMs !== undefined) { assertTime(query.toMs, 'toMs'); conds.push(lt(s.events.at, query.toMs)) }
      const dir = query.order === 'asc' ? asc : desc
      const rows = await db.select().from(s.events).where(and(...conds)).orderBy(dir(s.events.at), dir(s.events.id)).limit(eventLimit(query.limit))
      return rows.map(toEvent)
    },

    async ping () {
      await db.get(sql`select 1`)
    },
    async close () {
      if (closed) return
      closed = true
      client.close()
    }
  }
  return store
}
