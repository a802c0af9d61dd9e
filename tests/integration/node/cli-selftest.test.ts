import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestTracker } from '../../helpers/tracker.ts'
import { runCli } from '../../helpers/cli.ts'
import type { CliResult } from '../../helpers/cli.ts'

async function run (args: string[]): Promise<CliResult> {
  return await runCli(args, { env: { ...process.env, BRANCHCAST_LOG_LEVEL: 'error' }, timeoutMs: 180_000 })
}

test('selftest against a given tracker: peers carry the image between the local nodes', async () => {
  const tt = await startTestTracker()
  try {
    const r = await run(['selftest', '--tracker', tt.url, '--token', tt.adminToken, '--nodes', '2', '--size', '2MiB', '--site', 'lab', '--json'])
    assert.is(r.code, 0, r.stdout + r.stderr)
    const s = JSON.parse(r.stdout)
    assert.is(s.ok, true)
    assert.is(s.site, 'lab')
    assert.is(s.nodes, 2)
    assert.is(s.allIdentical, true)
    assert.ok(s.bytesFromPeers > 0)
    assert.ok(s.peerShare > 0 && s.peerShare <= 1)
    assert.type(s.originBytesByReason, 'object')
  } finally {
    await tt.stop()
  }
})

test('selftest refuses a token that cannot publish', async () => {
  const tt = await startTestTracker()
  try {
    const r = await run(['selftest', '--tracker', tt.url, '--token', await tt.tokenFor('bob'), '--json'])
    assert.is(r.code, 1)
    assert.match(JSON.parse(r.stdout).error.message, /admin/)
  } finally {
    await tt.stop()
  }
})

test.run()
