// `branchcast token create|list|revoke`: API tokens. With a tracker URL (--tracker or
// BRANCHCAST_TRACKER) it goes through the API with an admin token; without one it runs on
// the tracker host against the data directory's database (how the very first admin token
// is made). A --token with no tracker URL is refused: it would be silently ignored.
import { mkdir } from 'node:fs/promises'
import { UsageError, clientFromFlags, defineCommand, integer, readFlag, renderTable } from '../../protocol/index.ts'
import type { FlagValues } from '../../protocol/index.ts'
import type { ApiClient, IssuedToken, Role, Token, TokenList } from '../../protocol/index.ts'
import { createLogger } from '../../protocol/index.ts'
import { loadTrackerConfig } from '../config.ts'
import { openStore } from '../db/index.ts'
import { createIdentity, tokenView } from '../identity/index.ts'
import { isTrackerError } from '../errors.ts'

const HELP = `Usage: branchcast token <create|list|revoke> [options]

  token create --user U [--group G]… [--admin | --read-only-admin]
               [--machine] [--label L] [--expires 30d]
      Issues a token and prints it (only the token; --json for the whole
      record). The token is shown once: it is stored hashed. A read-only
      admin sees everything and changes nothing.
  token list [--user U]
  token revoke ID

Where the tokens live (default: this host's data directory):
  --data DIR        tracker data directory (default .data/tracker)
                    [env BRANCHCAST_DATA]
  --db URL          database URL instead [env BRANCHCAST_DB]
  --config FILE     tracker config file [env BRANCHCAST_CONFIG]
  --tracker URL     a running tracker's API instead (with an admin --token)
                    [env BRANCHCAST_TRACKER]
  --token T         admin API token for --tracker [env BRANCHCAST_TOKEN]`

const TOKEN_FLAGS = {
  user: 'string', group: 'string[]', admin: 'boolean', 'read-only-admin': 'boolean', machine: 'boolean', label: 'string', expires: 'string',
  data: 'string', db: 'string', config: 'string', tracker: 'string', token: 'string'
} as const

const ACTIONS = ['create', 'list', 'revoke']

const command = defineCommand({ name: 'token', usage: HELP, flags: TOKEN_FLAGS, positionals: true, json: true })

type Values = FlagValues<typeof TOKEN_FLAGS>

const nonEmpty = (v: string | undefined): string | undefined => v === undefined || v === '' ? undefined : v

/** One backend per place the tokens live: the database on this host, or a tracker's API. */
interface TokenBackend {
  create: (input: { user: string, groups: string[], role: Role, kind: 'user' | 'machine', label: string, expiresIn?: string }) => Promise<IssuedToken>
  list: (user?: string) => Promise<Token[]>
  revoke: (id: number) => Promise<Token | undefined>
  close: () => Promise<void>
}

async function localBackend (values: Values): Promise<TokenBackend> {
  const config = loadTrackerConfig({ flags: { config: values.config, dataDir: values.data, db: values.db } })
  // The first token may be made before the tracker ever ran: create the data directory.
  if (config.db.startsWith('sqlite:')) await mkdir(config.dataDir, { recursive: true, mode: 0o700 })
  const store = await openStore({ url: config.db })
  // The same service the API uses, so a token made here follows the same rules.
  const identity = createIdentity({ store, now: Date.now, logger: createLogger({ level: 'silent' }) })
  const by = 'branchcast token (local)'
  return {
    async create (input) {
      const { token, record } = await identity.issue(input, by)
      return { ...tokenView(record, Date.now()), token }
    },
    async list (user) {
      const nowMs = Date.now()
      return (await identity.list({ user })).map((t) => tokenView(t, nowMs))
    },
    async revoke (id) {
      try {
        return tokenView(await identity.revoke(id, by), Date.now())
      } catch (err) {
        if (isTrackerError(err, 'ERR_NOT_FOUND')) return undefined
        throw err
      }
    },
    async close () { await store.close() }
  }
}

function apiBackend (client: ApiClient): TokenBackend {
  return {
    async create (input) {
      return await client.json('POST', '/api/v1/tokens', { json: input })
    },
    async list (user) {
      return (await client.json<TokenList>('GET', '/api/v1/tokens', { query: { user } })).tokens
    },
    async revoke (id) {
      try {
        return await client.json<Token>('DELETE', `/api/v1/tokens/${id}`)
      } catch (err) {
        if ((err as { status?: number }).status === 404) return undefined
        throw err
      }
    },
    async close () {}
  }
}

function table (tokens: Token[], width: number): string {
  return renderTable(
    [{ header: 'ID', truncate: false }, { header: 'USER' }, { header: 'GROUPS' }, { header: 'ROLE' }, { header: 'KIND' }, { header: 'STATUS' }, { header: 'EXPIRES', truncate: false }, { header: 'LAST USED', truncate: false }, { header: 'LABEL' }],
    tokens.map((t) => [String(t.id), t.user, t.groups.join(','), t.role === 'user' ? '' : t.role, t.kind, t.status, t.expiresAt ?? 'never', t.lastUsedAt ?? '-', t.label]),
    { width }
  )
}

export async function main (argv: string[]): Promise<number> {
  const cli = command.parse(argv)
  if (cli === undefined) return 0
  const { values, positionals } = cli
  const [action, ...rest] = positionals
  if (action === undefined || !ACTIONS.includes(action)) throw new UsageError(`${action === undefined ? 'needs an action' : `unknown action "${action}"`} (create, list or revoke)`)
  if (action === 'revoke' && rest[0] === undefined) throw new UsageError('revoke needs a token ID (see "token list")')
  const id = action === 'revoke' ? readFlag('ID', rest[0] ?? '', integer(1)) : 0
  if (action === 'create' && (values.user === undefined || values.user === '')) throw new UsageError('create needs --user')
  if (values.admin === true && values['read-only-admin'] === true) throw new UsageError('give --admin or --read-only-admin, not both')

  // The tracker URL from the flag or the environment, as every other command reads it: an
  // admin who exported BRANCHCAST_TRACKER means that tracker, not a database on this host.
  const trackerUrl = values.tracker ?? nonEmpty(process.env.BRANCHCAST_TRACKER)
  if (trackerUrl === undefined && values.token !== undefined) throw new UsageError('--token is for a tracker\'s API: give --tracker URL (or BRANCHCAST_TRACKER), or leave --token out to use this host\'s database')
  const backend = trackerUrl !== undefined ? apiBackend(clientFromFlags({ tracker: trackerUrl, token: values.token })) : await localBackend(values)
  try {
    if (action === 'create') {
      const issued = await backend.create({
        user: values.user ?? '',
        groups: values.group ?? [],
        role: values.admin === true ? 'admin' : values['read-only-admin'] === true ? 'read-only-admin' : 'user',
        kind: values.machine === true ? 'machine' : 'user',
        label: values.label ?? '',
        ...(values.expires === undefined ? {} : { expiresIn: values.expires })
      })
      // Only the token on stdout, so `TOKEN=$(branchcast token create …)` works.
      cli.print(issued, issued.token)
      return 0
    }
    if (action === 'list') {
      const tokens = await backend.list(values.user)
      cli.print(tokens, () => table(tokens, cli.columns))
      return 0
    }
    const revoked = await backend.revoke(id)
    if (revoked === undefined) throw new Error(`no token ${id}`)
    cli.print(revoked, `revoked token ${id} (${revoked.user})`)
    return 0
  } finally {
    await backend.close()
  }
}
