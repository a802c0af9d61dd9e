// Every `branchcast` command as a user meets it first: --help, and a mistyped flag.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runCli } from '../../helpers/cli.ts'
import type { CliResult } from '../../helpers/cli.ts'

const env = { ...process.env, BRANCHCAST_TRACKER: '', BRANCHCAST_TOKEN: '', BRANCHCAST_DEBUG: '' }

async function run (args: string[]): Promise<CliResult> { return await runCli(args, { env }) }

/** Runs `jobs` a few at a time: each is a Node process loading a command. */
async function inBatches<T, R> (items: T[], job: (item: T) => Promise<R>, size = 4): Promise<R[]> {
  const out: R[] = []
  for (let i = 0; i < items.length; i += size) out.push(...await Promise.all(items.slice(i, i + size).map(job)))
  return out
}

let commands: string[] = []

test('"branchcast --help" lists every command in 80 columns', async () => {
  const r = await run(['--help'])
  assert.is(r.code, 0, r.stderr)
  const section = r.stdout.split('Commands:\n')[1]!.split('\n\n')[0]!
  commands = section.split('\n').map((l) => l.trim().split(/\s+/)[0]!)
  assert.equal([...commands].sort(), ['app', 'assign', 'bundle', 'clients', 'demo', 'desk', 'enroll', 'events', 'gc', 'images', 'import', 'lock', 'login', 'logout', 'node', 'origin', 'policies', 'profile', 'publish', 'pull', 'refresh', 'reports', 'restart', 'seeds', 'selftest', 'start', 'status', 'stop', 'token', 'tracker', 'unassign', 'unlock', 'versions'])
  for (const line of r.stdout.split('\n')) assert.ok(line.length <= 80, line)
})

test('every command\'s --help prints its usage (flags and -h included, 80 columns) and exits 0', async () => {
  const results = await inBatches(commands, async (c) => ({ c, r: await run([c, '--help']) }))
  for (const { c, r } of results) {
    assert.is(r.code, 0, `${c}: ${r.stderr}`)
    assert.is(r.stderr, '', c)
    assert.ok(r.stdout.startsWith('Usage: branchcast ') && r.stdout.split('\n\n')[0]!.includes(`branchcast ${c} `), c)
    assert.match(r.stdout, /\n {2}-h, --help {2,}this help\n$/, c)
    for (const line of r.stdout.split('\n')) assert.ok(line.length <= 80, `${c}: ${line.length} columns: ${line}`)
  }
})

test('a mistyped flag is one line naming it, nothing on stdout, exit 1', async () => {
  const results = await inBatches(commands, async (c) => ({ c, r: await run([c, '--halp']) }))
  for (const { c, r } of results) {
    assert.is(r.code, 1, `${c}: ${r.stderr}`)
    assert.is(r.stdout, '', c)
    assert.is(r.stderr, `branchcast ${c}: unknown option --halp (did you mean --help?); see "branchcast ${c} --help"\n`, c)
  }
})

test('bad values and missing arguments are one line and exit 1, before anything starts', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['demo', '--nodes', '100'], /^branchcast demo: --nodes: not an integer from 1 to 64: "100"\n$/],
    [['selftest', '--size', 'huge'], /^branchcast selftest: --size: not a size/],
    [['pull', 'win10', '--version', 'newest'], /^branchcast pull: --version: not an integer >= 1: "newest"\n$/],
    [['bundle', 'win10', '--since', 'v1', '/tmp/win10.bundle'], /^branchcast bundle: --since: not an integer >= 1: "v1"\n$/],
    [['import'], /^branchcast import: needs one BUNDLE\n$/],
    [['node', '--cache-max', '20GiB'], /^branchcast node: --cache-max: the chunk cache limit was removed: image data lives only in the image files/],
    [['events', '--since', 'yesterday'], /^branchcast events: --since: not a duration/],
    [['versions', 'list'], /^branchcast versions: needs a command .* and --image NAME\n$/],
    [['publish', '--image'], /^branchcast publish: --image needs a value; see "branchcast publish --help"\n$/],
    [['policies', 'create', 'p', '--image', 'i', '--memory', 'lots'], /^branchcast policies: --memory: not an integer: "lots"\n$/],
    [['gc'], /^branchcast gc: no API token: pass --token or set BRANCHCAST_TOKEN\n$/],
    [['login', '--data', '/nonexistent/branchcast-login'], /^branchcast login: --tracker is required/],
    [['token', 'create', '--user', 'u', '--admin', '--read-only-admin'], /^branchcast token: give --admin or --read-only-admin, not both\n$/],
    [['pul'], /^branchcast: unknown command "pul"; "branchcast --help" lists them\n$/]
  ]
  const results = await inBatches(cases, async ([args, want]) => ({ args, want, r: await run(args) }))
  for (const { args, want, r } of results) {
    assert.is(r.code, 1, args.join(' '))
    assert.match(r.stderr, want, args.join(' '))
    assert.is(r.stderr.split('\n').length, 2, `one line: ${r.stderr}`)
  }
})

test.run()
