// `branchcast images list|show|create` and `branchcast --version` against a real tracker.
import { readFile } from 'node:fs/promises'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runCli } from '../../helpers/cli.ts'
import { startTestTracker } from '../../helpers/tracker.ts'
import type { TestTracker } from '../../helpers/tracker.ts'

let t: TestTracker
const env = (token: string): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, BRANCHCAST_TRACKER: t.url, BRANCHCAST_TOKEN: token })

test.before(async () => { t = await startTestTracker() })
test.after(async () => { await t?.stop() })

test('an admin creates, lists and shows images; a table fits 80 columns', async () => {
  const made = await runCli(['images', 'create', 'win11-office', '--description', 'Windows 11 with Office, the branch desktop'], { env: env(t.adminToken) })
  assert.is(made.code, 0, made.stderr)
  assert.is(made.stdout.trim(), 'created image win11-office')
  const list = await runCli(['images', 'list', '--json'], { env: env(t.adminToken) })
  assert.is(list.code, 0, list.stderr)
  const images = JSON.parse(list.stdout) as Array<{ name: string, latestVersion: number | null }>
  assert.equal(images.map((i) => [i.name, i.latestVersion]), [['win11-office', null]])
  const table = await runCli(['images', 'list'], { env: env(t.adminToken) })
  assert.ok(table.stdout.split('\n').every((line) => line.length <= 80), table.stdout)
  assert.match(table.stdout, /^NAME/)
  const shown = await runCli(['images', 'show', 'win11-office', '--json'], { env: env(t.adminToken) })
  assert.is(shown.code, 0, shown.stderr)
  assert.equal(JSON.parse(shown.stdout).versions, [])
})

test('mistakes are one line and exit 1: no name, an unknown image, a user creating', async () => {
  const noName = await runCli(['images', 'show'], { env: env(t.adminToken) })
  assert.equal([noName.code, noName.stderr.trim().split('\n').length], [1, 1])
  assert.match(noName.stderr, /needs an image NAME/)
  const unknown = await runCli(['images', 'show', 'nope'], { env: env(t.adminToken) })
  assert.is(unknown.code, 1)
  assert.match(unknown.stderr, /ERR_NOT_FOUND/)
  const user = await runCli(['images', 'create', 'mine'], { env: env(await t.tokenFor('alice')) })
  assert.is(user.code, 1)
  assert.match(user.stderr, /ERR_FORBIDDEN/)
})

test('--version prints the package version', async () => {
  const r = await runCli(['--version'])
  assert.is(r.code, 0)
  const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
  assert.is(r.stdout.trim(), pkg.version)
})

test.run()
