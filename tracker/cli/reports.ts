// `branchcast reports status|activity|errors|offload|deployment`: the tracker's reports
// (admin token) as a table, JSON (--json) or CSV streamed to stdout (--csv).
import { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { Readable } from 'node:stream'
import { REPORT_NAMES, UsageError, defineCommand, formatBytes, integer, parseDurationMs, parseTimeMs, readFlag, renderTable } from '../../protocol/index.ts'
import type { ReportAnswer, ReportName, ReportRow } from '../../protocol/index.ts'

const HELP = `Usage: branchcast reports <report> [options]

  reports status        per client: user, host, site, workspace, versions
  reports activity      every event: client/received time, severity, description
  reports errors        errors and warnings only
  reports offload       WAN offload per site and day: origin/peer/local bytes
  reports deployment    per image version: clients on it, pulling, lagging since

Options:
  --csv             every row as CSV on stdout (streamed; no --limit)
  --since D         from D ago: 90s, 15m, 1h, 7d
  --from T          from this time (epoch ms or ISO 8601)
  --to T            before this time
  --site S          only this site
  --image NAME      only this image
  --user U          only this user
  --host H          only this host
  --type T          activity: only this event type
  --sort KEY        status: lastSeen, host, user, site, firstSeen;
                    offload: day, site, originBytes, offload;
                    deployment: image, clients, lagging
  --order O         asc or desc
  --limit N         rows in the page (default 100, at most 1000)
  --cursor C        the page after the one that printed this cursor`

const command = defineCommand({
  name: 'reports',
  usage: HELP,
  flags: {
    csv: 'boolean', since: 'string', from: 'string', to: 'string', site: 'string', image: 'string', user: 'string', host: 'string',
    type: 'string', sort: 'string', order: 'string', limit: 'string', cursor: 'string'
  },
  positionals: true,
  api: true,
  json: 'one JSON document (the API\'s answer) instead of a table'
})

const when = (ms: number | null): string => ms === null ? '-' : new Date(ms).toISOString().slice(0, 19) + 'Z'
const pct = (x: number): string => `${Math.round(x * 100)}%`
const right = { align: 'right', truncate: false } as const

/** The table of each report: its most telling columns (--json and --csv have them all). */
function table<N extends ReportName> (name: N, rows: Array<ReportRow<N>>, width: number): string {
  switch (name) {
    case 'status': return renderTable(
      [{ header: 'USER' }, { header: 'HOST' }, { header: 'SITE' }, { header: 'ONLINE SINCE', truncate: false }, { header: 'LAST SEEN', truncate: false }, { header: 'VERSION' }, { header: 'IMAGES' }, { header: 'WORKSPACE' }],
      (rows as Array<ReportRow<'status'>>).map((r) => [r.user, r.host, r.site, when(r.onlineSinceMs), when(r.lastSeenAtMs), r.clientVersion, r.imageVersions, r.workspace]),
      { width })
    case 'activity':
    case 'errors': return renderTable(
      [{ header: 'CLIENT TIME', truncate: false }, { header: 'RECEIVED', truncate: false }, { header: 'SEVERITY' }, { header: 'CATEGORY' }, { header: 'HOST' }, { header: 'DESCRIPTION' }],
      (rows as Array<ReportRow<'activity'>>).map((r) => [when(r.atMs), when(r.receivedAtMs), r.severity, r.category, r.host, r.description]),
      { width })
    case 'offload': return renderTable(
      [{ header: 'DAY', truncate: false }, { header: 'SITE' }, { header: 'PULLS', ...right }, { header: 'ORIGIN', ...right }, { header: 'PEERS', ...right }, { header: 'LOCAL', ...right }, { header: 'OFFLOAD', ...right }],
      (rows as Array<ReportRow<'offload'>>).map((r) => [r.day, r.site, String(r.pulls), formatBytes(r.originBytes), formatBytes(r.peerBytes), formatBytes(r.localBytes), pct(r.offload)]),
      { width })
    case 'deployment': return renderTable(
      [{ header: 'IMAGE' }, { header: 'VERSION', ...right }, { header: 'STATE' }, { header: 'CLIENTS', ...right }, { header: 'PULLING', ...right }, { header: 'LAGGING', ...right }, { header: 'BEHIND SINCE', truncate: false }],
      (rows as Array<ReportRow<'deployment'>>).map((r) => [r.image, String(r.version), r.current ? 'current' : r.state, String(r.clients), String(r.pulling), String(r.lagging), when(r.behindSinceMs)]),
      { width })
  }
  throw new TypeError(`unhandled report ${String(name)}`)
}

export async function main (argv: string[], io: { stdout: NodeJS.WritableStream } = { stdout: process.stdout }): Promise<number> {
  const cli = command.parse(argv)
  if (cli === undefined) return 0
  const { values, positionals } = cli
  const [name] = positionals
  if (name === undefined || !(REPORT_NAMES as readonly string[]).includes(name)) throw new UsageError(`needs a report (${REPORT_NAMES.join(', ')})`)
  if (values.csv === true && cli.json) throw new UsageError('--csv and --json are two different outputs: pick one')
  if (values.csv === true && (values.limit !== undefined)) throw new UsageError('--csv streams every row: --limit applies to pages (drop it, or use --json)')
  // refuse typos here, before asking: the API reads the same text
  readFlag('--since', values.since, parseDurationMs)
  for (const [flag, v] of [['--from', values.from], ['--to', values.to]] as const) {
    if (v !== undefined && parseTimeMs(v) === undefined) throw new UsageError(`${flag}: not epoch ms or an ISO 8601 time`)
  }
  if (values.order !== undefined && values.order !== 'asc' && values.order !== 'desc') throw new UsageError('--order is asc or desc')
  const limit = readFlag('--limit', values.limit, integer(1, 1000))
  const query = {
    since: values.since, from: values.from, to: values.to, site: values.site, image: values.image, user: values.user, host: values.host,
    type: values.type, sort: values.sort, order: values.order, limit, cursor: values.cursor
  }
  const client = cli.client()
  const path = `/api/v1/reports/${name}`
  if (values.csv === true) {
    const res = await client.request('GET', path, { query: { ...query, format: 'csv' } })
    if (res.body === null) return 0
    // Streamed as it arrives: a report of every event never sits in memory.
    const out = io.stdout
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>), new Writable({
      write (chunk, _enc, done) { if (out.write(chunk)) done(); else out.once('drain', () => done()) }
    }))
    return 0
  }
  const answer = await client.json<ReportAnswer>('GET', path, { query, signal: AbortSignal.timeout(60_000) })
  cli.print(answer, () => (answer.rows.length === 0 ? `no rows` : table(name as ReportName, answer.rows as Array<ReportRow<ReportName>>, cli.columns)) +
    (answer.nextCursor === null ? '' : `\nmore: --cursor ${answer.nextCursor}`))
  return 0
}
