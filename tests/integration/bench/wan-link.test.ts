import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer } from 'node:http'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { startWanLink } from '../../../bench/offload/wan-link.ts'

const BODY = randomBytes(300 * 1024)

async function startUpstream (): Promise<{ url: string, close: () => Promise<void>, seen: string[] }> {
  const seen: string[] = []
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`)
    if (req.url === '/missing') { res.writeHead(404, { 'content-type': 'text/plain' }).end('no'); return }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-chunk': 'yes' })
    res.end(BODY)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: async () => { server.closeAllConnections(); await new Promise<void>((resolve) => server.close(() => resolve())) }
  }
}

test('the link passes requests, headers and bodies through intact and counts the bytes', async () => {
  const up = await startUpstream()
  const link = await startWanLink({ rateBytesPerSec: 20e6, burstBytes: 64 * 1024 })
  try {
    assert.is((await fetch(`${link.url}/chunks/x`)).status, 503, 'no upstream yet')
    link.setUpstream(up.url)
    const answers = await Promise.all(Array.from({ length: 4 }, async (_, i) => {
      const res = await fetch(`${link.url}/origin/chunks/${i}`, { headers: { authorization: `Bearer t${i}` } })
      return { status: res.status, header: res.headers.get('x-chunk'), body: Buffer.from(await res.arrayBuffer()) }
    }))
    for (const a of answers) {
      assert.is(a.status, 200)
      assert.is(a.header, 'yes')
      assert.ok(a.body.equals(BODY))
    }
    assert.is(link.bytes(), 4 * BODY.length, 'every body byte went through the shared bucket')
    for (let i = 0; i < 4; i++) assert.ok(up.seen.includes(`GET /origin/chunks/${i} Bearer t${i}`))
    const missing = await fetch(`${link.url}/missing`)
    assert.is(missing.status, 404)
    assert.is(await missing.text(), 'no')
  } finally {
    await link.stop()
    await up.close()
  }
})

test.run()
