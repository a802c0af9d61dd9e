// `branchcast events`: query the events nodes reported (admin token), over the tracker's API.
import { parseArgs } from 'node:util'
import { clientFromFlags } from '../../protocol/index.ts'
import type { EventList } from '../../protocol/index.ts'

const HELP = `Usage: branchcast events [options]

Lists client events stored by the tracker, newest first (needs an admin token).

Options:
  --type T          only events of this type (pull.completed, peer.banned, …)
  --client C        only events from this client (node) id
  --user U          only events of this user
  --since D         only events from the last D: 90s, 15m, 1h, 7d
  --limit N         at most N events (default 100, at most 10000)
  --json            one JSON document (the API's answer) instead of a table
  --tracker URL     tracker base URL        [env BRANCHCAST_TRACKER, default http://127.0.0.1:8470]
  --token TOKEN     API token               [env BRANCHCAST_TOKEN]
  -h, --help        this help`

/** A payload in one short line for the table. */
function summary (payload: unknown, maxChars = 80): string {
  const s = JSON.stringify(payload) ?? ''
  return s.length > maxChars ? `${s.slice(0, maxChars - 1)}…` : s
}

export async function main (argv: string[]): Promise<number> {
  let values
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        type: { type: 'string' },
        client: { type: 'string' },
        user: { type: 'string' },
        since: { type: 'string' },
        limit: { type: 'string' },
        json: { type: 'boolean' },
        tracker: { type: 'string' },
        token: { type: 'string' },
        help: { type: 'boolean', short: 'h' }
      },
      strict: true
    }))
  } catch (err) {
    process.stderr.write(`branchcast events: ${(err as Error).message}\n\n${HELP}\n`)
    return 2
  }
  if (values.help === true) { console.log(HELP); return 0 }
  if (values.since !== undefined && !/^\d{1,9}(ms|s|m|h|d)$/.test(values.since)) {
    process.stderr.write('branchcast events: --since must look like 90s, 15m, 1h or 7d\n')
    return 2
  }
  if (values.limit !== undefined && !/^\d{1,5}$/.test(values.limit)) {
    process.stderr.write('branchcast events: --limit must be a number\n')
    return 2
  }
  try {
    const api = clientFromFlags({ tracker: values.tracker, token: values.token })
    const answer = await api.json<EventList>('GET', '/api/v1/events', {
      query: { type: values.type, client: values.client, user: values.user, since: values.since, limit: values.limit ?? 100 },
      signal: AbortSignal.timeout(30_000)
    })
    if (values.json === true) {
      process.stdout.write(JSON.stringify(answer) + '\n')
      return 0
    }
    if (answer.events.length === 0) { process.stdout.write('no events\n'); return 0 }
    const rows = answer.events.map((e) => [new Date(e.atMs).toISOString(), e.type, e.user, e.clientId, summary(e.payload)])
    const head = ['AT', 'TYPE', 'USER', 'CLIENT', 'PAYLOAD']
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
    for (const r of [head, ...rows]) process.stdout.write(r.map((c, i) => i === r.length - 1 ? c : c.padEnd(widths[i]!)).join('  ') + '\n')
    return 0
  } catch (err) {
    process.stderr.write(`branchcast events: ${(err as Error).message}\n`)
    return 1
  }
}
