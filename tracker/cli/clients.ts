// `branchcast clients list|show`: the nodes the tracker has heard from (admin token).
import { UsageError, defineCommand, integer, readFlag, renderTable } from '../../protocol/index.ts'
import type { Client, ClientList } from '../../protocol/index.ts'

const HELP = `Usage: branchcast clients <command> [options]

  clients list          the clients (nodes), most recently seen first
  clients show ID       one client: images held, pull, workspaces

Options (list):
  --site S          only clients of this site
  --user U          only clients of this user
  --image NAME      only clients holding a version of this image
  --status S        online or offline
  --search TEXT     substring of id, host or user
  --sort KEY        lastSeen, firstSeen, host, user, site or id
  --limit N         at most N clients (default 100, at most 1000)
  --offset N        skip the first N`

const ACTIONS = ['list', 'show']

const command = defineCommand({
  name: 'clients',
  usage: HELP,
  flags: { site: 'string', user: 'string', image: 'string', status: 'string', search: 'string', sort: 'string', limit: 'string', offset: 'string' },
  positionals: true,
  api: true,
  json: 'one JSON document (the API\'s answer) instead of a table'
})

const when = (ms: number | null): string => ms === null ? '-' : new Date(ms).toISOString().slice(0, 19) + 'Z'

function detail (c: Client): string {
  const lines = [
    `id:           ${c.id}`,
    `user:         ${c.user}`,
    `host:         ${c.host}`,
    `site:         ${c.site}`,
    `os:           ${c.os}`,
    `node version: ${c.nodeVersion}`,
    `status:       ${c.online ? `online since ${when(c.onlineSinceMs)}` : 'offline'}`,
    `last seen:    ${when(c.lastSeenAtMs)}`,
    `first seen:   ${when(c.firstSeenAtMs)}`,
    `pull:         ${c.pull === null ? '-' : `${c.pull.image} v${c.pull.version} ${Math.floor(c.pull.progress * 100)}%`}`
  ]
  for (const i of c.images) lines.push(`image:        ${i.image} v${i.version} since ${when(i.heldSinceMs)}${i.policy === '' ? '' : ` (policy ${i.policy})`}`)
  for (const [image, w] of Object.entries(c.workspace ?? {})) lines.push(`workspace:    ${image} ${w.state}`)
  return lines.join('\n')
}

export async function main (argv: string[]): Promise<number> {
  const cli = command.parse(argv)
  if (cli === undefined) return 0
  const { values, positionals } = cli
  const [action, id] = positionals
  if (action === undefined || !ACTIONS.includes(action)) throw new UsageError(`needs a command (${ACTIONS.join(', ')})`)
  const client = cli.client()
  const signal = AbortSignal.timeout(30_000)
  if (action === 'show') {
    if (id === undefined) throw new UsageError('show needs a client ID')
    const one = await client.json<Client>('GET', `/api/v1/clients/${encodeURIComponent(id)}`, { signal })
    cli.print(one, () => detail(one))
    return 0
  }
  if (values.status !== undefined && values.status !== 'online' && values.status !== 'offline') throw new UsageError('--status is online or offline')
  const limit = readFlag('--limit', values.limit, integer(1, 1000))
  const offset = readFlag('--offset', values.offset, integer(0, 100_000))
  const answer = await client.json<ClientList>('GET', '/api/v1/clients', {
    query: { site: values.site, user: values.user, image: values.image, status: values.status, q: values.search, sort: values.sort, limit, offset },
    signal
  })
  cli.print(answer, () => answer.clients.length === 0
    ? 'no clients'
    : renderTable(
      [{ header: 'ID' }, { header: 'USER' }, { header: 'HOST' }, { header: 'SITE' }, { header: 'STATUS', truncate: false }, { header: 'LAST SEEN', truncate: false }, { header: 'IMAGES' }],
      answer.clients.map((c) => [c.id, c.user, c.host, c.site, c.online ? 'online' : 'offline', when(c.lastSeenAtMs), c.images.map((i) => `${i.image}@${i.version}`).join(' ')]),
      { width: cli.columns }
    ) + (answer.nextOffset === null ? '' : `\n${answer.clients.length} of ${answer.total}; next: --offset ${answer.nextOffset}`))
  return 0
}
