import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runCli } from '../../helpers/cli.ts'

test('demo --json: nodes in two sites end with identical images and one JSON summary', async () => {
  const { code, stdout, stderr } = await runCli(['demo', '--nodes', '3', '--sites', '2', '--size', '3MiB', '--json'], { env: { ...process.env, BRANCHCAST_LOG_LEVEL: 'error' }, timeoutMs: 240_000 })
  assert.is(code, 0, stderr)
  assert.is(stdout.trim().split('\n').length, 1, 'one JSON line only')
  const s = JSON.parse(stdout)
  assert.is(s.imageBytes, 3 * 1024 * 1024)
  assert.is(s.nodes.length, 3)
  assert.equal(s.sites.map((x: { site: string }) => x.site).sort(), ['branch-1', 'branch-2'])
  assert.is(s.allIdentical, true)
  for (const n of s.nodes) {
    assert.is(n.sha256, s.imageSha256)
    for (const k of ['bytesFromPeers', 'bytesFromOrigin', 'bytesFromLocal', 'durationMs']) assert.type(n[k], 'number', k)
  }
  assert.is(s.totalOriginBytes, s.nodes.reduce((a: number, n: { bytesFromOrigin: number }) => a + n.bytesFromOrigin, 0))
  assert.ok(s.originRatio > 0 && s.originRatio < 3, `origin ratio ${s.originRatio}`)
  assert.match(s.consoleUrl, /^http:\/\/127\.0\.0\.1:\d+\/console$/)
})

test.run()
