// The host verification command: argv with no shell, bounded in time, the image name
// only in the environment.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runHostCheck } from '../../../../node/workspaces/index.ts'

const SH = '/bin/sh'

test('exit 0 passes; another exit fails with its code and last stderr line', async () => {
  assert.equal(await runHostCheck(['true'], 'desk', { timeoutMs: 5_000 }), { ok: true, message: 'host check passed' })
  const r = await runHostCheck([SH, '-c', 'echo "disk not encrypted" >&2; exit 3'], 'desk', { timeoutMs: 5_000 })
  assert.is(r.ok, false)
  assert.match(r.message, /failed \(exit 3\): disk not encrypted/)
})

test('a command that hangs is killed at the timeout and fails', async () => {
  const t0 = Date.now()
  const r = await runHostCheck(['sleep', '30'], 'desk', { timeoutMs: 300 })
  assert.is(r.ok, false)
  assert.match(r.message, /did not finish within 300 ms/)
  assert.ok(Date.now() - t0 < 20_000)
})

test('a missing program fails with a clear reason', async () => {
  const r = await runHostCheck(['/nonexistent/branchcast-check'], 'desk', { timeoutMs: 5_000 })
  assert.is(r.ok, false)
  assert.match(r.message, /cannot run: ENOENT/)
})

test('the image name reaches the command only as BRANCHCAST_IMAGE, never through a shell', async () => {
  const name = 'x;touch /tmp/branchcast-pwned'
  const r = await runHostCheck([SH, '-c', 'test "$BRANCHCAST_IMAGE" = "$1"', 'sh', name], name, { timeoutMs: 5_000 })
  assert.is(r.ok, true)
  const argvOnly = await runHostCheck(['test', '$BRANCHCAST_IMAGE', '=', name], name, { timeoutMs: 5_000 })
  assert.is(argvOnly.ok, false, 'no shell expands the argv')
})

test('an empty argv is the caller\'s mistake', async () => {
  let err: unknown
  try { await runHostCheck([], 'desk', { timeoutMs: 1000 }) } catch (e) { err = e }
  assert.instance(err, TypeError)
})

test.run()
