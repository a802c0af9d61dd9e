/**
 * `TrackerStore` written once over a `Dialect` (`dialect.ts`): every method's validation,
 * queries and rules live here; `sqlite.ts` and `mssql.ts` supply only what SQL Server and
 * SQLite really do differently. Each method is work for `dialect.run` (statements that
 * commit on their own) or `dialect.transaction` (a read-then-write that must not
 * interleave with another tracker process's).
 */
import { and, asc, desc, eq, getTableColumns, gt, gte, inArray, isNotNull, isNull, lt, lte, or, sql, type SQL } from 'drizzle-orm'
import { StoreError } from './errors.ts'
import type { Changes, ColumnsOf, Dialect, NewRow, Row, Selected, SelectQuery, TableName, Work } from './dialect.ts'
import {
  assertCount, assertEventId, assertHex64, assertName, assertSubjectKind, assertTime, batches, byPolicyThenSubject, clientLimit, containsPattern,
  definedOnly, eventLimit, IN_LIST_BATCH, newPolicyColumns, policyColumns, toAssignment, toClient, toClientImage, toEvent, toImage, toMember, toPolicy,
  toBootProfile, toBootProfileCandidate, toToken, toUpload, toVersion
} from './records.ts'
import type {
  BootProfileCandidateRecord, ClientDetail, ClientRecord, EventInput, OffloadDelta, OffloadRow, PolicyMatch, ReportResult, SubjectKind, TokenLookup, TrackerStore, UpsertClientInput, VersionRecord
} from './store.ts'

/** An event checked and ready to insert, with what it adds to the offload rollup when new. */
interface NewEvent { row: NewRow<'events'>, offload: OffloadDelta | undefined }

