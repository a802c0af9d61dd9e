/**
 * What the tracker's HTTP server allows a connection to hold, below the app: a cap on
 * connections in total and per client address, a deadline on request headers, and a
 * deadline on every request body except the streaming image upload (whose idle time and
 * minimum rate the repository enforces, see repository/publish.ts). A body still arriving
 * after its response was sent is not waited for: the connection is closed.
 *
 * Without these, 1,500 user connections each trickling a ~1 MiB body held 1.8 GB of the
 * tracker's memory (issue 11, finding 2): every body a route reads is buffered until it is
 * whole, so the bound on memory is connections × what a connection may send before its
 * deadline.
 */
import { createServer } from 'node:http'
import type { IncomingHttpHeaders, IncomingMessage, RequestListener, Server, ServerOptions, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Counter } from './metrics.ts'

export interface HttpGuardInit {
  /** open connections in all (Node's `server.maxConnections`: beyond it new ones are dropped) */
  maxConnections: number
  /** open connections per client address; beyond it a new one is closed at once */
  maxConnectionsPerAddress: number
  /**
   * non-upload requests whose body is still arriving, in all; beyond it a new one is answered
   * 503 at once (bodiless requests such as /healthz are never refused). A request costs
   * ~100 KiB before its body, so this bounds what slow bodies can hold.
   */
  maxBodiesInFlight: number
  /** a request's headers must be complete this long after its connection starts (or goes busy) */
  headersTimeoutMs: number
  /** a non-upload request's body must be complete this long after its headers */
  bodyDeadlineMs: number
  /** requests whose body may stream for longer (the image upload) */
  isStreamingUpload: (method: string, path: string) => boolean
  /** counts what the guard refused, by reason */
  refused?: Counter
  /**
   * A request with a body the app would refuse anyway, decided from its method, path and
   * headers alone (a credential already refused for its rate): answered here, before the app,
   * and its connection closed.
   */
  refuseEarly?: (method: string, path: string, headers: IncomingHttpHeaders) => EarlyRefusal | undefined
}

export interface EarlyRefusal {
  status: number
  headers: Record<string, string>
  code: string
  message: string
}

/**
 * A `createServer` for `@hono/node-server`'s `createAdaptorServer` that applies the limits:
 * the app's listener only sees requests the guard admitted.
 */
export function guardedServerFactory (init: HttpGuardInit): typeof createServer {
  const { maxConnections, maxConnectionsPerAddress, maxBodiesInFlight, headersTimeoutMs, bodyDeadlineMs, isStreamingUpload, refused, refuseEarly } = init
  for (const [name, v] of Object.entries({ maxConnections, maxConnectionsPerAddress, maxBodiesInFlight, headersTimeoutMs, bodyDeadlineMs })) {
    if (!Number.isSafeInteger(v) || v < 1) throw new TypeError(`${name} must be a positive integer`)
  }
  const factory = (options: ServerOptions, listener: RequestListener): Server => {
    let bodiesInFlight = 0
    const server = createServer(options, (req: IncomingMessage, res: ServerResponse) => {
      const path = (req.url ?? '/').split('?', 1)[0] ?? '/'
      const streaming = isStreamingUpload(req.method ?? 'GET', path)
      // Answered before its body arrived (401, 403, 413, 503, …): do not keep reading the rest.
      res.once('finish', () => {
        if (!req.complete) {
          res.shouldKeepAlive = false
          req.socket.destroySoon()
        }
      })
      // At the 'request' event even a bodiless GET is not yet `complete`: look at the headers.
      const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0'
      if (streaming || !hasBody || req.complete) {
        listener(req, res)
        return
      }
      const early = refuseEarly?.(req.method ?? 'GET', path, req.headers)
      if (early !== undefined) {
        refused?.inc({ reason: 'early' })
        res.writeHead(early.status, { ...early.headers, 'content-type': 'application/json', connection: 'close' })
        res.end(JSON.stringify({ error: { code: early.code, message: early.message } }))
        return
      }
      if (bodiesInFlight >= maxBodiesInFlight) {
        refused?.inc({ reason: 'bodies_in_flight' })
        res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1', connection: 'close' })
        res.end(JSON.stringify({ error: { code: 'ERR_UNAVAILABLE', message: 'too many request bodies in flight; retry' } }))
        return
      }
      bodiesInFlight++
      const timer = setTimeout(() => {
        if (req.complete) return
        refused?.inc({ reason: 'body_deadline' })
        req.socket.destroy()
      }, bodyDeadlineMs)
      timer.unref()
      let counted = true
      const done = (): void => {
        clearTimeout(timer)
        if (counted) { counted = false; bodiesInFlight-- }
      }
      req.once('end', done)
      req.once('close', done)
      res.once('close', done)
      listener(req, res)
    })
    server.maxConnections = maxConnections
    server.headersTimeout = headersTimeoutMs
    // No overall request timeout: uploads of many GiB run for hours. Bodies get their own
    // deadline above; uploads are governed by the repository's idle timeout and minimum rate.
    server.requestTimeout = 0

    const perAddress = new Map<string, number>()
    server.on('connection', (socket: Socket) => {
      const address = socket.remoteAddress ?? ''
      const open = (perAddress.get(address) ?? 0) + 1
      if (open > maxConnectionsPerAddress) {
        refused?.inc({ reason: 'connections_per_address' })
        socket.destroy()
        return
      }
      perAddress.set(address, open)
      socket.once('close', () => {
        const left = (perAddress.get(address) ?? 1) - 1
        if (left <= 0) perAddress.delete(address)
        else perAddress.set(address, left)
      })
    })
    return server
  }
  // node:http's createServer is overloaded (with or without options); hono always passes both.
  return factory as unknown as typeof createServer
}
