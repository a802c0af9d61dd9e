// `branchcast token create|list|revoke`: API tokens. Without --tracker it runs on the
// tracker host against the data directory's database (how the very first admin token is
// made); with --tracker it goes through the API with an admin token.
import { mkdir } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { clientFromFlags, createLogger } from '../../protocol/index.ts'
import type { ApiClient, IssuedToken, Token, TokenList } from '../../protocol/index.ts'
import { loadTrackerConfig } from '../config.ts'
import { openStore } from '../db/index.ts'
import { createIdentity, tokenView } from '../identity/index.ts'
import { isTrackerError } from '../errors.ts'

const HELP = `Usage: branchcast token <create|list|revoke> [options]

  token create --user U [--group G]… [--admin] [--machine] [--label L] [--expires 30d]
      Issues a token and prints it (only the token; --json for the whole record).
      The token is shown once: it is stored hashed.
  token list [--user U]
  token revoke ID

Where (default: this host's data directory):
  --data DIR        tracker data directory        [env BRANCHCAST_DATA, default .data/tracker]
  --db URL          database URL instead           [env BRANCHCAST_DB]
  --config FILE     tracker config file            [env BRANCHCAST_CONFIG]
  --tracker URL     go through the API of a running tracker instead (needs an admin --token)
  --token T         admin API token for --tracker  [env BRANCHCAST_TOKEN]

  --json            machine-readable output
  -h, --help        this help`

const OPTIONS = {
  user: { type: 'string' },
  group: { type: 'string', multiple: true },
  admin: { type: 'boolean' },
  machine: { type: 'boolean' },
  label: { type: 'string' },
  expires: { type: 'string' },
  data: { type: 'string' },
  db: { type: 'string' },
  config: { type: 'string' },
  tracker: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' }
} as const

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS, allowPositionals: true }>>['values']

/** One backend per place the tokens live: the database on this host, or a tracker's API. */
interface TokenBackend {
  create: (input: { user: string, groups: string[], admin: boolean, kind: 'user' | 'machine', label: string, expiresIn?: string }) => Promise<IssuedToken>
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

function table (tokens: Token[]): string {
  const rows = [['ID', 'USER', 'GROUPS', 'ADMIN', 'KIND', 'STATUS', 'EXPIRES', 'LAST USED', 'LABEL']]
  for (const t of tokens) rows.push([String(t.id), t.user, t.groups.join(','), t.admin ? 'yes' : '', t.kind, t.status, t.expiresAt ?? 'never', t.lastUsedAt ?? '-', t.label])
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n')
}

export async function main (argv: string[]): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true })
  } catch (err) {
    process.stderr.write(`branchcast token: ${(err as Error).message}\n\n${HELP}\n`)
    return 2
  }
  const { values, positionals } = parsed
  const [action, ...rest] = positionals
  if (values.help === true || action === undefined) { process.stdout.write(`${HELP}\n`); return values.help === true ? 0 : 2 }
  const fail = (message: string, code = 2): number => { process.stderr.write(`branchcast token: ${message}\n`); return code }
  if (!['create', 'list', 'revoke'].includes(action)) return fail(`unknown action "${action}" (create, list or revoke)`)

  let backend: TokenBackend
  try {
    backend = values.tracker !== undefined ? apiBackend(clientFromFlags({ tracker: values.tracker, token: values.token })) : await localBackend(values)
  } catch (err) {
    return fail((err as Error).message, 1)
  }
  try {
    if (action === 'create') {
      if (values.user === undefined || values.user === '') return fail('create needs --user')
      const issued = await backend.create({
        user: values.user,
        groups: values.group ?? [],
        admin: values.admin === true,
        kind: values.machine === true ? 'machine' : 'user',
        label: values.label ?? '',
        ...(values.expires === undefined ? {} : { expiresIn: values.expires })
      })
      // Only the token on stdout, so `TOKEN=$(branchcast token create …)` works.
      process.stdout.write(values.json === true ? `${JSON.stringify(issued)}\n` : `${issued.token}\n`)
      return 0
    }
    if (action === 'list') {
      const tokens = await backend.list(values.user)
      process.stdout.write(values.json === true ? `${JSON.stringify(tokens)}\n` : `${table(tokens)}\n`)
      return 0
    }
    const id = Number(rest[0])
    if (!Number.isSafeInteger(id) || id < 1) return fail('revoke needs a token ID (see "token list")')
    const revoked = await backend.revoke(id)
    if (revoked === undefined) return fail(`no token ${id}`, 1)
    process.stdout.write(values.json === true ? `${JSON.stringify(revoked)}\n` : `revoked token ${id} (${revoked.user})\n`)
    return 0
  } catch (err) {
    return fail((err as Error).message, 1)
  } finally {
    await backend.close()
  }
}
