// Issue 11, findings 8 and 10: what the tracker shows to those who should not see it.
// Anonymous /metrics names no image, version or site (a scraper with metricsToken sees all);
// a data directory left 0755 with a 0644 database is tightened on start, with one warning.
import { chmod, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createLogger } from '../../protocol/logger.ts'
import { startTestTracker } from '../helpers/tracker.ts'
import { assignImage, call, haveOf, newPeerId, publishFakeVersion, withProof } from '../helpers/tracker-swarm.ts'
import { makeTmpDir } from '../helpers/tmp-dir.ts'
import { until } from '../helpers/abuse.ts'
import { rm } from 'node:fs/promises'

const METRICS_TOKEN = 'scrape-' + 'x'.repeat(24)

test('anonymous /metrics names no image; the scrape token sees the swarm series', async () => {
  const t = await startTestTracker({ config: { metricsToken: METRICS_TOKEN } })
  try {
    const { store } = t.tracker.components
    const v = await publishFakeVersion(store, { image: 'secret-image', chunkCount: 8, nowMs: Date.now() })
    await assignImage(store, { image: 'secret-image', user: 'alice', nowMs: Date.now() })
    const alice = await t.tokenFor('alice')
    // any announce makes the swarm gauge name the image (proof fields where the API wants them)
    const peerId = await newPeerId()
    await call(t.url, 'POST', '/api/v1/swarm/announce', { token: alice, json: await withProof({ image: 'secret-image', version: v.number, peerId, site: 'hq', addrs: [], ...haveOf(8, [1]) }, Date.now()) })
    // the swarm gauge is refreshed just after the announce
    await until(async () => String((await call(t.url, 'GET', '/metrics', { token: METRICS_TOKEN })).body).includes('image="secret-image"'), 5_000)
    const anonymous = await call(t.url, 'GET', '/metrics')
    const wrong = await call(t.url, 'GET', '/metrics', { token: METRICS_TOKEN + 'y' })
    for (const r of [anonymous, wrong]) {
      assert.is(r.status, 200)
      assert.not.match(r.body as string, 'secret-image')
      assert.not.match(r.body as string, /image="/)
      assert.match(r.body as string, 'branchcast_http_requests_total', 'aggregate series stay')
    }
  } finally {
    await t.stop()
  }
})

test('a 0755 data directory with a 0644 database is tightened on start, with a warning', async () => {
  const dir = await makeTmpDir('branchcast-sec-modes-')
  try {
    const first = await startTestTracker({ config: { dataDir: dir } })
    await first.stop()
    await chmod(dir, 0o755)
    await chmod(join(dir, 'tracker.db'), 0o644)
    await chmod(join(dir, 'store'), 0o755)
    await chmod(join(dir, 'keys'), 0o755)
    await chmod(join(dir, 'keys', 'repository.pem'), 0o644)
    await writeFile(join(dir, 'initial-admin-token'), 'bct_x\n', { mode: 0o644 })
    await chmod(join(dir, 'initial-admin-token'), 0o644)
    const lines: string[] = []
    const logger = createLogger({ level: 'warn', write: (line: string) => { lines.push(line) } }, 'tracker')
    const again = await startTestTracker({ config: { dataDir: dir }, logger })
    await again.stop()
    const mode = async (p: string): Promise<number> => (await stat(join(dir, p))).mode & 0o777
    assert.is(await mode(''), 0o700)
    assert.is(await mode('tracker.db'), 0o600)
    assert.is(await mode('store'), 0o700)
    assert.is(await mode('keys'), 0o700)
    assert.is(await mode('keys/repository.pem'), 0o600)
    assert.is(await mode('initial-admin-token'), 0o600)
    assert.is(lines.filter((l) => l.includes('permissions tightened')).length, 1, lines.join('\n'))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
