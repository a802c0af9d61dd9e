/**
 * `TrackerStore` on SQL Server through `mssql` and `drizzle-orm/node-mssql`.
 *
 * SQL Server has no `INSERT OR IGNORE` / `ON CONFLICT`: idempotent inserts are
 * `INSERT … SELECT … WHERE NOT EXISTS` inside a transaction, and a unique violation
 * (error 2627 / 2601) from a concurrent writer becomes `ERR_STORE_CONFLICT` or is
 * retried row by row. Read-then-write sequences on one image first take the image row's
 * update lock (`UPDATE images SET last_version = last_version`), which serialises them
 * across tracker processes.
 *
 * Tested only where `MSSQL_URL` points at a server (none runs on the build machines).
 */
import { fileURLToPath } from 'node:url'
import { and, asc, desc, eq, gt, gte, inArray, isNotNull, lt, or, sql, type SQL } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/node-mssql'
import { migrate } from 'drizzle-orm/node-mssql/migrator'
import * as s from './schema.mssql.ts'
import { StoreError } from './errors.ts'
import {
  assertCount, assertEventId, assertHex64, assertName, assertSubjectKind, assertTime, batches, eventLimit,
  IN_LIST_BATCH, newPolicyColumns, byPolicyThenSubject, policyColumns, toAssignment, toClient, toEvent, toImage, toMember,
  toPolicy, toToken, toUpload, toVersion
} from './records.ts'
import type { SwarmMember, TokenLookup, TrackerStore, VersionRecord } from './store.ts'

const MIGRATIONS = fileURLToPath(new URL('./migrations/mssql', import.meta.url))
/** Chunk ids per statement: SQL Server allows 2100 parameters. */
const CHUNK_IDS_PER_STMT = 2000
/** Chunk ids per transaction. */
const CHUNK_IDS_PER_TX = 50_000

type Db = ReturnType<typeof drizzle>
// drizzle's transaction object has the same query-builder surface as the database.
type Tx = Db

function isUniqueViolation (err: unknown): boolean {
  for (let e = err as { number?: number, message?: string, cause?: unknown } | undefined, i = 0; e != null && i < 5; e = e.cause as typeof e, i++) {
    if (e.number === 2627 || e.number === 2601) return true
    if (typeof e.message === 'string' && /Violation of (UNIQUE KEY|PRIMARY KEY) constraint|Cannot insert duplicate key/.test(e.message)) return true
  }
  return false
}

async function conflict<T> (what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (isUniqueViolation(err)) throw new StoreError('ERR_STORE_CONFLICT', `${what} already exists`, { cause: err })
    throw err
  }
}

/**
 * URL forms: `mssql://user:password@host:port/database?encrypt=true&trustServerCertificate=true`
 * (also `sqlserver://`). Passed to drizzle's node-mssql driver, which hands it to `mssql`.
 */
export async function openMssqlStore (url: string): Promise<TrackerStore> {
  const connection = url.replace(/^sqlserver:/i, 'mssql:')
  const db: Db = drizzle({ connection })
  await migrate(db, { migrationsFolder: MIGRATIONS })
  return createMssqlStore(db)
}

