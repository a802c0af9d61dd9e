/**
 * `TrackerStore` written once over a `Dialect` (`dialect.ts`): every method's validation,
 * queries and rules live here; `sqlite.ts` and `mssql.ts` supply only what SQL Server and
 * SQLite really do differently. Each method is work for `dialect.run` (statements that
 * commit on their own) or `dialect.transaction` (a read-then-write that must not
 * interleave with another tracker process's).
 */
import { and, asc, desc, eq, getTableColumns, gt, gte, inArray, isNotNull, isNull, lt, or, sql, type SQL } from 'drizzle-orm'
import { StoreError } from './errors.ts'
import type { Changes, ColumnsOf, Dialect, NewRow, Selected, SelectQuery, TableName, Work } from './dialect.ts'
import {
  assertCount, assertEventId, assertHex64, assertName, assertSubjectKind, assertTime, batches, byPolicyThenSubject, eventLimit,
  IN_LIST_BATCH, newPolicyColumns, policyColumns, toAssignment, toClient, toEvent, toImage, toMember, toPolicy,
  toToken, toUpload, toVersion
} from './records.ts'
import type { PolicyMatch, SubjectKind, TokenLookup, TrackerStore, VersionRecord } from './store.ts'

/** Chunk ids per transaction of `addVersionChunks`: short enough not to starve another writer. */
const CHUNK_IDS_PER_TX = 50_000
/** Events per transaction of `insertEvents`. */
const EVENTS_PER_TX = 200

