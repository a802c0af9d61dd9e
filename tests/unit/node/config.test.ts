import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { rm, writeFile, stat, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DEFAULT_LISTEN, loadNodeConfig, updateNodeConfigFile } from '../../../node/config.ts'
import { makeTmpDir } from '../../helpers/tmp-dir.ts'
import { throwsCode } from '../../helpers/rejects.ts'

test('defaults apply when nothing is set', () => {
  const c = loadNodeConfig({ flags: { dataDir: '/nonexistent/branchcast-node' }, env: {} })
  assert.equal(c, {
    dataDir: '/nonexistent/branchcast-node', tracker: undefined, token: undefined, unusedEnvToken: undefined, site: 'default', listen: DEFAULT_LISTEN,
    mdns: true, uploadRateBytesPerSec: undefined, originRateBytesPerSec: undefined, keepVersions: 2, autoDeliver: true, reconcileIntervalMs: undefined, expiryWarningDays: undefined, hostCheck: undefined, hostCheckTimeoutMs: undefined, logLevel: 'info',
    seeds: [], seedMaxChunks: undefined, seedReadBytesPerSec: undefined, cpuNice: 10
  })
  assert.is(loadNodeConfig({ env: {} }).dataDir, '.data/node')
  assert.is(loadNodeConfig({ env: { BRANCHCAST_NODE_DATA: '/x' } }).dataDir, '/x')
})

test('file ← environment ← flags, each layer overriding the one before (the token: flags, then the enrolled one)', async () => {
  const dir = await makeTmpDir('branchcast-config-')
  try {
    await writeFile(join(dir, 'config.json'), JSON.stringify({ tracker: 'http://file:1', token: 'file-token', site: 'file-site', mdns: false, listen: ['/ip4/127.0.0.1/tcp/4001'] }))
    const fileOnly = loadNodeConfig({ flags: { dataDir: dir }, env: {} })
    assert.equal([fileOnly.tracker, fileOnly.token, fileOnly.site, fileOnly.mdns, fileOnly.listen], ['http://file:1', 'file-token', 'file-site', false, ['/ip4/127.0.0.1/tcp/4001']])
    const withEnv = loadNodeConfig({ flags: { dataDir: dir }, env: { BRANCHCAST_TRACKER: 'http://env:2/', BRANCHCAST_TOKEN: 'env-token', BRANCHCAST_SITE: 'env-site', BRANCHCAST_UPLOAD_RATE: '5000' } })
    assert.equal([withEnv.tracker, withEnv.token, withEnv.site, withEnv.uploadRateBytesPerSec], ['http://env:2', 'file-token', 'env-site', 5000])
    assert.is(withEnv.unusedEnvToken, 'env-token', 'an environment token never overrides the enrolled one; the daemon checks whom it names')
    const sameEnv = loadNodeConfig({ flags: { dataDir: dir }, env: { BRANCHCAST_TOKEN: 'file-token' } })
    assert.is(sameEnv.unusedEnvToken, undefined)
    const withFlags = loadNodeConfig({ flags: { dataDir: dir, site: 'flag-site', token: 'flag-token', originRateBytesPerSec: 7 }, env: { BRANCHCAST_SITE: 'env-site', BRANCHCAST_TOKEN: 'env-token' } })
    assert.equal([withFlags.tracker, withFlags.token, withFlags.site, withFlags.originRateBytesPerSec], ['http://file:1', 'flag-token', 'flag-site', 7])
    assert.is(withFlags.unusedEnvToken, undefined, 'an explicit --token is the operator\'s choice')
    const envOnly = loadNodeConfig({ flags: { dataDir: '/nonexistent/branchcast-node' }, env: { BRANCHCAST_TOKEN: 'env-token' } })
    assert.equal([envOnly.token, envOnly.unusedEnvToken], ['env-token', undefined], 'not enrolled: the environment token is the identity')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('the removed chunk-cache limit in a config file is refused, naming why', async () => {
  const dir = await makeTmpDir('branchcast-config-')
  try {
    await writeFile(join(dir, 'config.json'), JSON.stringify({ site: 's', cacheMaxBytes: 1000 }))
    const err = (() => { try { loadNodeConfig({ flags: { dataDir: dir }, env: {} }) } catch (e) { return e as Error & { code?: string } } })()
    assert.is(err?.code, 'ERR_NODE_CONFIG')
    assert.match(err!.message, /cacheMaxBytes: the chunk cache limit was removed: image data lives only in the image files/)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('malformed layers are refused with ERR_NODE_CONFIG', async () => {
  const dir = await makeTmpDir('branchcast-config-')
  try {
    const cases: Array<[string, () => unknown]> = [
      ['unknown key in file', () => loadNodeConfig({ flags: { config: join(dir, 'a.json') }, env: {} })],
      ['not JSON', () => loadNodeConfig({ flags: { config: join(dir, 'b.json') }, env: {} })],
      ['named file missing', () => loadNodeConfig({ flags: { config: join(dir, 'missing.json') }, env: {} })],
      ['bad rate in env', () => loadNodeConfig({ flags: { dataDir: dir }, env: { BRANCHCAST_UPLOAD_RATE: '-1' } })],
      ['bad tracker URL', () => loadNodeConfig({ flags: { dataDir: dir, tracker: 'not a url' }, env: {} })],
      ['listen not a multiaddr', () => loadNodeConfig({ flags: { dataDir: dir, listen: ['0.0.0.0:1'] }, env: {} })]
    ]
    await writeFile(join(dir, 'a.json'), JSON.stringify({ trackr: 'http://x' }))
    await writeFile(join(dir, 'b.json'), '{')
    for (const [name, fn] of cases) {
      try { throwsCode(fn, 'ERR_NODE_CONFIG') } catch (err) { throw new Error(`${name}: ${(err as Error).message}`) }
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('updateNodeConfigFile merges and keeps the file readable only by the user', async () => {
  const dir = await makeTmpDir('branchcast-config-')
  try {
    await updateNodeConfigFile(dir, { tracker: 'http://t:1', token: 'secret' })
    await updateNodeConfigFile(dir, { site: 'b1', token: undefined })
    assert.equal(JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')), { tracker: 'http://t:1', token: 'secret', site: 'b1' })
    assert.is((await stat(join(dir, 'config.json'))).mode & 0o777, 0o600)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
