import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { stat, rm, access } from 'node:fs/promises'
import { createLogger } from '../../../protocol/logger.ts'
import { createControlServer, createControlClient, readControlFile, controlFilePath } from '../../../node/control/index.ts'
import type { ControlComponents, NodeStatus } from '../../../node/control/index.ts'
import type { PullOptions, PullReport } from '../../../node/pull/index.ts'
import { makeTmpDir } from '../../helpers/tmp-dir.ts'
import { rejects } from '../../helpers/rejects.ts'

const logger = createLogger({ level: 'silent' })

function reportFor (image: string): PullReport {
  return {
    image, version: 1, path: `/x/${image}.img`, sha256: 'ab'.repeat(32), totalBytes: 100,
    bytesFromPeers: 60, bytesFromOrigin: 30, bytesFromLocal: 10, bytesFromLocalSources: {}, deltaBytesFromOrigin: 0, decodedBytesFromDeltas: 0, deltas: { indexEntries: 0, chunks: 0, refused: 0, fallbacks: 0 }, decodedBytesFromPeers: 60, decodedBytesFromOrigin: 30,
    originBytesByReason: { assigned: 30, policy: 0, 'no-peer': 0, 'bad-piece': 0, 'peers-slow': 0, waited: 0, 'chunk-list': 0, 'on-demand': 0 },
    durationMs: 5, peersUsed: 2, bannedPeers: [], failures: {} as PullReport['failures']
  }
}

const status: NodeStatus = {
  peerId: '12D3KooWTest', addrs: ['/ip4/127.0.0.1/tcp/1'], site: 's1', tracker: 'http://t',
  cache: { usedBytes: 1, maxBytes: null, chunks: 1 },
  serving: { activeStreams: 0, chunksServed: 0, bytesServed: 0, refused: {} },
  events: { pending: 0 }, pulls: { active: 0 }, uptimeMs: 1
}

async function withControl (pull: ControlComponents['pull'], fn: (dataDir: string, url: string) => Promise<void>): Promise<void> {
  const dataDir = await makeTmpDir('branchcast-control-')
  const server = createControlServer({ dataDir }, {
    pull,
    images: async () => [{ image: 'win10', version: 1, path: '/x', sizeBytes: 100 }],
    status: async () => status,
    logger
  })
  try {
    await server.start()
    await fn(dataDir, server.url)
  } finally {
    await server.stop()
    await rm(dataDir, { recursive: true, force: true })
  }
}

test('control.json is readable only by the user and names a loopback URL', async () => {
  await withControl(async (o) => reportFor(o.image), async (dataDir, url) => {
    const st = await stat(controlFilePath(dataDir))
    assert.is(st.mode & 0o777, 0o600)
    const file = await readControlFile(dataDir)
    assert.is(file.url, url)
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/)
    assert.ok(file.token.length >= 32)
  })
})

test('a missing or wrong control token gets 401 on every route', async () => {
  await withControl(async (o) => reportFor(o.image), async (dataDir, url) => {
    const { token } = await readControlFile(dataDir)
    const wrong = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A')
    for (const [method, path] of [['GET', '/status'], ['GET', '/images'], ['POST', '/pull']] as const) {
      for (const auth of [undefined, `Bearer ${wrong}`, `Bearer ${token}x`, token]) {
        const res = await fetch(url + path, { method, headers: auth === undefined ? {} : { authorization: auth }, body: method === 'POST' ? '{"image":"a"}' : undefined })
        assert.is(res.status, 401, `${method} ${path} with ${auth === undefined ? 'no' : 'a wrong'} token`)
        assert.is((await res.json() as { error: { code: string } }).error.code, 'ERR_UNAUTHORIZED')
      }
    }
    await rejects(createControlClient({ url, token: wrong }).status(), { code: 'ERR_UNAUTHORIZED' })
  })
})