/** A client unseen for longer than this is offline; when it comes back it is "online since" then. */
export const CLIENT_ONLINE_WINDOW_MS = 5 * 60_000

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

  /** The clients with the images each holds, in the same order. */
  async function withImages (clients: ClientRecord[]): Promise<ClientDetail[]> {
    const byClient = new Map<string, ClientDetail>(clients.map((c) => [c.id, { ...c, images: [] }]))
    for (const ids of batches(byClient.keys(), IN_LIST_BATCH)) {
      const found = await d.run(rows('clientImages', { where: inArray(t.clientImages.clientId, ids), orderBy: [asc(t.clientImages.image)] }))
      for (const r of found) byClient.get(r.clientId)?.images.push(toClientImage(r))
    }
    return [...byClient.values()]
  }

  /** Adds fresh `pull.completed` events to the offload rollups, summed per (day, site, image) first. */
  function * addOffload (deltas: readonly OffloadDelta[]): Work<void> {
    const sums = new Map<string, OffloadDelta & { pulls: number }>()
    for (const x of deltas) {
      const k = `${x.dayMs}\n${x.site}\n${x.image}`
      const sum = sums.get(k) ?? { ...x, originBytes: 0, peerBytes: 0, localBytes: 0, decodedOriginBytes: 0, decodedPeerBytes: 0, originBytesByReason: {}, pulls: 0 }
      sum.pulls++
      sum.originBytes += x.originBytes
      sum.peerBytes += x.peerBytes
      sum.localBytes += x.localBytes
      sum.decodedOriginBytes += x.decodedOriginBytes
      sum.decodedPeerBytes += x.decodedPeerBytes
      for (const [reason, bytes] of Object.entries(x.originBytesByReason)) sum.originBytesByReason[reason] = (sum.originBytesByReason[reason] ?? 0) + bytes
      sums.set(k, sum)
    }
    for (const x of sums.values()) {
      const key = { day: x.dayMs, site: x.site, image: x.image }
      const add = { pulls: x.pulls, originBytes: x.originBytes, peerBytes: x.peerBytes, localBytes: x.localBytes, decodedOriginBytes: x.decodedOriginBytes, decodedPeerBytes: x.decodedPeerBytes }
      yield * d.upsert('offloadDaily', { ...key, ...add }, {
        key: ['day', 'site', 'image'],
        update: (c) => ({
          pulls: sql`${c.pulls} + ${add.pulls}`,
          originBytes: sql`${c.originBytes} + ${add.originBytes}`,
          peerBytes: sql`${c.peerBytes} + ${add.peerBytes}`,
          localBytes: sql`${c.localBytes} + ${add.localBytes}`,
          decodedOriginBytes: sql`${c.decodedOriginBytes} + ${add.decodedOriginBytes}`,
          decodedPeerBytes: sql`${c.decodedPeerBytes} + ${add.decodedPeerBytes}`
        })
      })
      for (const [reason, bytes] of Object.entries(x.originBytesByReason)) {
        yield * d.upsert('offloadReasons', { ...key, reason, bytes }, { key: ['day', 'site', 'image', 'reason'], update: (c) => ({ bytes: sql`${c.bytes} + ${bytes}` }) })
      }
    }
  }

  /**
   * Inserts or refreshes a client row, and what it holds. `known` is the row as the caller
   * read it in the same transaction, when it did: the reads it answers are skipped.
   */
  function * writeClient (input: UpsertClientInput, known?: { current: ClientRecord | undefined }): Work<Row<'clients'>> {
    const { id, user, nowMs } = input
    assertName(id, 'client id', 128)
    assertName(user, 'user')
    assertTime(nowMs, 'nowMs')
    const onlineWindowMs = input.onlineWindowMs ?? CLIENT_ONLINE_WINDOW_MS
    const max = input.maxClientsPerUser
    if (max !== undefined) assertCount(max, 'maxClientsPerUser')
    const { held, pull, workspace } = input
    if (held !== undefined) { assertName(held.image, 'image'); assertCount(held.version, 'version') }
    const described = definedOnly({ hostname: input.hostname, site: input.site, agentVersion: input.agentVersion, os: input.os })
    const pullColumns = pull === undefined
      ? {}
      : pull === null
        ? { pullImage: null, pullVersion: null, pullPermille: null }
        : { pullImage: pull.image, pullVersion: pull.version, pullPermille: Math.max(0, Math.min(1000, Math.round(pull.permille))) }
    const workspaceColumn = workspace === undefined ? {} : { workspace: workspace === null ? null : JSON.stringify(workspace) }
    if (max !== undefined) {
      const isNew = known === undefined
        ? (yield * d.select({ id: t.clients.id }, 'clients', { where: eq(t.clients.id, id) })).length === 0
        : known.current === undefined
      if (isNew) {
        const [n] = yield * d.select({ n: sql<number>`count(*)` }, 'clients', { where: eq(t.clients.user, user) })
        if (Number(n?.n ?? 0) >= max) throw new StoreError('ERR_STORE_CLIENT_LIMIT', `user ${user} already has ${max} clients registered`)
      }
    }
    const row = yield * d.upsert('clients', {
      id, user, hostname: '', site: '', agentVersion: '', os: '', ...described, lastSeenAt: nowMs, onlineSince: nowMs, createdAt: nowMs, ...pullColumns, ...workspaceColumn
    }, {
      key: ['id'],
      update: (current) => ({
        user,
        ...described,
        ...pullColumns,
        ...workspaceColumn,
        lastSeenAt: nowMs,
        // back after a silence longer than the online window: online since now
        onlineSince: sql`CASE WHEN ${current.lastSeenAt} < ${nowMs - onlineWindowMs} THEN ${nowMs} ELSE ${current.onlineSince} END`
      })
    })
    if (held === undefined) return row
    const policy = held.policy === undefined ? {} : { policy: held.policy?.name ?? '', policyUpdatedAt: held.policy?.updatedAtMs ?? null }
    yield * d.upsert('clientImages', { clientId: id, image: held.image, version: held.version, heldSince: nowMs, policy: '', ...policy, updatedAt: nowMs }, {
      key: ['clientId', 'image'],
      // only ever forward: an announce of an older version it still seeds from changes nothing
      update: (current) => ({
        version: sql`CASE WHEN ${current.version} < ${held.version} THEN ${held.version} ELSE ${current.version} END`,
        heldSince: sql`CASE WHEN ${current.version} < ${held.version} THEN ${nowMs} ELSE ${current.heldSince} END`,
        ...policy,
        updatedAt: nowMs
      })
    })
    // the pull of this version (or an older one) is over; a pull the row read shows none of needs no statement
    if (row.pullImage !== held.image || Number(row.pullVersion) > held.version) return row
    const ended = yield * d.updateOne('clients', { pullImage: null, pullVersion: null, pullPermille: null },
      and(eq(t.clients.id, id), eq(t.clients.pullImage, held.image), lte(t.clients.pullVersion, held.version))!)
    return ended ?? row
  }

  /** Checks events and keys them by id: the first of repeated ids wins, the rest count as duplicates. */
  function eventRows (events: readonly EventInput[], receivedAtMs: number): NewEvent[] {
    assertTime(receivedAtMs, 'receivedAtMs')
    const byId = new Map<string, NewEvent>()
    for (const e of events) {
      assertEventId(e.id)
      assertName(e.clientId, 'clientId', 128)
      assertName(e.type, 'event type', 100)
      assertTime(e.atMs, 'atMs')
      if (!byId.has(e.id)) {
        byId.set(e.id, {
          row: { id: e.id, clientId: e.clientId, user: e.user, type: e.type, at: e.atMs, receivedAt: receivedAtMs, site: e.site ?? '', host: e.host ?? '', image: e.image ?? '', payload: JSON.stringify(e.payload ?? null) },
          offload: e.offload
        })
      }
    }
    return [...byId.values()]
  }

  /** Stores the events of `group` not stored yet, and adds those to the offload rollup; returns how many. */
  function * storeFresh (group: readonly NewEvent[]): Work<number> {
    if (group.length === 0) return 0
    const stored = yield * d.select({ id: t.events.id }, 'events', { where: inArray(t.events.id, group.map((g) => g.row.id)) })
    const have = new Set(stored.map((r) => r.id))
    const fresh = group.filter((g) => !have.has(g.row.id))
    if (fresh.length > 0) yield * d.insertMany('events', fresh.map((g) => g.row))
    yield * addOffload(fresh.flatMap((g) => g.offload === undefined ? [] : [g.offload]))
    return fresh.length
  }

  /** Events in transactions of `EVENTS_PER_TX`; a group another process stored some of meanwhile goes one at a time. */
  async function insertRows (rows: readonly NewEvent[]): Promise<number> {
    let inserted = 0
    for (const group of batches(rows, EVENTS_PER_TX)) {
      try {
        inserted += await d.transaction(storeFresh(group))
      } catch (err) {
        if (!d.isUniqueViolation(err)) throw err
        for (const { row, offload } of group) {
          try {
            await d.transaction(function * () {
              yield * d.insertMany('events', [row])
              yield * addOffload(offload === undefined ? [] : [offload])
            })
            inserted++
          } catch (e) {
            if (!d.isUniqueViolation(e)) throw e
          }
        }
      }
    }
    return inserted
  }

  function * addUsage (key: string, windowStartMs: number, amount: number): Work<number> {
    assertName(key, 'usage key', 300)
    assertTime(windowStartMs, 'windowStartMs')
    assertCount(amount, 'amount')
    const row = yield * d.upsert('usageCounters', { key, windowStart: windowStartMs, count: amount }, {
      key: ['key', 'windowStart'],
      update: (current) => ({ count: sql`${current.count} + ${amount}` })
    })
    return Number(row.count)
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

  /** The version, with its image locked against other writers until the transaction ends. */
  function * lockedVersion (versionId: number): Work<VersionRecord> {
    const v = yield * versionById(versionId)
    if (v === undefined) throw new StoreError('ERR_STORE_NOT_FOUND', `no version ${versionId}`)
    yield * d.lockImage(v.imageId)
    return v
  }

  function * candidates (versionId: number): Work<BootProfileCandidateRecord[]> {
    const found = yield * rows('bootProfileCandidates', { where: eq(t.bootProfileCandidates.versionId, versionId), orderBy: [asc(t.bootProfileCandidates.submittedAt), asc(t.bootProfileCandidates.user)] })
    return found.map(toBootProfileCandidate)
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
      await d.write(d.update('apiTokens', { lastUsedAt: nowMs }, eq(t.apiTokens.id, id)))
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
    async upsertClient (input) {
      const work = writeClient(input)
      return toClient(await (input.maxClientsPerUser === undefined && input.held === undefined ? d.write(work) : d.transaction(work)))
    },
    async getClient (id) {
      return one('clients', eq(t.clients.id, id), toClient)
    },
    async getClientDetail (id) {
      const client = await store.getClient(id)
      if (client === undefined) return undefined
      return (await withImages([client]))[0]
    },
    async listClients (filter = {}) {
      const where = and(
        filter.user === undefined ? undefined : eq(t.clients.user, filter.user),
        filter.site === undefined ? undefined : eq(t.clients.site, filter.site)
      )
      return (await d.run(rows('clients', { where, orderBy: [desc(t.clients.lastSeenAt), asc(t.clients.id)] }))).map(toClient)
    },
    async queryClients (query = {}) {
      const c = t.clients
      const conds: SQL[] = []
      if (query.site !== undefined) conds.push(eq(c.site, query.site))
      if (query.user !== undefined) conds.push(eq(c.user, query.user))
      if (query.host !== undefined) conds.push(eq(c.hostname, query.host))
      if (query.image !== undefined) conds.push(sql`exists (select 1 from ${t.clientImages} where ${t.clientImages.clientId} = ${c.id} and ${t.clientImages.image} = ${query.image})`)
      if (query.search !== undefined && query.search !== '') {
        const like = containsPattern(query.search)
        conds.push(or(sql`${c.id} like ${like} escape '\\'`, sql`${c.hostname} like ${like} escape '\\'`, sql`${c.user} like ${like} escape '\\'`)!)
      }
      if (query.seen !== undefined) {
        assertTime(query.seen.sinceMs, 'seen.sinceMs')
        conds.push(query.seen.state === 'online' ? gte(c.lastSeenAt, query.seen.sinceMs) : lt(c.lastSeenAt, query.seen.sinceMs))
      }
      if (query.fromMs !== undefined) { assertTime(query.fromMs, 'fromMs'); conds.push(gte(c.lastSeenAt, query.fromMs)) }
      if (query.toMs !== undefined) { assertTime(query.toMs, 'toMs'); conds.push(lt(c.lastSeenAt, query.toMs)) }
      const where = and(...conds)
      const dir = (query.order ?? (query.sort === undefined || query.sort === 'lastSeen' || query.sort === 'firstSeen' ? 'desc' : 'asc')) === 'asc' ? asc : desc
      const sortColumn = { lastSeen: c.lastSeenAt, firstSeen: c.createdAt, host: c.hostname, user: c.user, site: c.site, id: c.id }[query.sort ?? 'lastSeen']
      const limit = clientLimit(query.limit)
      const offset = query.offset ?? 0
      assertCount(offset, 'offset')
      const [found, [n]] = await d.run(function * () {
        // offset as a row limit: the dialects share no OFFSET syntax through `select`
        const page = yield * rows('clients', { where, orderBy: [dir(sortColumn), asc(c.id)], limit: offset + limit })
        const total = yield * d.select({ n: sql<number>`count(*)` }, 'clients', { where })
        return [page.slice(offset), total] as const
      })
      return { clients: await withImages(found.map(toClient)), total: Number(n?.n ?? 0) }
    },
    async countClients (user) {
      const [n] = await d.run(d.select({ n: sql<number>`count(*)` }, 'clients', { where: eq(t.clients.user, user) }))
      return Number(n?.n ?? 0)
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
      const inserted = await insertRows(eventRows(events, receivedAtMs))
      return { inserted, duplicates: events.length - inserted }
    },
    async recordReport ({ client, quota, contents, storeNow, receivedAtMs }) {
      assertTime(receivedAtMs, 'receivedAtMs')
      assertCount(storeNow, 'storeNow')
      if (quota !== undefined) assertCount(quota.limit, 'quota.limit')
      const head = (storeEvents: boolean) => function * (): Work<ReportResult> {
        // counted first: a refused report still counts (the count is all its transaction keeps)
        if (quota !== undefined) {
          const used = yield * addUsage(quota.key, quota.windowStartMs, quota.amount)
          if (used > quota.limit) return { stored: false, quotaUsed: used }
        }
        const [found] = yield * rows('clients', { where: eq(t.clients.id, client.id) })
        const current = found === undefined ? undefined : toClient(found)
        const { state, events } = contents(current)
        yield * writeClient({ ...client, ...state }, { current })
        const now = storeEvents ? events.slice(0, storeNow) : []
        const inserted = yield * storeFresh(eventRows(now, receivedAtMs))
        return { stored: true, inserted, duplicates: now.length - inserted, pending: events.slice(now.length) }
      }
      try {
        return await d.transaction(head(true))
      } catch (err) {
        // Another process stored some of these ids meanwhile (SQL Server): every event waits for insertEvents.
        if (!d.isUniqueViolation(err)) throw err
        return await d.transaction(head(false))
      }
    },
    async queryEvents (query = {}) {
      const e = t.events
      const conds: SQL[] = []
      if (query.type !== undefined) conds.push(eq(e.type, query.type))
      const typeAny: SQL[] = []
      if (query.typeIn !== undefined && query.typeIn.length > 0) typeAny.push(inArray(e.type, [...query.typeIn]))
      for (const suffix of query.typeSuffixes ?? []) typeAny.push(sql`${e.type} like ${containsPattern(suffix).slice(0, -1)} escape '\\'`)
      if (query.typeIn !== undefined || query.typeSuffixes !== undefined) conds.push(typeAny.length === 0 ? sql`1 = 0` : or(...typeAny)!)
      if (query.clientId !== undefined) conds.push(eq(e.clientId, query.clientId))
      if (query.clientIdIn !== undefined) conds.push(query.clientIdIn.length === 0 ? sql`1 = 0` : inArray(e.clientId, [...query.clientIdIn]))
      if (query.user !== undefined) conds.push(eq(e.user, query.user))
      if (query.site !== undefined) conds.push(eq(e.site, query.site))
      if (query.host !== undefined) conds.push(eq(e.host, query.host))
      if (query.image !== undefined) conds.push(eq(e.image, query.image))
      if (query.fromMs !== undefined) { assertTime(query.fromMs, 'fromMs'); conds.push(gte(e.at, query.fromMs)) }
      if (query.toMs !== undefined) { assertTime(query.toMs, 'toMs'); conds.push(lt(e.at, query.toMs)) }
      const ascending = query.order === 'asc'
      if (query.after !== undefined) {
        const { atMs, id } = query.after
        assertTime(atMs, 'after.atMs')
        conds.push(ascending
          ? or(gt(e.at, atMs), and(eq(e.at, atMs), gt(e.id, id)))!
          : or(lt(e.at, atMs), and(eq(e.at, atMs), lt(e.id, id)))!)
      }
      const dir = ascending ? asc : desc
      const found = await d.run(rows('events', { where: and(...conds), orderBy: [dir(e.at), dir(e.id)], limit: eventLimit(query.limit) }))
      return found.map(toEvent)
    },
    async pruneEvents (beforeMs, limit) {
      assertTime(beforeMs, 'beforeMs')
      assertCount(limit, 'limit')
      return d.run(function * () {
        // by client time first (indexed); then what a wrong client clock dated in the future
        let ids = (yield * d.select({ id: t.events.id }, 'events', { where: lt(t.events.at, beforeMs), orderBy: [asc(t.events.at)], limit })).map((r) => r.id)
        if (ids.length < limit) {
          const late = yield * d.select({ id: t.events.id }, 'events', { where: lt(t.events.receivedAt, beforeMs), limit: limit - ids.length })
          ids = [...new Set([...ids, ...late.map((r) => r.id)])]
        }
        let deleted = 0
        for (const group of batches(ids, IN_LIST_BATCH)) deleted += yield * d.delete('events', inArray(t.events.id, group))
        return deleted
      })
    },

    // ---- reports ----
    async offloadByDay (query = {}) {
      const o = t.offloadDaily
      const r = t.offloadReasons
      const where = (table: typeof o | typeof r): SQL | undefined => and(
        query.fromMs === undefined ? undefined : gte(table.day, query.fromMs),
        query.toMs === undefined ? undefined : lt(table.day, query.toMs),
        query.site === undefined ? undefined : eq(table.site, query.site),
        query.image === undefined ? undefined : eq(table.image, query.image)
      )
      const [sums, reasons] = await d.run(function * () {
        const sums = yield * d.select({
          day: o.day,
          site: o.site,
          pulls: sql<number>`sum(${o.pulls})`,
          originBytes: sql<number>`sum(${o.originBytes})`,
          peerBytes: sql<number>`sum(${o.peerBytes})`,
          localBytes: sql<number>`sum(${o.localBytes})`,
          decodedOriginBytes: sql<number>`sum(${o.decodedOriginBytes})`,
          decodedPeerBytes: sql<number>`sum(${o.decodedPeerBytes})`
        }, 'offloadDaily', { where: where(o), groupBy: [o.day, o.site], orderBy: [desc(o.day), asc(o.site)] })
        const reasons = yield * d.select({ day: r.day, site: r.site, reason: r.reason, bytes: sql<number>`sum(${r.bytes})` }, 'offloadReasons', {
          where: where(r), groupBy: [r.day, r.site, r.reason]
        })
        return [sums, reasons] as const
      })
      const out = new Map<string, OffloadRow>()
      for (const x of sums) {
        out.set(`${Number(x.day)}\n${x.site}`, {
          dayMs: Number(x.day),
          site: x.site,
          pulls: Number(x.pulls),
          originBytes: Number(x.originBytes),
          peerBytes: Number(x.peerBytes),
          localBytes: Number(x.localBytes),
          decodedOriginBytes: Number(x.decodedOriginBytes),
          decodedPeerBytes: Number(x.decodedPeerBytes),
          originBytesByReason: {}
        })
      }
      for (const x of reasons) {
        const row = out.get(`${Number(x.day)}\n${x.site}`)
        if (row !== undefined) row.originBytesByReason[x.reason] = Number(x.bytes)
      }
      return [...out.values()]
    },
    async pruneOffload (beforeMs) {
      assertTime(beforeMs, 'beforeMs')
      return d.run(function * () {
        const days = yield * d.delete('offloadDaily', lt(t.offloadDaily.day, beforeMs))
        yield * d.delete('offloadReasons', lt(t.offloadReasons.day, beforeMs))
        return days
      })
    },
    async deploymentCounts (query = {}) {
      const c = t.clients
      const ci = t.clientImages
      const clientConds = (): Array<SQL | undefined> => [
        query.site === undefined ? undefined : eq(c.site, query.site),
        query.user === undefined ? undefined : eq(c.user, query.user),
        query.host === undefined ? undefined : eq(c.hostname, query.host)
      ]
      return d.run(function * () {
        const held = yield * d.select({
          image: ci.image, version: ci.version, clients: sql<number>`count(*)`, first: sql<number>`min(${ci.heldSince})`, last: sql<number>`max(${ci.heldSince})`
        }, 'clientImages', {
          join: [{ table: 'clients', on: eq(c.id, ci.clientId) }],
          where: and(query.image === undefined ? undefined : eq(ci.image, query.image), ...clientConds()),
          groupBy: [ci.image, ci.version]
        })
        const pulling = yield * d.select({ image: c.pullImage, version: c.pullVersion, clients: sql<number>`count(*)` }, 'clients', {
          where: and(isNotNull(c.pullImage), query.image === undefined ? undefined : eq(c.pullImage, query.image), ...clientConds()),
          groupBy: [c.pullImage, c.pullVersion]
        })
        return {
          held: held.map((r) => ({ image: r.image, version: Number(r.version), clients: Number(r.clients), firstHeldAtMs: Number(r.first), lastHeldAtMs: Number(r.last) })),
          pulling: pulling.map((r) => ({ image: r.image ?? '', version: Number(r.version), clients: Number(r.clients) }))
        }
      })
    },

    // ---- boot profiles ----
    async getBootProfile (versionId) {
      return one('bootProfiles', eq(t.bootProfiles.versionId, versionId), toBootProfile)
    },
    async putBootProfile (input) {
      const { versionId, source, document, chunkCount, publishedAtMs, publishedBy } = input
      if (source !== 'admin' && source !== 'auto') throw new TypeError('source must be admin or auto')
      if (!(document instanceof Uint8Array)) throw new TypeError('document must be bytes')
      assertCount(chunkCount, 'chunkCount')
      assertTime(publishedAtMs, 'publishedAtMs')
      assertName(publishedBy, 'publishedBy')
      const row = { versionId, source, document: Buffer.from(document), chunkCount, publishedAt: publishedAtMs, publishedBy }
      return d.transaction(function * () {
        yield * lockedVersion(versionId)
        if (source === 'auto') {
          const [held] = yield * d.select({ source: t.bootProfiles.source }, 'bootProfiles', { where: eq(t.bootProfiles.versionId, versionId) })
          if (held?.source === 'admin') return false
        }
        yield * d.upsert('bootProfiles', row, {
          key: ['versionId'],
          update: () => ({ source, document: row.document, chunkCount, publishedAt: publishedAtMs, publishedBy })
        })
        yield * d.delete('bootProfileCandidates', eq(t.bootProfileCandidates.versionId, versionId))
        return true
      })
    },
    async addBootProfileCandidate (input, maxCandidates) {
      const { versionId, user, clientId, chunks, end, durationMs, nowMs } = input
      assertName(user, 'user')
      assertName(clientId, 'client id', 128)
      assertName(end, 'end', 16)
      assertCount(durationMs, 'durationMs')
      assertTime(nowMs, 'nowMs')
      assertCount(maxCandidates, 'maxCandidates')
      for (const id of chunks) assertHex64(id, 'chunk id')
      return d.transaction(function * () {
        yield * lockedVersion(versionId)
        const held = yield * d.select({ versionId: t.bootProfiles.versionId }, 'bootProfiles', { where: eq(t.bootProfiles.versionId, versionId) })
        if (held.length > 0) throw new StoreError('ERR_STORE_INVALID_STATE', 'the version has a published boot profile')
        const before = yield * candidates(versionId)
        if (before.some((c) => c.user === user)) throw new StoreError('ERR_STORE_CONFLICT', `a boot profile recording of ${user} already exists`)
        if (before.length >= maxCandidates) throw new StoreError('ERR_STORE_INVALID_STATE', `the version holds ${before.length} recordings already`)
        yield * conflict(`a boot profile recording of ${user}`, d.insertMany('bootProfileCandidates', [{
          versionId, user, clientId, chunks: JSON.stringify(chunks), chunkCount: chunks.length, end, durationMs, submittedAt: nowMs
        }]))
        return yield * candidates(versionId)
      })
    },
    async listBootProfileCandidates (versionId) {
      return d.run(candidates(versionId))
    },
    async clearBootProfileCandidates (versionId) {
      return d.run(d.delete('bootProfileCandidates', eq(t.bootProfileCandidates.versionId, versionId)))
    },

    // ---- usage counters ----
    async addUsage (key, windowStartMs, amount) {
      return d.write(addUsage(key, windowStartMs, amount))
    },
    async pruneUsage (beforeMs) {
      assertTime(beforeMs, 'beforeMs')
      return d.run(d.delete('usageCounters', lt(t.usageCounters.windowStart, beforeMs)))
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
