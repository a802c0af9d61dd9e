// The SQL Server dialect without a server: the store runs on drizzle's node-mssql driver
// over a recording stand-in for the `mssql` connection pool, and these tests read the
// T-SQL it sends. No SQL Server runs on the build machines; this is the drift check.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { drizzle } from 'drizzle-orm/node-mssql'
import { mssqlDialect } from '../../../../tracker/db/mssql.ts'
import { createTrackerStore } from '../../../../tracker/db/queries.ts'
import type { TrackerStore } from '../../../../tracker/db/store.ts'
import { rejects } from '../../../helpers/rejects.ts'

type Sent = { sql: string, params: unknown[] } | 'BEGIN' | 'COMMIT' | 'ROLLBACK'
/** What the stand-in server answers a statement: rows (as value arrays), or an error to throw. */
type Answer = (sql: string, params: unknown[]) => unknown[][] | Error

const H = 'a'.repeat(64)
const B = 'b'.repeat(64)

function server (answer: Answer = () => []): { store: TrackerStore, sent: Sent[], statements: () => string[] } {
  const sent: Sent[] = []
  const request = () => {
    const params: unknown[] = []
    return {
      arrayRowMode: false,
      input (_name: string, value: unknown) { params.push(value) },
      async query (text: string) {
        const sql = text.replace(/\s+/g, ' ').trim()
        sent.push({ sql, params })
        const rows = answer(sql, params)
        if (rows instanceof Error) throw rows
        return { recordset: rows, rowsAffected: [rows.length] }
      }
    }
  }
  const pool = {
    request,
    transaction: () => ({
      begin: async () => { sent.push('BEGIN') },
      commit: async () => { sent.push('COMMIT') },
      rollback: async () => { sent.push('ROLLBACK') },
      request
    })
  }
  const store = createTrackerStore(mssqlDialect(drizzle({ client: pool as never })))
  return { store, sent, statements: () => sent.map((s) => typeof s === 'string' ? s : s.sql) }
}