test('POST /pull streams progress lines, then the report', async () => {
  let seen: PullOptions | undefined
  await withControl(async (o) => {
    seen = o
    o.onProgress?.({ phase: 'manifest', totalBytes: 0, doneBytes: 0, bytesFromPeers: 0, bytesFromOrigin: 0, bytesFromLocal: 0 })
    o.onProgress?.({ phase: 'transfer', totalBytes: 100, doneBytes: 50, bytesFromPeers: 40, bytesFromOrigin: 10, bytesFromLocal: 0 })
    o.onProgress?.({ phase: 'ready', totalBytes: 100, doneBytes: 100, bytesFromPeers: 60, bytesFromOrigin: 30, bytesFromLocal: 10 })
    return reportFor(o.image)
  }, async (dataDir) => {
    const client = createControlClient(await readControlFile(dataDir))
    const phases: string[] = []
    const report = await client.pull('win10', { version: 3, onProgress: (p) => phases.push(p.phase) })
    assert.equal(report, reportFor('win10'))
    assert.equal(phases, ['manifest', 'transfer', 'ready'])
    assert.is(seen?.image, 'win10')
    assert.is(seen?.version, 3)
    assert.equal(await client.images(), [{ image: 'win10', version: 1, path: '/x', sizeBytes: 100 }])
    assert.equal(await client.status(), status)
  })
})

test('a failed pull ends the stream with an error line carrying its code', async () => {
  await withControl(async () => { throw Object.assign(new Error('manifest expired'), { code: 'ERR_MANIFEST_EXPIRED' }) }, async (dataDir) => {
    const client = createControlClient(await readControlFile(dataDir))
    await rejects(client.pull('win10'), { code: 'ERR_MANIFEST_EXPIRED', message: /expired/ })
  })
})

test('a malformed pull request is refused with 400', async () => {
  await withControl(async (o) => reportFor(o.image), async (dataDir, url) => {
    const { token } = await readControlFile(dataDir)
    for (const body of ['nope', '{}', '{"image":"../etc"}', '{"image":"a","version":0}', '{"image":"a","extra":1}']) {
      const res = await fetch(url + '/pull', { method: 'POST', headers: { authorization: `Bearer ${token}` }, body })
      assert.is(res.status, 400, body)
    }
  })
})

test('a CLI that goes away aborts its pull', async () => {
  let aborted!: () => void
  const wasAborted = new Promise<void>((resolve) => { aborted = resolve })
  let started!: () => void
  const hasStarted = new Promise<void>((resolve) => { started = resolve })
  await withControl(async (o) => {
    started()
    await new Promise<void>((resolve) => { o.signal?.addEventListener('abort', () => { aborted(); resolve() }, { once: true }) })
    throw new Error('aborted')
  }, async (dataDir) => {
    const client = createControlClient(await readControlFile(dataDir))
    const ac = new AbortController()
    const pulling = client.pull('win10', { signal: ac.signal }).catch(() => {})
    await hasStarted
    ac.abort()
    await pulling
    await Promise.race([wasAborted, new Promise((_r, reject) => setTimeout(() => reject(new Error('pull not aborted in 10 s')), 10_000).unref())])
  })
})

test('stop() removes control.json, and the client then says the node is not running', async () => {
  const dataDir = await makeTmpDir('branchcast-control-')
  try {
    const server = createControlServer({ dataDir }, { pull: async (o) => reportFor(o.image), images: async () => [], status: async () => status, logger })
    await server.start()
    const file = await readControlFile(dataDir)
    await server.stop()
    await rejects(access(controlFilePath(dataDir)), { code: 'ENOENT' })
    await rejects(readControlFile(dataDir), { code: 'ERR_NODE_NOT_RUNNING' })
    await rejects(createControlClient(file).status(), { code: 'ERR_NODE_NOT_RUNNING' })
  } finally {
    await rm(dataDir, { recursive: true, force: true })
  }
})

test.run()