function createMssqlStore (db: Db): TrackerStore {
  let closed = false

  async function versionById (tx: Tx, id: number): Promise<VersionRecord | undefined> {
    const [row] = await tx.select({ v: s.versions, name: s.images.name }).from(s.versions)
      .innerJoin(s.images, eq(s.images.id, s.versions.imageId)).where(eq(s.versions.id, id))
    return row === undefined ? undefined : toVersion(row.v, row.name)
  }

  async function draftOrThrow (tx: Tx, versionId: number): Promise<VersionRecord> {
    const v = await versionById(tx, versionId)
    if (v === undefined) throw new StoreError('ERR_STORE_NOT_FOUND', `no version ${versionId}`)
    if (v.state !== 'draft') throw new StoreError('ERR_STORE_INVALID_STATE', `version ${v.imageName}@${v.number} is ${v.state}, not a draft`)
    return v
  }

  /** Takes the image row's update lock until the transaction ends. */
  async function lockImage (tx: Tx, imageId: number): Promise<void> {
    await tx.execute(sql`UPDATE [images] SET [last_version] = [last_version] WHERE [id] = ${imageId}`)
  }

  async function reserveNumber (tx: Tx, imageId: number): Promise<number> {
    const [row] = await tx.update(s.images).set({ lastVersion: sql`${s.images.lastVersion} + 1` })
      .output({ inserted: { n: s.images.lastVersion } }).where(eq(s.images.id, imageId))
    if (row?.inserted?.n === undefined) throw new StoreError('ERR_STORE_NOT_FOUND', `no image ${imageId}`)
    return Number(row.inserted.n)
  }

  const store: TrackerStore = {
    dialect: 'mssql',

    // ---- images ----
    async createImage ({ name, description = '', nowMs }) {
      assertName(name, 'image name')
      assertTime(nowMs, 'nowMs')
      const [row] = await conflict(`image ${name}`, () => db.insert(s.images).output().values({ name, description, createdAt: nowMs }))
      return toImage(row!)
    },
    async getImage (name) {
      const [row] = await db.select().from(s.images).where(eq(s.images.name, name))
      return row === undefined ? undefined : toImage(row)
    },
    async getImageById (id) {
      const [row] = await db.select().from(s.images).where(eq(s.images.id, id))
      return row === undefined ? undefined : toImage(row)
    },
    async listImages () {
      return (await db.select().from(s.images).orderBy(asc(s.images.name))).map(toImage)
    },
    async updateImage (id, { description }) {
      const [row] = await db.update(s.images).set({ description }).output().where(eq(s.images.id, id))
      if (row === undefined) throw new StoreError('ERR_STORE_NOT_FOUND', `no image ${id}`)
      return toImage(row)
    },
    async deleteImage (id) {
      return db.transaction(async (tx) => {
        await lockImage(tx as unknown as Tx, id)
        const [live] = await tx.select({ id: s.versions.id }).top(1).from(s.versions)
          .where(and(eq(s.versions.imageId, id), eq(s.versions.state, 'published')))
        if (live !== undefined) throw new StoreError('ERR_STORE_IN_USE', 'image has published versions; retire them first')
        const gone = await tx.delete(s.images).output({ id: s.images.id }).where(eq(s.images.id, id))
        return gone.length > 0
      })
    },

    // ---- versions ----
    async nextVersionNumber (imageId) {
      return reserveNumber(db, imageId)
    },
    async createDraft ({ imageId, createdBy, nowMs, uploadId = null, sourceOf = null, expiresAtMs = null }) {
      assertTime(nowMs, 'nowMs')
      assertName(createdBy, 'createdBy')
      if (sourceOf !== null) assertCount(sourceOf, 'sourceOf')
      const id = await db.transaction(async (t) => {
        const tx = t as unknown as Tx
        const number = await reserveNumber(tx, imageId)
        const [row] = await tx.insert(s.versions).output({ id: s.versions.id }).values({
          imageId, number, state: 'draft', sourceOf, uploadId, expiresAt: expiresAtMs, createdAt: nowMs, createdBy
        })
        return row!.id
      })
      return (await versionById(db, id))!
    },
    async addVersionChunks (versionId, chunkIds) {
      await draftOrThrow(db, versionId)
      const all = [...new Set(chunkIds)]
      for (const id of all) assertHex64(id, 'chunk id')
      all.sort()
      for (const group of batches(all, CHUNK_IDS_PER_TX)) {
        await db.transaction(async (t) => {
          const tx = t as unknown as Tx
          await draftOrThrow(tx, versionId)
          for (const ids of batches(group, CHUNK_IDS_PER_STMT)) {
            const values = sql.join(ids.map((id) => sql`(${id})`), sql`, `)
            await tx.execute(sql`INSERT INTO [version_chunks] ([version_id], [chunk_id])
              SELECT ${versionId}, src.c FROM (VALUES ${values}) AS src(c)
              WHERE NOT EXISTS (SELECT 1 FROM [version_chunks] x WITH (UPDLOCK, HOLDLOCK) WHERE x.[version_id] = ${versionId} AND x.[chunk_id] = src.c)`)
          }
        })
      }
    },
    async finalizeDraft (versionId, input) {
      if (!(input.manifestRoot instanceof Uint8Array)) throw new TypeError('manifestRoot must be bytes')
      assertHex64(input.manifestId, 'manifestId')
      assertCount(input.totalBytes, 'totalBytes')
      assertCount(input.chunkCount, 'chunkCount')
      assertCount(input.newBytes, 'newBytes')
      await db.transaction(async (t) => {
        const tx = t as unknown as Tx
        const v = await draftOrThrow(tx, versionId)
        await lockImage(tx, v.imageId)
        await draftOrThrow(tx, versionId)
        await tx.update(s.versions).set({
          manifestRoot: Buffer.from(input.manifestRoot),
          manifestId: input.manifestId,
          totalBytes: input.totalBytes,
          chunkCount: input.chunkCount,
          newBytes: input.newBytes,
          uploadId: null,
          ...(input.expiresAtMs !== undefined ? { expiresAt: input.expiresAtMs } : {})
        }).where(eq(s.versions.id, versionId))
      })
      return (await versionById(db, versionId))!
    },
    async publish (versionId, nowMs) {
      assertTime(nowMs, 'nowMs')
      await db.transaction(async (t) => {
        const tx = t as unknown as Tx
        const first = await draftOrThrow(tx, versionId)
        await lockImage(tx, first.imageId)
        const v = await draftOrThrow(tx, versionId)
        if (v.manifestRoot === null) throw new StoreError('ERR_STORE_INVALID_STATE', `version ${v.imageName}@${v.number} has no manifest yet`)
        const [higher] = await tx.select({ n: s.versions.number }).top(1).from(s.versions).where(and(
          eq(s.versions.imageId, v.imageId), gt(s.versions.number, v.number), isNotNull(s.versions.publishedAt)
        ))
        if (higher !== undefined) throw new StoreError('ERR_STORE_STALE_VERSION', `${v.imageName}@${higher.n} is already published; publish a new draft instead of ${v.number}`)
        await tx.update(s.versions).set({ state: 'published', publishedAt: nowMs }).where(eq(s.versions.id, versionId))
      })
      return (await versionById(db, versionId))!
    },
    async retire (versionId, nowMs) {
      assertTime(nowMs, 'nowMs')
      const v = await versionById(db, versionId)
      if (v === undefined) throw new StoreError('ERR_STORE_NOT_FOUND', `no version ${versionId}`)
      if (v.state === 'draft') throw new StoreError('ERR_STORE_INVALID_STATE', 'a draft cannot be retired; delete it')
      await db.update(s.versions).set({ state: 'retired', retiredAt: nowMs })
        .where(and(eq(s.versions.id, versionId), eq(s.versions.state, 'published')))
      return (await versionById(db, versionId))!
    },
    async deleteDraft (versionId) {
      return db.transaction(async (t) => {
        const tx = t as unknown as Tx
        const v = await versionById(tx, versionId)
        if (v === undefined) return false
        if (v.state !== 'draft') throw new StoreError('ERR_STORE_INVALID_STATE', `version ${v.imageName}@${v.number} is ${v.state}`)
        const gone = await tx.delete(s.versions).output({ id: s.versions.id })
          .where(and(eq(s.versions.id, versionId), eq(s.versions.state, 'draft')))
        return gone.length > 0
      })
    },
    async deleteAbandonedDrafts (nowMs) {
      assertTime(nowMs, 'nowMs')
      return db.transaction(async (t) => {
        const tx = t as unknown as Tx
        const live = tx.select({ id: s.uploads.id }).from(s.uploads).where(gte(s.uploads.expiresAt, nowMs))
        const dead = (await tx.select({ id: s.versions.id }).from(s.versions).where(and(
          eq(s.versions.state, 'draft'), isNotNull(s.versions.uploadId), sql`${s.versions.uploadId} NOT IN ${live}`
        ))).map((r) => r.id)
        for (const ids of batches(dead, IN_LIST_BATCH)) await tx.delete(s.versions).where(inArray(s.versions.id, ids))
        await tx.delete(s.uploads).where(lt(s.uploads.expiresAt, nowMs))
        return dead
      })
    },
    async getVersion (imageId, number) {
      const [row] = await db.select({ v: s.versions, name: s.images.name }).from(s.versions)
        .innerJoin(s.images, eq(s.images.id, s.versions.imageId))
        .where(and(eq(s.versions.imageId, imageId), eq(s.versions.number, number)))
      return row === undefined ? undefined : toVersion(row.v, row.name)
    },
    async getVersionById (id) {
      return versionById(db, id)
    },
    async latestPublished (imageId) {
      const [row] = await db.select({ v: s.versions, name: s.images.name }).top(1).from(s.versions)
        .innerJoin(s.images, eq(s.images.id, s.versions.imageId))
        .where(and(eq(s.versions.imageId, imageId), eq(s.versions.state, 'published')))
        .orderBy(desc(s.versions.number))
      return row === undefined ? undefined : toVersion(row.v, row.name)
    },
    async listVersions (imageId, filter = {}) {
      const where = filter.state === undefined ? eq(s.versions.imageId, imageId) : and(eq(s.versions.imageId, imageId), eq(s.versions.state, filter.state))
      const rows = await db.select({ v: s.versions, name: s.images.name }).from(s.versions)
        .innerJoin(s.images, eq(s.images.id, s.versions.imageId)).where(where).orderBy(asc(s.versions.number))
      return rows.map((r) => toVersion(r.v, r.name))
    },
    async versionChunkIds (versionId) {
      const rows = await db.select({ c: s.versionChunks.chunkId }).from(s.versionChunks)
        .where(eq(s.versionChunks.versionId, versionId)).orderBy(asc(s.versionChunks.chunkId))
      return rows.map((r) => r.c.trim())
    },

    // ---- GC ----
    async imageHasChunk (imageName, chunkId) {
      assertHex64(chunkId, 'chunk id')
      const rows = await db.select({ one: sql<number>`1` }).top(1).from(s.versionChunks)
        .innerJoin(s.versions, eq(s.versions.id, s.versionChunks.versionId))
        .innerJoin(s.images, eq(s.images.id, s.versions.imageId))
        .where(and(eq(s.versionChunks.chunkId, chunkId), eq(s.images.name, imageName), inArray(s.versions.state, ['published', 'retired'])))
      return rows.length > 0
    },
    async unreferencedChunks (chunkIds, { retiredCutoffMs }) {
      assertTime(retiredCutoffMs, 'retiredCutoffMs')
      const out: string[] = []
      for (const group of batches(chunkIds, IN_LIST_BATCH)) {
        for (const id of group) assertHex64(id, 'chunk id')
        const rows = await db.select({ c: s.versionChunks.chunkId }).from(s.versionChunks)
          .innerJoin(s.versions, eq(s.versions.id, s.versionChunks.versionId))
          .where(and(inArray(s.versionChunks.chunkId, group), or(
            sql`${s.versions.state} <> 'retired'`, gt(s.versions.retiredAt, retiredCutoffMs)
          )))
        const referenced = new Set(rows.map((r) => r.c.trim()))
        for (const id of group) if (!referenced.has(id)) out.push(id)
      }
      return [...new Set(out)]
    },
    async gcHorizonMs (nowMs) {
      assertTime(nowMs, 'nowMs')
      const [row] = await db.select({ m: sql<string | number | null>`min(${s.uploads.startedAt})` }).from(s.uploads)
        .where(gte(s.uploads.expiresAt, nowMs))
      return row?.m == null ? nowMs : Math.min(nowMs, Number(row.m))
    },

    // ---- uploads ----
    async beginUpload ({ id, imageName, nowMs, ttlMs }) {
      assertName(id, 'upload id', 64)
      assertTime(nowMs, 'nowMs')
      assertCount(ttlMs, 'ttlMs')
      const [row] = await conflict(`upload ${id}`, () => db.insert(s.uploads).output()
        .values({ id, imageName, startedAt: nowMs, heartbeatAt: nowMs, expiresAt: nowMs + ttlMs }))
      return toUpload(row!)
    },
    async heartbeatUpload (id, nowMs, ttlMs) {
      assertTime(nowMs, 'nowMs')
      const rows = await db.update(s.uploads).set({ heartbeatAt: nowMs, expiresAt: nowMs + ttlMs }).output({ inserted: { id: s.uploads.id } })
        .where(and(eq(s.uploads.id, id), gte(s.uploads.expiresAt, nowMs)))
      return rows.length > 0
    },
    async endUpload (id) {
      return (await db.delete(s.uploads).output({ id: s.uploads.id }).where(eq(s.uploads.id, id))).length > 0
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
      const [row] = await conflict('token', () => db.insert(s.apiTokens).output().values({
        tokenHash, user, groups: JSON.stringify(groups), isAdmin, kind, label, createdAt: nowMs, expiresAt: expiresAtMs
      }))
      return toToken(row!)
    },
    async findTokenByHash (tokenHash, nowMs): Promise<TokenLookup> {
      const [row] = await db.select().from(s.apiTokens).where(eq(s.apiTokens.tokenHash, tokenHash))
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
      await db.update(s.apiTokens).set({ lastUsedAt: nowMs }).where(eq(s.apiTokens.id, id))
    },
    async revokeToken (id, nowMs) {
      assertTime(nowMs, 'nowMs')
      await db.update(s.apiTokens).set({ revokedAt: nowMs }).where(and(eq(s.apiTokens.id, id), sql`${s.apiTokens.revokedAt} IS NULL`))
      const [row] = await db.select({ id: s.apiTokens.id }).from(s.apiTokens).where(eq(s.apiTokens.id, id))
      return row !== undefined
    },
    async getToken (id) {
      const [row] = await db.select().from(s.apiTokens).where(eq(s.apiTokens.id, id))
      return row === undefined ? undefined : toToken(row)
    },
    async listTokens (filter = {}) {
      const where = filter.user === undefined ? undefined : eq(s.apiTokens.user, filter.user)
      return (await db.select().from(s.apiTokens).where(where).orderBy(asc(s.apiTokens.id))).map(toToken)
    },

    // ---- policies ----
    async createPolicy (input) {
      const values = newPolicyColumns(input) as typeof s.policies.$inferInsert
      const [row] = await conflict(`policy ${input.name}`, () => db.insert(s.policies).output().values(values))
      return toPolicy(row!)
    },
    async getPolicy (id) {
      const [row] = await db.select().from(s.policies).where(eq(s.policies.id, id))
      return row === undefined ? undefined : toPolicy(row)
    },
    async getPolicyByName (name) {
      const [row] = await db.select().from(s.policies).where(eq(s.policies.name, name))
      return row === undefined ? undefined : toPolicy(row)
    },
    async listPolicies (filter = {}) {
      const where = filter.imageName === undefined ? undefined : eq(s.policies.imageName, filter.imageName)
      return (await db.select().from(s.policies).where(where).orderBy(asc(s.policies.name))).map(toPolicy)
    },
    async updatePolicy (id, patch, nowMs) {
      assertTime(nowMs, 'nowMs')
      const cols = { ...policyColumns(patch), updatedAt: nowMs } as Partial<typeof s.policies.$inferInsert>
      const [row] = await conflict(`policy ${patch.name ?? ''}`, () => db.update(s.policies).set(cols).output().where(eq(s.policies.id, id)))
      if (row === undefined) throw new StoreError('ERR_STORE_NOT_FOUND', `no policy ${id}`)
      return toPolicy(row)
    },
    async deletePolicy (id) {
      return (await db.delete(s.policies).output({ id: s.policies.id }).where(eq(s.policies.id, id))).length > 0
    },
    async assign ({ policyId, subjectKind, subject, nowMs }) {
      assertSubjectKind(subjectKind)
      assertName(subject, 'subject')
      assertTime(nowMs, 'nowMs')
      const [p] = await db.select({ id: s.policies.id }).from(s.policies).where(eq(s.policies.id, policyId))
      if (p === undefined) throw new StoreError('ERR_STORE_NOT_FOUND', `no policy ${policyId}`)
      const [row] = await conflict(`assignment of policy ${policyId} to ${subjectKind} ${subject}`, () =>
        db.insert(s.assignments).output().values({ policyId, subjectKind, subject, createdAt: nowMs }))
      return toAssignment(row!)
    },
    async unassign ({ policyId, subjectKind, subject }) {
      const gone = await db.delete(s.assignments).output({ id: s.assignments.id }).where(and(
        eq(s.assignments.policyId, policyId), eq(s.assignments.subjectKind, subjectKind), eq(s.assignments.subject, subject)
      ))
      return gone.length > 0
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
      await db.execute(sql`MERGE [clients] WITH (HOLDLOCK) AS t
        USING (SELECT ${id} AS id) AS src ON t.[id] = src.id
        WHEN MATCHED THEN UPDATE SET [user] = ${user}, [hostname] = ${hostname}, [site] = ${site}, [agent_version] = ${agentVersion}, [last_seen_at] = ${nowMs}
        WHEN NOT MATCHED THEN INSERT ([id], [user], [hostname], [site], [agent_version], [last_seen_at], [created_at])
          VALUES (${id}, ${user}, ${hostname}, ${site}, ${agentVersion}, ${nowMs}, ${nowMs});`)
      return (await store.getClient(id))!
    },
    async getClient (id) {
      const [row] = await db.select().from(s.clients).where(eq(s.clients.id, id))
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
      const addrs = JSON.stringify(m.addrs)
      const have = Buffer.from(m.have)
      const expiresAt = m.nowMs + m.ttlMs
      await db.execute(sql`MERGE [swarm_members] WITH (HOLDLOCK) AS t
        USING (SELECT ${m.image} AS image, ${m.version} AS version, ${m.peerId} AS peer_id) AS src
          ON t.[image] = src.image AND t.[version] = src.version AND t.[peer_id] = src.peer_id
        WHEN MATCHED THEN UPDATE SET [client_id] = ${m.clientId}, [site] = ${m.site}, [addrs] = ${addrs}, [have] = ${have},
          [have_count] = ${m.haveCount}, [announced_at] = ${m.nowMs}, [expires_at] = ${expiresAt},
          [joined_at] = CASE WHEN t.[expires_at] < ${m.nowMs} THEN ${m.nowMs} ELSE t.[joined_at] END
        WHEN NOT MATCHED THEN INSERT ([image], [version], [peer_id], [client_id], [site], [addrs], [have], [have_count], [joined_at], [announced_at], [expires_at])
          VALUES (${m.image}, ${m.version}, ${m.peerId}, ${m.clientId}, ${m.site}, ${addrs}, ${have}, ${m.haveCount}, ${m.nowMs}, ${m.nowMs}, ${expiresAt});`)
      const [row] = await db.select().from(s.swarmMembers).where(and(
        eq(s.swarmMembers.image, m.image), eq(s.swarmMembers.version, m.version), eq(s.swarmMembers.peerId, m.peerId)))
      return toMember(row!)
    },
    async membersFor (image, version, { excludePeerId, site, nowMs, limit = 50 }) {
      assertTime(nowMs, 'nowMs')
      const conds: SQL[] = [eq(s.swarmMembers.image, image), eq(s.swarmMembers.version, version), gte(s.swarmMembers.expiresAt, nowMs)]
      if (excludePeerId !== undefined) conds.push(sql`${s.swarmMembers.peerId} <> ${excludePeerId}`)
      const order: SQL[] = site === undefined ? [] : [sql`CASE WHEN ${s.swarmMembers.site} = ${site} THEN 0 ELSE 1 END`]
      const rows = await db.select().top(limit).from(s.swarmMembers).where(and(...conds))
        .orderBy(...order, desc(s.swarmMembers.haveCount), desc(s.swarmMembers.announcedAt), asc(s.swarmMembers.peerId))
      return rows.map(toMember)
    },
    async siteMembers (image, version, site, nowMs): Promise<SwarmMember[]> {
      const rows = await db.select().from(s.swarmMembers).where(and(
        eq(s.swarmMembers.image, image), eq(s.swarmMembers.version, version), eq(s.swarmMembers.site, site), gte(s.swarmMembers.expiresAt, nowMs)
      )).orderBy(asc(s.swarmMembers.joinedAt), asc(s.swarmMembers.peerId))
      return rows.map(toMember)
    },
    async removeMember (image, version, peerId) {
      const gone = await db.delete(s.swarmMembers).output({ p: s.swarmMembers.peerId }).where(and(
        eq(s.swarmMembers.image, image), eq(s.swarmMembers.version, version), eq(s.swarmMembers.peerId, peerId)))
      return gone.length > 0
    },
    async expireMembers (nowMs) {
      assertTime(nowMs, 'nowMs')
      return (await db.delete(s.swarmMembers).output({ p: s.swarmMembers.peerId }).where(lt(s.swarmMembers.expiresAt, nowMs))).length
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
      const byId = new Map<string, typeof s.events.$inferInsert>()
      for (const e of events) {
        assertEventId(e.id)
        assertName(e.clientId, 'clientId', 128)
        assertName(e.type, 'event type', 100)
        assertTime(e.atMs, 'atMs')
        if (!byId.has(e.id)) byId.set(e.id, { id: e.id, clientId: e.clientId, user: e.user, type: e.type, at: e.atMs, receivedAt: receivedAtMs, payload: JSON.stringify(e.payload ?? null) })
      }
      let inserted = 0
      for (const group of batches(byId.values(), 200)) {
        try {
          inserted += await db.transaction(async (t) => {
            const tx = t as unknown as Tx
            const have = new Set((await tx.select({ id: s.events.id }).from(s.events).where(inArray(s.events.id, group.map((r) => r.id)))).map((r) => r.id))
            const fresh = group.filter((r) => !have.has(r.id))
            if (fresh.length > 0) await tx.insert(s.events).values(fresh)
            return fresh.length
          })
        } catch (err) {
          if (!isUniqueViolation(err)) throw err
          // Another process stored some of these ids meanwhile: fall back to one at a time.
          for (const row of group) {
            try { await db.insert(s.events).values(row); inserted++ } catch (e) { if (!isUniqueViolation(e)) throw e }
          }
        }
      }
      return { inserted, duplicates: events.length - inserted }
    },
    async queryEvents (query = {}) {
      const conds: SQL[] = []
      if (query.type !== undefined) conds.push(eq(s.events.type, query.type))
      if (query.clientId !== undefined) conds.push(eq(s.events.clientId, query.clientId))
      if (query.user !== undefined) conds.push(eq(s.events.user, query.user))
      if (query.fromMs !== undefined) { assertTime(query.fromMs, 'fromMs'); conds.push(gte(s.events.at, query.fromMs)) }
      if (query.toMs !== undefined) { assertTime(query.toMs, 'toMs'); conds.push(lt(s.events.at, query.toMs)) }
      const dir = query.order === 'asc' ? asc : desc
      const rows = await db.select().top(eventLimit(query.limit)).from(s.events).where(and(...conds)).orderBy(dir(s.events.at), dir(s.events.id))
      return rows.map(toEvent)
    },

    async ping () {
      await db.execute(sql`select 1 as ok`)
    },
    async close () {
      if (closed) return
      closed = true
      await (db.$client as unknown as { close: () => Promise<void> }).close()
    }
  }
  return store
}
