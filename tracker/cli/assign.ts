// `branchcast assign|unassign --policy P --user U | --group G`, and `assign --list`: over the API.
import { parseArgs } from 'node:util'
import { clientFromFlags } from '../../protocol/index.ts'
import type { Assignment, AssignmentList } from '../../protocol/index.ts'

const HELP = `Usage: branchcast assign --policy P (--user U | --group G)
       branchcast unassign --policy P (--user U | --group G)
       branchcast assign --list [--policy P] [--user U | --group G]

Gives (or takes away) a usage policy to a user or a group. When several policies for
the same image reach a user, the highest priority wins, then a direct user assignment
over a group one, then the older policy.

  --tracker URL   tracker              [env BRANCHCAST_TRACKER]
  --token T       admin API token      [env BRANCHCAST_TOKEN]
  --json          machine-readable output
  -h, --help      this help`

const OPTIONS = {
  policy: { type: 'string' },
  user: { type: 'string' },
  group: { type: 'string' },
  list: { type: 'boolean' },
  tracker: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' }
} as const

async function run (verb: 'assign' | 'unassign', argv: string[]): Promise<number> {
  const fail = (message: string, code = 2): number => { process.stderr.write(`branchcast ${verb}: ${message}\n`); return code }
  let values
  try {
    values = parseArgs({ args: argv, options: OPTIONS, strict: true }).values
  } catch (err) {
    return fail(`${(err as Error).message}\n\n${HELP}`)
  }
  if (values.help === true) { process.stdout.write(`${HELP}\n`); return 0 }
  const json = values.json === true
  const target = { policy: values.policy, user: values.user, group: values.group }
  try {
    const client = clientFromFlags({ tracker: values.tracker, token: values.token })
    if (values.list === true) {
      if (verb !== 'assign') return fail('--list is for assign')
      const { assignments } = await client.json<AssignmentList>('GET', '/api/v1/assignments', { query: target })
      process.stdout.write(json
        ? `${JSON.stringify(assignments)}\n`
        : `${assignments.map((a) => `${a.policy}\t${a.kind}\t${a.subject}`).join('\n')}${assignments.length > 0 ? '\n' : ''}`)
      return 0
    }
    if (values.policy === undefined) return fail('needs --policy')
    if ((values.user === undefined) === (values.group === undefined)) return fail('needs exactly one of --user or --group')
    const who = values.user !== undefined ? `user ${values.user}` : `group ${values.group ?? ''}`
    if (verb === 'assign') {
      const a = await client.json<Assignment>('POST', '/api/v1/assignments', { json: target })
      process.stdout.write(json ? `${JSON.stringify(a)}\n` : `assigned policy ${a.policy} to ${who}\n`)
    } else {
      const r = await client.json<unknown>('DELETE', '/api/v1/assignments', { query: target })
      process.stdout.write(json ? `${JSON.stringify(r)}\n` : `unassigned policy ${values.policy} from ${who}\n`)
    }
    return 0
  } catch (err) {
    return fail((err as Error).message, err instanceof TypeError ? 2 : 1)
  }
}

export async function main (argv: string[]): Promise<number> { return await run('assign', argv) }
export async function unassignMain (argv: string[]): Promise<number> { return await run('unassign', argv) }