/** A plausible value for a column the statement reads (by its name), so every path runs on. */
function valueFor (column: string): unknown {
  const name = /\[(\w+)\]$/.exec(column)?.[1] ?? column
  const known: Record<string, unknown> = {
    state: 'draft', manifest_root: Buffer.from([1]), manifest_id: H, chunk_id: H, token_hash: H, groups: '[]', addrs: '[]',
    published_apps: '[]', startup: '{"mode":"manual"}', payload: '{}', is_admin: false, p2p_allowed: true, have: Buffer.from([255]),
    subject_kind: 'user', kind: 'user', upload_id: 'u', peer_id: 'p', client_id: 'c', workspace: null, pull_image: null
  }
  if (name in known) return known[name]
  if (/^(id|number|version|priority)$|_id$|_at$|bytes|count|minute|_mb$|cpus|seconds|_start$|_end$|source_of|pinned|min\(|\(\*\)|^1$/.test(name)) return 7
  return 's'
}

/** One row for any statement that reads columns (SELECT … FROM, or OUTPUT …). */
const oneRow = (sql: string): unknown[][] => {
  const list = /output (.*?)(?: values| where|$)/.exec(sql)?.[1] ?? /^select (?:top\(@par\d+\) )?(.*?) from /.exec(sql)?.[1]
  return list === undefined ? [] : [list.split(', ').map(valueFor)]
}

function uniqueViolation (number: number): Error {
  return Object.assign(new Error(`Violation of UNIQUE KEY constraint (${number})`), { number })
}

/** Every store method once, with arguments that pass validation. */
const everyMethod: Array<(s: TrackerStore) => Promise<unknown>> = [
  (s) => s.ping(),
  (s) => s.createImage({ name: 'win', nowMs: 1 }),
  (s) => s.getImage('win'),
  (s) => s.getImageById(1),
  (s) => s.listImages(),
  (s) => s.updateImage(1, { description: 'd' }),
  (s) => s.deleteImage(1),
  (s) => s.nextVersionNumber(1),
  (s) => s.createDraft({ imageId: 1, createdBy: 'a', nowMs: 1, uploadId: 'u' }),
  (s) => s.addVersionChunks(7, [H, B]),
  (s) => s.finalizeDraft(7, { manifestRoot: new Uint8Array([1]), manifestId: H, totalBytes: 1, chunkCount: 1, newBytes: 1 }),
  (s) => s.publish(7, 1),
  (s) => s.retire(7, 1),
  (s) => s.deleteDraft(7),
  (s) => s.deleteAbandonedDrafts(1),
  (s) => s.getVersion(1, 1),
  (s) => s.getVersionById(7),
  (s) => s.latestPublished(1),
  (s) => s.listVersions(1, { state: 'published' }),
  (s) => s.versionChunkIds(7),
  (s) => s.imageHasChunk('win', H),
  (s) => s.unreferencedChunks([H], { retiredCutoffMs: 1 }),
  (s) => s.gcHorizonMs(1),
  (s) => s.beginUpload({ id: 'u', imageName: 'win', nowMs: 1, ttlMs: 10 }),
  (s) => s.heartbeatUpload('u', 1, 10),
  (s) => s.endUpload('u'),
  (s) => s.activeUploads(1),
  (s) => s.createToken({ tokenHash: H, user: 'u', nowMs: 1 }),
  (s) => s.findActiveToken(H, 1),
  (s) => s.markTokenUsed(1, 1),
  (s) => s.revokeToken(1, 1),
  (s) => s.getToken(1),
  (s) => s.listTokens({ user: 'u' }),
  (s) => s.createPolicy({ name: 'p', imageName: 'win', nowMs: 1 }),
  (s) => s.getPolicy(1),
  (s) => s.getPolicyByName('p'),
  (s) => s.listPolicies({ imageName: 'win' }),
  (s) => s.updatePolicy(1, { priority: 2 }, 1),
  (s) => s.deletePolicy(1),
  (s) => s.assign({ policyId: 1, subjectKind: 'group', subject: 'g', nowMs: 1 }),
  (s) => s.unassign({ policyId: 1, subjectKind: 'group', subject: 'g' }),
  (s) => s.listAssignments({ policyId: 1 }),
  (s) => s.policiesForSubject('u', ['g']),
  (s) => s.upsertClient({ id: 'c', user: 'u', nowMs: 1 }),
  (s) => s.getClient('c'),
  (s) => s.listClients({ site: 's' }),
  (s) => s.upsertMember({ image: 'win', version: 1, peerId: 'p', clientId: 'c', site: 's', addrs: [], have: new Uint8Array(1), haveCount: 0, nowMs: 1, ttlMs: 10 }),
  (s) => s.membersFor('win', 1, { site: 's', excludePeerId: 'p', nowMs: 1, limit: 5 }),
  (s) => s.siteMembers('win', 1, 's', 1),
  (s) => s.removeMember('win', 1, 'p'),
  (s) => s.expireMembers(1),
  (s) => s.swarmSizes(1),
  (s) => s.insertEvents([{ id: 'e', clientId: 'c', user: 'u', type: 't', atMs: 1, payload: {} }], 1),
  (s) => s.queryEvents({ type: 't', limit: 5 }),
  (s) => s.upsertClient({ id: 'c', user: 'u', nowMs: 1, maxClientsPerUser: 3, held: { image: 'win', version: 2, policy: { name: 'p', updatedAtMs: 1 } }, pull: null, workspace: {} }),
  (s) => s.getClientDetail('c'),
  (s) => s.queryClients({ site: 's', image: 'win', search: 'x%', seen: { state: 'online', sinceMs: 1 }, sort: 'host', offset: 1, limit: 5 }),
  (s) => s.countClients('u'),
  (s) => s.insertEvents([{ id: 'e2', clientId: 'c', user: 'u', type: 'pull.completed', atMs: 1, payload: {}, site: 's', offload: { dayMs: 0, site: 's', image: 'win', originBytes: 1, peerBytes: 1, localBytes: 1, decodedOriginBytes: 1, decodedPeerBytes: 1, originBytesByReason: { share: 1 } } }], 1),
  (s) => s.queryEvents({ typeIn: ['a.b'], typeSuffixes: ['.failed'], site: 's', after: { atMs: 1, id: 'e' }, limit: 5 }),
  (s) => s.pruneEvents(1, 10),
  (s) => s.offloadByDay({ fromMs: 0, toMs: 1, site: 's', image: 'win' }),
  (s) => s.pruneOffload(1),
  (s) => s.deploymentCounts({ image: 'win', site: 's' }),
  (s) => s.addUsage('k', 0, 1),
  (s) => s.pruneUsage(1),
  (s) => s.recordReport({
    client: { id: 'c', user: 'u', nowMs: 1, maxClientsPerUser: 3 },
    quota: { key: 'k', windowStartMs: 0, amount: 1, limit: 10 },
    contents: () => ({ state: { held: { image: 'win', version: 2 } }, events: [{ id: 'e3', clientId: 'c', user: 'u', type: 't', atMs: 1, payload: {} }] }),
    storeNow: 1,
    receivedAtMs: 1
  })
]

test('every method sends T-SQL: nothing of SQLite (LIMIT, RETURNING, ON CONFLICT, INSERT OR IGNORE, "quoted" names)', async () => {
  for (const answer of [() => [], oneRow]) {
    const { store, statements } = server(answer)
    for (const call of everyMethod) await call(store).catch(() => {})
    const sent = statements()
    assert.ok(sent.length > everyMethod.length, `only ${sent.length} statements`)
    for (const sql of sent) assert.not.match(sql, /\blimit\b|\breturning\b|on conflict|insert or ignore|"/i)
  }
})

test('rows come back through OUTPUT, limits are TOP, counts come from OUTPUT rows', async () => {
  const { store, statements } = server(oneRow)
  await store.createImage({ name: 'win', nowMs: 1 })
  await store.latestPublished(1)
  assert.is(await store.removeMember('win', 1, 'p'), true)
  const [insert, top, remove] = statements()
  assert.is(insert, 'insert into [images] ([name], [description], [last_version], [created_at]) output INSERTED.[id], INSERTED.[name], INSERTED.[description], INSERTED.[last_version], INSERTED.[created_at] values (@par0, @par1, default, @par2)')
  assert.match(top!, /^select top\(@par0\) \[versions\]\.\[id\], /)
  assert.is(remove, 'delete from [swarm_members] output DELETED.[image] where (([swarm_members].[image] = @par0) and ([swarm_members].[version] = @par1) and ([swarm_members].[peer_id] = @par2))')
})

test('upsertClient is one MERGE WITH (HOLDLOCK) on the id, then reads the row back', async () => {
  const { store, sent } = server(oneRow)
  await store.upsertClient({ id: 'c1', user: 'alice', hostname: 'pc', site: 'paris', agentVersion: '1.0', nowMs: 5 })
  assert.equal(sent[0], {
    sql: 'MERGE [clients] WITH (HOLDLOCK) AS [t] USING (SELECT @par0 AS [id]) AS [src] ON [t].[id] = [src].[id] ' +
      'WHEN MATCHED THEN UPDATE SET [user] = @par1, [hostname] = @par2, [site] = @par3, [agent_version] = @par4, [last_seen_at] = @par5, ' +
      '[online_since] = CASE WHEN [t].[last_seen_at] < @par6 THEN @par7 ELSE [t].[online_since] END ' +
      'WHEN NOT MATCHED THEN INSERT ([id], [user], [hostname], [site], [agent_version], [os], [last_seen_at], [online_since], [created_at]) ' +
      'VALUES (@par8, @par9, @par10, @par11, @par12, @par13, @par14, @par15, @par16);',
    params: ['c1', 'alice', 'pc', 'paris', '1.0', 5, 5 - 300_000, 5, 'c1', 'alice', 'pc', 'paris', '1.0', '', 5, 5, 5]
  })
  assert.is((sent[1] as { sql: string }).sql, 'select [id], [user], [hostname], [site], [agent_version], [os], [last_seen_at], [online_since], ' +
    '[pull_image], [pull_version], [pull_permille], [workspace], [created_at] from [clients] where [clients].[id] = @par0')
  assert.is(sent.length, 2)
})

test('upsertMember MERGEs on (image, version, peer_id); a lapsed member joins again from now', async () => {
  const { store, sent } = server(oneRow)
  const have = new Uint8Array([0xf0])
  await store.upsertMember({ image: 'win', version: 3, peerId: 'p1', clientId: 'c1', site: 'paris', addrs: ['/ip4/1'], have, haveCount: 4, nowMs: 100, ttlMs: 50 })
  assert.equal(sent[0], {
    sql: 'MERGE [swarm_members] WITH (HOLDLOCK) AS [t] USING (SELECT @par0 AS [image], @par1 AS [version], @par2 AS [peer_id]) AS [src] ' +
      'ON [t].[image] = [src].[image] AND [t].[version] = [src].[version] AND [t].[peer_id] = [src].[peer_id] ' +
      'WHEN MATCHED THEN UPDATE SET [client_id] = @par3, [site] = @par4, [addrs] = @par5, [have] = @par6, [have_count] = @par7, [announced_at] = @par8, [expires_at] = @par9, ' +
      '[joined_at] = CASE WHEN [t].[expires_at] < @par10 THEN @par11 ELSE [t].[joined_at] END ' +
      'WHEN NOT MATCHED THEN INSERT ([image], [version], [peer_id], [client_id], [site], [addrs], [have], [have_count], [announced_at], [expires_at], [joined_at]) ' +
      'VALUES (@par12, @par13, @par14, @par15, @par16, @par17, @par18, @par19, @par20, @par21, @par22);',
    params: ['win', 3, 'p1', 'c1', 'paris', '["/ip4/1"]', Buffer.from(have), 4, 100, 150, 100, 100, 'win', 3, 'p1', 'c1', 'paris', '["/ip4/1"]', Buffer.from(have), 4, 100, 150, 100]
  })
})

test('chunk references go in as INSERT … WHERE NOT EXISTS, 2000 ids a statement, inside a transaction', async () => {
  const { store, sent, statements } = server(oneRow)
  const ids = Array.from({ length: 2001 }, (_, i) => i.toString(16).padStart(64, '0'))
  await store.addVersionChunks(7, ids)
  const inserts = sent.filter((s) => typeof s !== 'string' && s.sql.startsWith('INSERT INTO [version_chunks]')) as Array<{ sql: string, params: unknown[] }>
  assert.is(inserts.length, 2)
  assert.is(inserts[1]!.sql, 'INSERT INTO [version_chunks] ([version_id], [chunk_id]) SELECT @par0, src.c FROM (VALUES (@par1)) AS src(c) ' +
    'WHERE NOT EXISTS (SELECT 1 FROM [version_chunks] x WITH (UPDLOCK, HOLDLOCK) WHERE x.[version_id] = @par2 AND x.[chunk_id] = src.c)')
  assert.equal(inserts[1]!.params, [7, ids[2000], 7])
  assert.is(inserts[0]!.params.length, 2002)
  const kinds = statements().map((s) => s.startsWith('INSERT') ? 'INSERT' : s.startsWith('select') ? 'select' : s)
  assert.equal(kinds, ['select', 'BEGIN', 'select', 'INSERT', 'INSERT', 'COMMIT'])
})

test('publish takes the image row lock, reads the draft again, then looks for a higher published number', async () => {
  const { store, statements } = server((sql) => sql.startsWith('select top') ? [] : oneRow(sql))
  await store.publish(7, 9)
  const sent = statements().map((s) => s.replace(/^select \[versions\]\.\[id\].* where \[versions\]\.\[id\] = @par0$/, 'read draft'))
  assert.equal(sent.slice(0, 4), ['BEGIN', 'read draft', 'UPDATE [images] SET [last_version] = [last_version] WHERE [id] = @par0', 'read draft'])
  assert.is(sent[4], 'select top(@par0) [number] from [versions] where (([versions].[image_id] = @par1) and ([versions].[number] > @par2) and (([versions].[published_at] is not null)))')
  assert.is(sent[5], 'update [versions] set [state] = @par0, [published_at] = @par1 output INSERTED.[id] where [versions].[id] = @par2')
  assert.is(sent[6], 'COMMIT')
})

test('unique violations (2627, 2601) become ERR_STORE_CONFLICT, and roll the transaction back', async () => {
  const a = server((sql) => sql.startsWith('insert into [images]') ? uniqueViolation(2627) : [])
  await rejects(a.store.createImage({ name: 'win', nowMs: 1 }), { code: 'ERR_STORE_CONFLICT' })
  const b = server((sql) => sql.startsWith('insert into [assignments]') ? uniqueViolation(2601) : oneRow(sql))
  await rejects(b.store.assign({ policyId: 1, subjectKind: 'user', subject: 'u', nowMs: 1 }), { code: 'ERR_STORE_CONFLICT' })
  assert.is(b.statements().at(-1), 'ROLLBACK')
})

test('events another process stored meanwhile: the batch falls back to one row at a time', async () => {
  let inserts = 0
  const { store, statements } = server((sql, params) => {
    if (!sql.startsWith('insert into [events]')) return []
    inserts++
    // the batch meets a row stored since it looked; alone, 'b' is that duplicate
    return inserts === 1 || params[0] === 'b' ? uniqueViolation(2627) : []
  })
  const e = (id: string) => ({ id, clientId: 'c', user: 'u', type: 't', atMs: 1, payload: {} })
  assert.equal(await store.insertEvents([e('a'), e('b'), e('a')], 1), { inserted: 1, duplicates: 2 })
  assert.equal(statements().map((s) => s.split(' (')[0]), [
    'BEGIN', 'select [id] from [events] where [events].[id] in', 'insert into [events]', 'ROLLBACK',
    'BEGIN', 'insert into [events]', 'COMMIT', 'BEGIN', 'insert into [events]', 'ROLLBACK'
  ])
})

test('recordReport: the quota, the client row and the first events in one transaction', async () => {
  const { store, statements } = server((sql) => sql.startsWith('select [id] from [events]') ? [] : oneRow(sql))
  const event = (id: string) => ({ id, clientId: 'c1', user: 'alice', type: 'pull.completed', atMs: 1, payload: {} })
  const seen: unknown[] = []
  const result = await store.recordReport({
    client: { id: 'c1', user: 'alice', site: 'paris', nowMs: 5, maxClientsPerUser: 3 },
    quota: { key: 'events:alice', windowStartMs: 0, amount: 2, limit: 100 },
    contents: (current) => {
      seen.push(current?.id)
      return { state: { held: { image: 'win', version: 2 } }, events: [event('e1'), event('e2')] }
    },
    storeNow: 1,
    receivedAtMs: 5
  })
  assert.equal(result, { stored: true, inserted: 1, duplicates: 0, pending: [event('e2')] })
  assert.equal(seen, [7], 'contents saw the row read inside the transaction')
  const kinds = statements().map((s) => /^(BEGIN|COMMIT|ROLLBACK|MERGE \[\w+\]|select .* from \[\w+\]|insert into \[\w+\]|update \[\w+\])/.exec(s)?.[1]?.replace(/^select .* from/, 'select from') ?? s)
  assert.equal(kinds, [
    'BEGIN',
    'MERGE [usage_counters]', 'select from [usage_counters]',
    // the client row read once: it is known, so the cap is not counted
    'select from [clients]',
    'MERGE [clients]', 'select from [clients]', 'MERGE [client_images]', 'select from [client_images]',
    'select from [events]', 'insert into [events]',
    'COMMIT'
  ])
})

test('recordReport past the quota: the count is committed, nothing else is read or written', async () => {
  const { store, statements } = server((sql) => sql.startsWith('select [key]') ? [['events:alice', 0, 101]] : oneRow(sql))
  const result = await store.recordReport({
    client: { id: 'c1', user: 'alice', nowMs: 5 },
    quota: { key: 'events:alice', windowStartMs: 0, amount: 2, limit: 100 },
    contents: () => { throw new Error('not asked') },
    storeNow: 100,
    receivedAtMs: 5
  })
  assert.equal(result, { stored: false, quotaUsed: 101 })
  assert.equal(statements().map((s) => s.split(' ')[0]), ['BEGIN', 'MERGE', 'select', 'COMMIT'])
})

test.run()
