// `branchcast assign|unassign --policy P --user U | --group G`, and `assign --list`: over the API.
import { UsageError, defineCommand } from '../../protocol/index.ts'
import type { Assignment, AssignmentList } from '../../protocol/index.ts'

const HELP = `Usage: branchcast assign --policy P (--user U | --group G)
       branchcast unassign --policy P (--user U | --group G)
       branchcast assign --list [--policy P] [--user U | --group G]

Gives (or takes away) a usage policy to a user or a group. When several policies
for the same image reach a user, the highest priority wins, then a direct user
assignment over a group one, then the older policy. --list prints one assignment
a line, tab-separated: policy, kind (user or group), subject.

Options:
  --policy P        the policy
  --user U          a user
  --group G         a group
  --list            list assignments (of --policy, --user or --group if given)`

const FLAGS = { policy: 'string', user: 'string', group: 'string', list: 'boolean' } as const
const COMMANDS = {
  assign: defineCommand({ name: 'assign', usage: HELP, flags: FLAGS, api: true, json: true }),
  unassign: defineCommand({ name: 'unassign', usage: HELP, flags: FLAGS, api: true, json: true })
}

async function run (verb: 'assign' | 'unassign', argv: string[]): Promise<number> {
  const cli = COMMANDS[verb].parse(argv)
  if (cli === undefined) return 0
  const { values } = cli
  const target = { policy: values.policy, user: values.user, group: values.group }
  if (values.list === true) {
    if (verb !== 'assign') throw new UsageError('--list is for assign')
    const { assignments } = await cli.client().json<AssignmentList>('GET', '/api/v1/assignments', { query: target })
    // tab-separated, not a padded table, and nothing at all for none: the form `cut` and
    // `while read` have always read
    if (cli.json || assignments.length > 0) cli.print(assignments, () => assignments.map((a) => `${a.policy}\t${a.kind}\t${a.subject}`).join('\n'))
    return 0
  }
  if (values.policy === undefined) throw new UsageError('needs --policy')
  if ((values.user === undefined) === (values.group === undefined)) throw new UsageError('needs exactly one of --user or --group')
  const who = values.user !== undefined ? `user ${values.user}` : `group ${values.group ?? ''}`
  if (verb === 'assign') {
    const a = await cli.client().json<Assignment>('POST', '/api/v1/assignments', { json: target })
    cli.print(a, `assigned policy ${a.policy} to ${who}`)
  } else {
    const r = await cli.client().json<unknown>('DELETE', '/api/v1/assignments', { query: target })
    cli.print(r, `unassigned policy ${values.policy} from ${who}`)
  }
  return 0
}

export async function main (argv: string[]): Promise<number> { return await run('assign', argv) }
export async function unassignMain (argv: string[]): Promise<number> { return await run('unassign', argv) }
