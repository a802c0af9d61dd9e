// `branchcast events`: query the events nodes reported (admin token), over the tracker's API.
import { defineCommand, integer, parseDurationMs, readFlag, renderTable } from '../../protocol/index.ts'
import type { EventList } from '../../protocol/index.ts'

const HELP = `Usage: branchcast events [options]

Lists client events stored by the tracker, newest first (needs an admin token).

Options:
  --type T          only events of this type (pull.completed, peer.banned, …)
  --client C        only events from this client (node) id
  --user U          only events of this user
  --since D         only events from the last D: 90s, 15m, 1h, 7d, 1d12h
  --limit N         at most N events (default 100, at most 10000)`

const command = defineCommand({
  name: 'events',
  usage: HELP,
  flags: { type: 'string', client: 'string', user: 'string', since: 'string', limit: 'string' },
  api: true,
  json: 'one JSON document (the API\'s answer) instead of a table'
})

export async function main (argv: string[]): Promise<number> {
  const cli = command.parse(argv)
  if (cli === undefined) return 0
  const { values } = cli
  readFlag('--since', values.since, parseDurationMs) // the API reads the text; refuse a typo before asking
  const limit = readFlag('--limit', values.limit, integer(1, 10_000)) ?? 100
  const answer = await cli.client().json<EventList>('GET', '/api/v1/events', {
    query: { type: values.type, client: values.client, user: values.user, since: values.since, limit },
    signal: AbortSignal.timeout(30_000)
  })
  cli.print(answer, () => answer.events.length === 0
    ? 'no events'
    : renderTable(
      [{ header: 'AT', truncate: false }, { header: 'TYPE' }, { header: 'USER' }, { header: 'CLIENT' }, { header: 'PAYLOAD' }],
      answer.events.map((e) => [new Date(e.atMs).toISOString(), e.type, e.user, e.clientId, JSON.stringify(e.payload) ?? '']),
      { width: cli.columns }
    ))
  return 0
}
