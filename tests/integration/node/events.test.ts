import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer, request as httpRequest } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { createApiClient } from '../../../protocol/api/client.ts'
import { createLogger } from '../../../protocol/logger.ts'
import { createTrackerClient } from '../../../node/tracker-client.ts'
import { createEventReporter } from '../../../node/events/index.ts'
import type { EventReporter } from '../../../node/events/index.ts'
import { startTestTracker } from '../../helpers/tracker.ts'
import type { TestTracker } from '../../helpers/tracker.ts'
import { makeTmpDir } from '../../helpers/tmp-dir.ts'

async function call (url: string, method: string, path: string, opts: { token: string }): Promise<{ status: number, body: any }> {
  const res = await fetch(url + path, { method, headers: { authorization: `Bearer ${opts.token}` } })
  return { status: res.status, body: await res.json() }
}

const logger = createLogger({ level: 'silent' })
const CLIENT = '12D3KooWEventsTestClient'

function reporterFor (url: string, token: string, dir: string): EventReporter {
  const tracker = createTrackerClient(createApiClient({ baseUrl: url, token }))
  return createEventReporter({ dir, clientId: CLIENT, retryMinMs: 20, retryMaxMs: 200 }, { tracker, logger, now: Date.now })
}

async function storedEvents (t: TestTracker): Promise<Array<{ id: string, type: string, clientId: string, user: string }>> {
  const r = await call(t.url, 'GET', `/api/v1/events?client=${CLIENT}&limit=1000`, { token: t.adminToken })
  assert.is(r.status, 200)
  return r.body.events
}

async function freePort (): Promise<number> {
  const s = createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const { port } = s.address() as AddressInfo
  await new Promise<void>((resolve) => s.close(() => resolve()))
  return port
}

const pulled = (n: number): Record<string, unknown> => ({ image: 'win10', version: n, bytesFromPeers: 10, bytesFromOrigin: 1, bytesFromLocal: 0, durationMs: 5 })

test('events queued while the reporter is down survive its restart and reach the tracker once', async () => {
  const dir = await makeTmpDir('branchcast-events-')
  const t = await startTestTracker()
  try {
    const token = await t.tokenFor('alice')
    const first = reporterFor(t.url, token, dir)
    // never started: the events only go to disk
    const ids = [(await first.report('pull.completed', pulled(1))).id, (await first.report('pull.completed', pulled(2))).id, (await first.report('peer.banned', { peerId: 'x', reason: 'bad-chunk' })).id]
    assert.is(await first.pending(), 3)
    assert.equal(await storedEvents(t), [])

    const second = reporterFor(t.url, token, dir)
    await second.start()
    try {
      await second.flush({ signal: AbortSignal.timeout(20_000) })
    } finally {
      await second.stop()
    }
    assert.is(await second.pending(), 0)
    const stored = await storedEvents(t)
    assert.equal(stored.map((e) => e.id).sort(), [...ids].sort())
    assert.ok(stored.every((e) => e.user === 'alice' && e.clientId === CLIENT))
  } finally {
    await t.stop()
    await rm(dir, { recursive: true, force: true })
  }
})

test('a tracker that is down, then up, receives each event once', async () => {
  const dir = await makeTmpDir('branchcast-events-')
  const trackerDir = await makeTmpDir('branchcast-events-tracker-')
  const port = await freePort()
  let t = await startTestTracker({ config: { dataDir: trackerDir, port } })
  let reporter: EventReporter | undefined
  try {
    const token = await t.tokenFor('bob')
    await t.stop() // down
    reporter = reporterFor(t.url, token, dir)
    await reporter.start()
    const ids: string[] = []
    for (let i = 0; i < 5; i++) ids.push((await reporter.report('pull.completed', pulled(i))).id)
    // the reporter is retrying against a closed port; nothing is lost meanwhile
    assert.is(await reporter.pending(), 5)
    t = await startTestTracker({ config: { dataDir: trackerDir, port } }) // up
    await reporter.flush({ signal: AbortSignal.timeout(20_000) })
    assert.is(await reporter.pending(), 0)
    const stored = await storedEvents(t)
    assert.is(stored.length, 5)
    assert.equal(stored.map((e) => e.id).sort(), ids.sort())
  } finally {
    await reporter?.stop()
    await t.stop()
    await rm(dir, { recursive: true, force: true })
    await rm(trackerDir, { recursive: true, force: true })
  }
})

test('a batch re-sent after a lost acknowledgement is stored once', async () => {
  const dir = await makeTmpDir('branchcast-events-')
  const t = await startTestTracker()
  // a proxy that forwards the first POST and then cuts the connection instead of answering
  let dropped = 0
  let posts = 0
  const upstream = new URL(t.url)
  const proxy: Server = createServer((req, res) => {
    const isPost = req.method === 'POST'
    if (isPost) posts++
    const up = httpRequest({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (upRes) => {
      if (isPost && dropped === 0) {
        dropped++
        upRes.resume()
        upRes.on('end', () => res.destroy())
        return
      }
      res.writeHead(upRes.statusCode ?? 502, upRes.headers)
      upRes.pipe(res)
    })
    up.on('error', () => res.destroy())
    req.pipe(up)
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`
  const reporter = reporterFor(proxyUrl, await t.tokenFor('carol'), dir)
  try {
    const ids = [(await reporter.report('pull.completed', pulled(1))).id, (await reporter.report('pull.completed', pulled(2))).id]
    await reporter.start()
    await reporter.flush({ signal: AbortSignal.timeout(20_000) })
    assert.is(dropped, 1)
    assert.ok(posts >= 2, `posts: ${posts}`)
    const stored = await storedEvents(t)
    assert.equal(stored.map((e) => e.id).sort(), ids.sort())
    assert.equal(await readdir(dir).then((names) => names.filter((n) => n.endsWith('.json'))), [])
  } finally {
    await reporter.stop()
    proxy.closeAllConnections()
    await new Promise<void>((resolve) => proxy.close(() => resolve()))
    await t.stop()
    await rm(dir, { recursive: true, force: true })
  }
})

test('an event the tracker refuses for good is set aside and does not block the others', async () => {
  const dir = await makeTmpDir('branchcast-events-')
  const t = await startTestTracker()
  try {
    const reporter = reporterFor(t.url, await t.tokenFor('dave'), dir)
    const good = await reporter.report('pull.completed', pulled(1))
    // an `at` the tracker's schema refuses cannot be made through report(), so write one by hand
    const { writeFile } = await import('node:fs/promises')
    await writeFile(join(dir, '000000000000001-000000-00000000-0000-4000-8000-000000000000.json'), JSON.stringify({ id: 'not-a-uuid', type: 'pull.completed', at: 1, payload: {} }))
    await reporter.start()
    try {
      await reporter.flush({ signal: AbortSignal.timeout(20_000) })
    } finally {
      await reporter.stop()
    }
    assert.equal((await storedEvents(t)).map((e) => e.id), [good.id])
    assert.is((await readdir(join(dir, 'rejected'))).length, 1)
  } finally {
    await t.stop()
    await rm(dir, { recursive: true, force: true })
  }
})

test('report() refuses a malformed event with a TypeError and queues nothing', async () => {
  const dir = await makeTmpDir('branchcast-events-')
  try {
    const reporter = reporterFor('http://127.0.0.1:9', 'x', dir)
    let caught: unknown
    try { await reporter.report('pull.completed', { image: 'x' }) } catch (err) { caught = err }
    assert.instance(caught, TypeError)
    assert.is(await reporter.pending(), 0)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