export function createTrackerStore (d: Dialect): TrackerStore {
  const t = d.tables

  /** Every column of a table. */
  function rows<K extends TableName> (table: K, query?: SelectQuery) {
    return d.select(getTableColumns(t[table]), table, query)
  }

  /** The row a unique key finds, as a record. */
  async function one<K extends TableName, R> (table: K, where: SQL, toRecord: (row: Selected<ColumnsOf<K>>) => R): Promise<R | undefined> {
    const [row] = await d.run(rows(table, { where }))
    return row === undefined ? undefined : toRecord(row)
  }

  function * conflict<T> (what: string, work: Work<T>): Work<T> {
    try {
      return yield * work
    } catch (err) {
      if (d.isUniqueViolation(err)) throw new StoreError('ERR_STORE_CONFLICT', `${what} already exists`, { cause: err })
      throw err
    }
  }

  const versionFields = { ...getTableColumns(t.versions), imageName: t.images.name }
  function * versions (where: SQL | undefined, query: Pick<SelectQuery, 'orderBy' | 'limit'> = {}): Work<VersionRecord[]> {
    const found = yield * d.select(versionFields, 'versions', { join: [{ table: 'images', on: eq(t.images.id, t.versions.imageId) }], where, ...query })
    return found.map((r) => toVersion(r, r.imageName))
  }

  function * versionById (id: number): Work<VersionRecord | undefined> {
    return (yield * versions(eq(t.versions.id, id)))[0]
  }

  function * draftOrThrow (versionId: number): Work<VersionRecord> {
    const v = yield * versionById(versionId)
    if (v === undefined) throw new StoreError('ERR_STORE_NOT_FOUND', `no version ${versionId}`)
    if (v.state !== 'draft') throw new StoreError('ERR_STORE_INVALID_STATE', `version ${v.imageName}@${v.number} is ${v.state}, not a draft`)
    return v
  }

  /** The draft, read again once its image is locked: the first read may be stale by then. */
  function * lockedDraft (versionId: number): Work<VersionRecord> {
    const first = yield * draftOrThrow(versionId)
    yield * d.lockImage(first.imageId)
    return yield * draftOrThrow(versionId)
  }

  function * reserveNumber (imageId: number): Work<number> {
    const row = yield * d.updateOne('images', { lastVersion: sql`${t.images.lastVersion} + 1` }, eq(t.images.id, imageId))
    if (row === undefined) throw new StoreError('ERR_STORE_NOT_FOUND', `no image ${imageId}`)
    return Number(row.lastVersion)
  }

  const store: TrackerStore = {
    dialect: d.name,

    // ---- images ----
    async createImage ({ name, description = '', nowMs }) {
      assertName(name, 'image name')
      assertTime(nowMs, 'nowMs')
      return toImage(await d.run(conflict(`image ${name}`, d.insert('images', { name, description, createdAt: nowMs }))))
    },
    async getImage (name) {
      return one('images', eq(t.images.name, name), toImage)
    },
    async getImageById (id) {
      return one('images', eq(t.images.id, id), toImage)
    },
    async listImages () {
      return (await d.run(rows('images', { orderBy: [asc(t.images.name)] }))).map(toImage)
    },
    async updateImage (id, { description }) {
      const row = await d.run(d.updateOne('images', { description }, eq(t.images.id, id)))
      if (row === undefined) throw new StoreError('ERR_STORE_NOT_FOUND', `no image ${id}`)
      return toImage(row)
    },
    async deleteImage (id) {
      return d.transaction(function * () {
        yield * d.lockImage(id)
        const live = yield * d.select({ id: t.versions.id }, 'versions', {
          where: and(eq(t.versions.imageId, id), eq(t.versions.state, 'published')), limit: 1
        })
        if (live.length > 0) throw new StoreError('ERR_STORE_IN_USE', 'image has published versions; retire them first')
        return (yield * d.delete('images', eq(t.images.id, id))) > 0
      })
    },

    // ---- versions ----
    async nextVersionNumber (imageId) {
      return d.transaction(reserveNumber(imageId))
    },
    async createDraft ({ imageId, createdBy, nowMs, uploadId = null, sourceOf = null, expiresAtMs = null }) {
      assertTime(nowMs, 'nowMs')
      assertName(createdBy, 'createdBy')
      if (sourceOf !== null) assertCount(sourceOf, 'sourceOf')
      const id = await d.transaction(function * () {
        const number = yield * reserveNumber(imageId)
        const row = yield * d.insert('versions', {
          imageId, number, state: 'draft', sourceOf, uploadId, expiresAt: expiresAtMs, createdAt: nowMs, createdBy
        })
        return Number(row.id)
      })
      return (await d.run(versionById(id)))!
    },
    async addVersionChunks (versionId, chunkIds) {
      await d.run(draftOrThrow(versionId))
      // Sorted, de-duplicated keys turn both B-tree inserts (the primary key and the
      // chunk_id index) into near-appends: 1M ids take ~3 s of CPU instead of ~14 s on SQLite.
      const all = [...new Set(chunkIds)]
      for (const id of all) assertHex64(id, 'chunk id')
      all.sort()
      for (const group of batches(all, CHUNK_IDS_PER_TX)) {
        await d.transaction(function * () {
          // Again inside the transaction: a concurrent deleteDraft must not leave orphan rows.
          yield * draftOrThrow(versionId)
          yield * d.addChunkIds(versionId, group)
        })
      }
    },
    async finalizeDraft (versionId, input) {
      if (!(input.manifestRoot instanceof Uint8Array)) throw new TypeError('manifestRoot must be bytes')
      assertHex64(input.manifestId, 'manifestId')
      assertCount(input.totalBytes, 'totalBytes')
      assertCount(input.chunkCount, 'chunkCount')
      assertCount(input.newBytes, 'newBytes')
      await d.transaction(function * () {
        yield * lockedDraft(versionId)
        yield * d.update('versions', {
          manifestRoot: Buffer.from(input.manifestRoot),
          manifestId: input.manifestId,
          totalBytes: input.totalBytes,
          chunkCount: input.chunkCount,
          newBytes: input.newBytes,
          uploadId: null,
          ...(input.expiresAtMs !== undefined ? { expiresAt: input.expiresAtMs } : {})
        }, eq(t.versions.id, versionId))
      })
      return (await d.run(versionById(versionId)))!
    },
    async publish (versionId, nowMs) {
      assertTime(nowMs, 'nowMs')
      await d.transaction(function * () {
        const v = yield * lockedDraft(versionId)
        if (v.manifestRoot === null) throw new StoreError('ERR_STORE_INVALID_STATE', `version ${v.imageName}@${v.number} has no manifest yet`)
        const [higher] = yield * d.select({ n: t.versions.number }, 'versions', {
          where: and(eq(t.versions.imageId, v.imageId), gt(t.versions.number, v.number), isNotNull(t.versions.publishedAt)), limit: 1
        })
        if (higher !== undefined) throw new StoreError('ERR_STORE_STALE_VERSION', `${v.imageName}@${higher.n} is already published; publish a new draft instead of ${v.number}`)
        yield * d.update('versions', { state: 'published', publishedAt: nowMs }, eq(t.versions.id, versionId))
      })
      return (await d.run(versionById(versionId)))!
    },
    async retire (versionId, nowMs) {
      assertTime(nowMs, 'nowMs')
      await d.transaction(function * () {
        const v = yield * versionById(versionId)
        if (v === undefined) throw new StoreError('ERR_STORE_NOT_FOUND', `no version ${versionId}`)
        if (v.state === 'draft') throw new StoreError('ERR_STORE_INVALID_STATE', 'a draft cannot be retired; delete it')
        // retired stays retired, with its first retirement time
        yield * d.update('versions', { state: 'retired', retiredAt: nowMs }, and(eq(t.versions.id, versionId), eq(t.versions.state, 'published'))!)
      })
      return (await d.run(versionById(versionId)))!
    },
    async deleteDraft (versionId) {
      return d.transaction(function * () {
        const v = yield * versionById(versionId)
        if (v === undefined) return false
        if (v.state !== 'draft') throw new StoreError('ERR_STORE_INVALID_STATE', `version ${v.imageName}@${v.number} is ${v.state}`)
        return (yield * d.delete('versions', and(eq(t.versions.id, versionId), eq(t.versions.state, 'draft'))!)) > 0
      })
    },
    async deleteAbandonedDrafts (nowMs) {
      assertTime(nowMs, 'nowMs')
      return d.transaction(function * () {
        const live = sql`(select ${t.uploads.id} from ${t.uploads} where ${gte(t.uploads.expiresAt, nowMs)})`
        const dead = (yield * d.select({ id: t.versions.id }, 'versions', {
          where: and(eq(t.versions.state, 'draft'), isNotNull(t.versions.uploadId), sql`${t.versions.uploadId} NOT IN ${live}`)
        })).map((r) => Number(r.id))
        for (const ids of batches(dead, IN_LIST_BATCH)) yield * d.delete('versions', inArray(t.versions.id, ids))
        yield * d.delete('uploads', lt(t.uploads.expiresAt, nowMs))
        return dead
      })
    },
    async getVersion (imageId, number) {
      return (await d.run(versions(and(eq(t.versions.imageId, imageId), eq(t.versions.number, number)))))[0]
    },
    async getVersionById (id) {
      return d.run(versionById(id))
    },
    async latestPublished (imageId) {
      const where = and(eq(t.versions.imageId, imageId), eq(t.versions.state, 'published'))
      return (await d.run(versions(where, { orderBy: [desc(t.versions.number)], limit: 1 })))[0]
    },
    async listVersions (imageId, filter = {}) {
      const where = and(eq(t.versions.imageId, imageId), filter.state === undefined ? undefined : eq(t.versions.state, filter.state))
      return d.run(versions(where, { orderBy: [asc(t.versions.number)] }))
    },
    async versionChunkIds (versionId) {
      const found = await d.run(d.select({ c: t.versionChunks.chunkId }, 'versionChunks', {
        where: eq(t.versionChunks.versionId, versionId), orderBy: [asc(t.versionChunks.chunkId)]
      }))
      // trim: SQL Server's char(64) pads, should a shorter id ever get in
      return found.map((r) => r.c.trim())
    },

    // ---- GC ----
    async imageHasChunk (imageName, chunkId) {
      assertHex64(chunkId, 'chunk id')
      const found = await d.run(d.select({ one: sql<number>`1` }, 'versionChunks', {
        join: [{ table: 'versions', on: eq(t.versions.id, t.versionChunks.versionId) }, { table: 'images', on: eq(t.images.id, t.versions.imageId) }],
        where: and(eq(t.versionChunks.chunkId, chunkId), eq(t.images.name, imageName), inArray(t.versions.state, ['published', 'retired'])),
        limit: 1
      }))
      return found.length > 0
    },
    async unreferencedChunks (chunkIds, { retiredCutoffMs }) {
      assertTime(retiredCutoffMs, 'retiredCutoffMs')
      const out: string[] = []
      for (const group of batches(chunkIds, IN_LIST_BATCH)) {
        for (const id of group) assertHex64(id, 'chunk id')
        const found = await d.run(d.select({ c: t.versionChunks.chunkId }, 'versionChunks', {
          join: [{ table: 'versions', on: eq(t.versions.id, t.versionChunks.versionId) }],
          where: and(inArray(t.versionChunks.chunkId, group), or(sql`${t.versions.state} <> 'retired'`, gt(t.versions.retiredAt, retiredCutoffMs)))
        }))
        const referenced = new Set(found.map((r) => r.c.trim()))
        for (const id of group) if (!referenced.has(id)) out.push(id)
      }
      return [...new Set(out)]
    },
    async gcHorizonMs (nowMs) {
      assertTime(nowMs, 'nowMs')
      const [row] = await d.run(d.select({ m: sql<string | number | null>`min(${t.uploads.startedAt})` }, 'uploads', {
        where: gte(t.uploads.expiresAt, nowMs)
      }))
      return row?.m == null ? nowMs : Math.min(nowMs, Number(row.m))
    },

    // ---- uploads ----
    async beginUpload ({ id, imageName, nowMs, ttlMs }) {
      assertName(id, 'upload id', 64)
      assertTime(nowMs, 'nowMs')
      assertCount(ttlMs, 'ttlMs')
      const row = await d.run(conflict(`upload ${id}`, d.insert('uploads', { id, imageName, startedAt: nowMs, heartbeatAt: nowMs, expiresAt: nowMs + ttlMs })))
      return toUpload(row)
    },
    async heartbeatUpload (id, nowMs, ttlMs) {
      assertTime(nowMs, 'nowMs')
      const changed = await d.run(d.update('uploads', { heartbeatAt: nowMs, expiresAt: nowMs + ttlMs }, and(eq(t.uploads.id, id), gte(t.uploads.expiresAt, nowMs))!))
      return changed > 0
    },
    async endUpload (id) {
      return (await d.run(d.delete('uploads', eq(t.uploads.id, id)))) > 0
    },
    async activeUploads (nowMs) {
      return (await d.run(rows('uploads', { where: gte(t.uploads.expiresAt, nowMs), orderBy: [asc(t.uploads.startedAt)] }))).map(toUpload)
    },

    // ---- tokens ----
    async createToken ({ tokenHash, user, groups = [], isAdmin = false, readOnly = false, kind = 'user', label = '', expiresAtMs = null, nowMs }) {
      assertHex64(tokenHash, 'tokenHash')
      assertName(user, 'user')
      if (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string')) throw new TypeError('groups must be strings')
      if (kind !== 'user' && kind !== 'machine') throw new TypeError('kind must be user or machine')
      if (readOnly && !isAdmin) throw new TypeError('readOnly applies to admins only')
      assertTime(nowMs, 'nowMs')
      if (expiresAtMs !== null) assertTime(expiresAtMs, 'expiresAtMs')
      const row = await d.run(conflict('token', d.insert('apiTokens', {
        tokenHash, user, groups: JSON.stringify(groups), isAdmin, readOnly, kind, label, createdAt: nowMs, expiresAt: expiresAtMs
      })))
      return toToken(row)
    },
    async findTokenByHash (tokenHash, nowMs): Promise<TokenLookup> {
      const token = await one('apiTokens', eq(t.apiTokens.tokenHash, tokenHash), toToken)
      if (token === undefined) return { status: 'unknown' }
      if (token.revokedAtMs !== null && token.revokedAtMs <= nowMs) return { status: 'revoked', token }
      if (token.expiresAtMs !== null && token.expiresAtMs <= nowMs) return { status: 'expired', token }
      return { status: 'valid', token }
    },
    async findActiveToken (tokenHash, nowMs) {
      const found = await store.findTokenByHash(tokenHash, nowMs)
      return found.status === 'valid' ? found.token : undefined
    },
    async markTokenUsed (id, nowMs) {
      await d.run(d.update('apiTokens', { lastUsedAt: nowMs }, eq(t.apiTokens.id, id)))
    },
    async revokeToken (id, nowMs) {
      assertTime(nowMs, 'nowMs')
      return d.run(function * () {
        // only an unrevoked token takes the time: the first revocation's stays
        const changed = yield * d.update('apiTokens', { revokedAt: nowMs }, and(eq(t.apiTokens.id, id), isNull(t.apiTokens.revokedAt))!)
        if (changed > 0) return true
        return (yield * d.select({ id: t.apiTokens.id }, 'apiTokens', { where: eq(t.apiTokens.id, id) })).length > 0
      })
    },
    async getToken (id) {
      return one('apiTokens', eq(t.apiTokens.id, id), toToken)
    },
    async listTokens (filter = {}) {
      const where = filter.user === undefined ? undefined : eq(t.apiTokens.user, filter.user)
      return (await d.run(rows('apiTokens', { where, orderBy: [asc(t.apiTokens.id)] }))).map(toToken)
    },

    // ---- policies ----
    async createPolicy (input) {
      const values = newPolicyColumns(input) as NewRow<'policies'>
      return toPolicy(await d.run(conflict(`policy ${input.name}`, d.insert('policies', values))))
    },
    async getPolicy (id) {
      return one('policies', eq(t.policies.id, id), toPolicy)
    },
    async getPolicyByName (name) {
      return one('policies', eq(t.policies.name, name), toPolicy)
    },
    async listPolicies (filter = {}) {
      const where = filter.imageName === undefined ? undefined : eq(t.policies.imageName, filter.imageName)
      return (await d.run(rows('policies', { where, orderBy: [asc(t.policies.name)] }))).map(toPolicy)
    },
    async updatePolicy (id, patch, nowMs) {
      assertTime(nowMs, 'nowMs')
      const changes = { ...policyColumns(patch), updatedAt: nowMs } as Changes<'policies'>
      const row = await d.run(conflict(`policy ${patch.name ?? ''}`, d.updateOne('policies', changes, eq(t.policies.id, id))))
      if (row === undefined) throw new StoreError('ERR_STORE_NOT_FOUND', `no policy ${id}`)
      return toPolicy(row)
    },
    async deletePolicy (id) {
      return (await d.run(d.delete('policies', eq(t.policies.id, id)))) > 0
    },
    async assign ({ policyId, subjectKind, subject, nowMs }) {
      assertSubjectKind(subjectKind)
      assertName(subject, 'subject')
      assertTime(nowMs, 'nowMs')
      const row = await d.transaction(function * () {
        const [p] = yield * d.select({ id: t.policies.id }, 'policies', { where: eq(t.policies.id, policyId) })
        if (p === undefined) throw new StoreError('ERR_STORE_NOT_FOUND', `no policy ${policyId}`)
        return yield * conflict(`assignment of policy ${policyId} to ${subjectKind} ${subject}`,
          d.insert('assignments', { policyId, subjectKind, subject, createdAt: nowMs }))
      })
      return toAssignment(row)
    },
    async unassign ({ policyId, subjectKind, subject }) {
      const where = and(eq(t.assignments.policyId, policyId), eq(t.assignments.subjectKind, subjectKind), eq(t.assignments.subject, subject))!
      return (await d.run(d.delete('assignments', where))) > 0
    },
    async listAssignments (filter = {}) {
      const where = and(
        filter.policyId === undefined ? undefined : eq(t.assignments.policyId, filter.policyId),
        filter.subjectKind === undefined ? undefined : eq(t.assignments.subjectKind, filter.subjectKind),
        filter.subject === undefined ? undefined : eq(t.assignments.subject, filter.subject)
      )
      return (await d.run(rows('assignments', { where, orderBy: [asc(t.assignments.id)] }))).map(toAssignment)
    },
    async policiesForSubject (user, groups) {
      const subjects: SQL[] = [and(eq(t.assignments.subjectKind, 'user'), eq(t.assignments.subject, user))!]
      for (const g of batches(groups, IN_LIST_BATCH)) subjects.push(and(eq(t.assignments.subjectKind, 'group'), inArray(t.assignments.subject, g))!)
      const found = await d.run(d.select({ ...getTableColumns(t.policies), viaKind: t.assignments.subjectKind, viaSubject: t.assignments.subject }, 'assignments', {
        join: [{ table: 'policies', on: eq(t.policies.id, t.assignments.policyId) }],
        where: or(...subjects)
      }))
      const matches: PolicyMatch[] = found.map((r) => ({ policy: toPolicy(r), via: { kind: r.viaKind as SubjectKind, subject: r.viaSubject } }))
      return matches.sort(byPolicyThenSubject)
    },

    // ---- clients ----
    async upsertClient ({ id, user, hostname = '', site = '', agentVersion = '', nowMs }) {
      assertName(id, 'client id', 128)
      assertName(user, 'user')
      assertTime(nowMs, 'nowMs')
      const row = await d.run(d.upsert('clients', { id, user, hostname, site, agentVersion, lastSeenAt: nowMs, createdAt: nowMs }, {
        key: ['id'],
        update: () => ({ user, hostname, site, agentVersion, lastSeenAt: nowMs })
      }))
      return toClient(row)
    },
    async getClient (id) {
      return one('clients', eq(t.clients.id, id), toClient)
    },
    async listClients (filter = {}) {
      const where = and(
        filter.user === undefined ? undefined : eq(t.clients.user, filter.user),
        filter.site === undefined ? undefined : eq(t.clients.site, filter.site)
      )
      return (await d.run(rows('clients', { where, orderBy: [desc(t.clients.lastSeenAt), asc(t.clients.id)] }))).map(toClient)
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
      const refreshed = {
        clientId: m.clientId, site: m.site, addrs: JSON.stringify(m.addrs), have: Buffer.from(m.have), haveCount: m.haveCount,
        announcedAt: m.nowMs, expiresAt: m.nowMs + m.ttlMs
      }
      const row = await d.run(d.upsert('swarmMembers', { image: m.image, version: m.version, peerId: m.peerId, ...refreshed, joinedAt: m.nowMs }, {
        key: ['image', 'version', 'peerId'],
        // A member whose membership had lapsed rejoins at the back of its site's queue.
        update: (current) => ({ ...refreshed, joinedAt: sql`CASE WHEN ${current.expiresAt} < ${m.nowMs} THEN ${m.nowMs} ELSE ${current.joinedAt} END` })
      }))
      return toMember(row)
    },
    async membersFor (image, version, { excludePeerId, site, nowMs, limit = 50 }) {
      assertTime(nowMs, 'nowMs')
      const where = and(
        eq(t.swarmMembers.image, image), eq(t.swarmMembers.version, version), gte(t.swarmMembers.expiresAt, nowMs),
        excludePeerId === undefined ? undefined : sql`${t.swarmMembers.peerId} <> ${excludePeerId}`
      )
      const sameSiteFirst = site === undefined ? [] : [sql`CASE WHEN ${t.swarmMembers.site} = ${site} THEN 0 ELSE 1 END`]
      const found = await d.run(rows('swarmMembers', {
        where,
        orderBy: [...sameSiteFirst, desc(t.swarmMembers.haveCount), desc(t.swarmMembers.announcedAt), asc(t.swarmMembers.peerId)],
        limit
      }))
      return found.map(toMember)
    },
    async siteMembers (image, version, site, nowMs) {
      const found = await d.run(rows('swarmMembers', {
        where: and(eq(t.swarmMembers.image, image), eq(t.swarmMembers.version, version), eq(t.swarmMembers.site, site), gte(t.swarmMembers.expiresAt, nowMs)),
        orderBy: [asc(t.swarmMembers.joinedAt), asc(t.swarmMembers.peerId)]
      }))
      return found.map(toMember)
    },
    async removeMember (image, version, peerId) {
      const where = and(eq(t.swarmMembers.image, image), eq(t.swarmMembers.version, version), eq(t.swarmMembers.peerId, peerId))!
      return (await d.run(d.delete('swarmMembers', where))) > 0
    },
    async expireMembers (nowMs) {
      assertTime(nowMs, 'nowMs')
      return d.run(d.delete('swarmMembers', lt(t.swarmMembers.expiresAt, nowMs)))
    },
    async swarmSizes (nowMs) {
      const found = await d.run(d.select({ image: t.swarmMembers.image, version: t.swarmMembers.version, members: sql<number>`count(*)` }, 'swarmMembers', {
        where: gte(t.swarmMembers.expiresAt, nowMs),
        groupBy: [t.swarmMembers.image, t.swarmMembers.version],
        orderBy: [asc(t.swarmMembers.image), asc(t.swarmMembers.version)]
      }))
      return found.map((r) => ({ image: r.image, version: Number(r.version), members: Number(r.members) }))
    },

    // ---- events ----
    async insertEvents (events, receivedAtMs) {
      assertTime(receivedAtMs, 'receivedAtMs')
      const byId = new Map<string, NewRow<'events'>>()
      for (const e of events) {
        assertEventId(e.id)
        assertName(e.clientId, 'clientId', 128)
        assertName(e.type, 'event type', 100)
        assertTime(e.atMs, 'atMs')
        // the first of repeated ids wins; the rest count as duplicates
        if (!byId.has(e.id)) byId.set(e.id, { id: e.id, clientId: e.clientId, user: e.user, type: e.type, at: e.atMs, receivedAt: receivedAtMs, payload: JSON.stringify(e.payload ?? null) })
      }
      let inserted = 0
      for (const group of batches(byId.values(), EVENTS_PER_TX)) {
        try {
          inserted += await d.transaction(function * () {
            const stored = yield * d.select({ id: t.events.id }, 'events', { where: inArray(t.events.id, group.map((r) => r.id)) })
            const have = new Set(stored.map((r) => r.id))
            const fresh = group.filter((r) => !have.has(r.id))
            if (fresh.length > 0) yield * d.insertMany('events', fresh)
            return fresh.length
          })
        } catch (err) {
          if (!d.isUniqueViolation(err)) throw err
          // Another process stored some of these ids meanwhile: one at a time, then.
          for (const row of group) {
            try {
              await d.run(d.insertMany('events', [row]))
              inserted++
            } catch (e) {
              if (!d.isUniqueViolation(e)) throw e
            }
          }
        }
      }
      return { inserted, duplicates: events.length - inserted }
    },
    async queryEvents (query = {}) {
      const conds: SQL[] = []
      if (query.type !== undefined) conds.push(eq(t.events.type, query.type))
      if (query.clientId !== undefined) conds.push(eq(t.events.clientId, query.clientId))
      if (query.user !== undefined) conds.push(eq(t.events.user, query.user))
      if (query.fromMs !== undefined) { assertTime(query.fromMs, 'fromMs'); conds.push(gte(t.events.at, query.fromMs)) }
      if (query.toMs !== undefined) { assertTime(query.toMs, 'toMs'); conds.push(lt(t.events.at, query.toMs)) }
      const dir = query.order === 'asc' ? asc : desc
      const found = await d.run(rows('events', { where: and(...conds), orderBy: [dir(t.events.at), dir(t.events.id)], limit: eventLimit(query.limit) }))
      return found.map(toEvent)
    },

    async ping () {
      await d.ping()
    },
    async close () {
      await d.close()
    }
  }
  return store
}
