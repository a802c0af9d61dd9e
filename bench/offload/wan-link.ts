/**
 * A branch office's WAN link to the origin, modelled as a reverse proxy whose response
 * bodies all share one token bucket: every node of the site downloads from the origin
 * through it, so together they get `rateBytesPerSec`, however many connections they open.
 *
 * Why a proxy and not a rate option in the tracker's origin route: the limit being modelled
 * is the network between the branch and the data centre, not the origin server; a proxy
 * puts it there, in front of any origin (built-in or nginx), and adds no bench-only code
 * to the product. Its own cost at a few MB/s is a few % of one core (reported with the
 * bench process's CPU).
 */
import { createServer, request, Agent } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { createTokenBucket } from '../../node/peer/index.ts'

/** pieces a response body is paced in: small enough that streams interleave finely */
const PIECE_BYTES = 16 * 1024

export interface WanLink {
  /** base URL of the link's near end (what the nodes are told the origin is) */
  url: string
  /** where requests go: set once the origin is up (its port is not known before) */
  setUpstream: (url: string) => void
  /** response body bytes sent through the link so far */
  bytes: () => number
  requests: () => number
  /** responses being paced now: 0 while the link sits idle */
  active: () => number
  stop: () => Promise<void>
}

export async function startWanLink (opts: { rateBytesPerSec: number, burstBytes?: number }): Promise<WanLink> {
  const bucket = createTokenBucket({ rateBytesPerSec: opts.rateBytesPerSec, burstBytes: opts.burstBytes ?? 64 * 1024, nowMs: Date.now() })
  const agent = new Agent({ keepAlive: true, maxSockets: 256 })
  let upstream: URL | undefined
  let sent = 0
  let count = 0
  let pacing = 0

  async function pace (from: IncomingMessage, to: ServerResponse): Promise<void> {
    pacing++
    try { await paceBody(from, to) } finally { pacing-- }
  }

  async function paceBody (from: IncomingMessage, to: ServerResponse): Promise<void> {
    for await (const buf of from as AsyncIterable<Buffer>) {
      for (let at = 0; at < buf.length; at += PIECE_BYTES) {
        const piece = buf.subarray(at, at + PIECE_BYTES)
        const wait = bucket.reserve(piece.length, Date.now())
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
        if (to.destroyed) return
        sent += piece.length
        if (!to.write(piece)) await Promise.race([once(to, 'drain'), once(to, 'close')])
      }
    }
    to.end()
  }

  const server = createServer((req, res) => {
    count++
    if (upstream === undefined) { res.writeHead(503).end(); return }
    const up = request(new URL(req.url ?? '/', upstream), { method: req.method, headers: { ...req.headers, host: upstream.host }, agent }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers)
      pace(upRes, res).catch(() => res.destroy())
    })
    up.on('error', () => { if (!res.headersSent) res.writeHead(502); res.end() })
    res.on('close', () => { if (!res.writableFinished) up.destroy() })
    req.pipe(up)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    setUpstream: (url) => { upstream = new URL(url) },
    bytes: () => sent,
    requests: () => count,
    active: () => pacing,
    stop: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      agent.destroy()
    }
  }
}
