/**
 * Tools for resource tests against a tracker running as its own process: its RSS from
 * /proc, /healthz latency probes from a separate client address, and raw slow HTTP
 * connections (headers, then a body trickled in pieces) that report when the server
 * closes them. Everything started here is closed by the returned `close()`.
 */
import { readFile } from 'node:fs/promises'
import { connect } from 'node:net'
import type { Socket } from 'node:net'
import { request } from 'node:http'

/** Resident set size of a process, in bytes (Linux /proc). */
export async function rssBytes (pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1]
  if (kb === undefined) throw new Error(`no VmRSS for ${pid}`)
  return Number(kb) * 1024
}

/** One GET /healthz on a fresh connection from `localAddress`; its latency in ms, or Infinity when it failed or took over `timeoutMs`. */
export async function healthzLatencyMs (url: string, localAddress = '127.0.0.2', timeoutMs = 5_000): Promise<number> {
  const started = performance.now()
  return await new Promise((resolve) => {
    const req = request(`${url}/healthz`, { localAddress, agent: false, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
      res.resume()
      res.once('end', () => resolve(res.statusCode === 200 ? performance.now() - started : Infinity))
      res.once('error', () => resolve(Infinity))
    })
    req.once('error', () => resolve(Infinity))
    req.end()
  })
}

export function percentile (values: readonly number[], p: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1)]!
}

export interface SlowConnection {
  socket: Socket
  /** resolves with ms since the connection opened, when the server closed it */
  closed: Promise<number>
}

export interface SlowFlood {
  connections: SlowConnection[]
  /** connections the server has closed so far */
  closedCount: () => number
  close: () => void
}

export interface SlowFloodOptions {
  host: string
  port: number
  count: number
  /** the request head (request line + headers, no blank line) */
  head: string
  /** bytes sent per piece of body, and how often */
  pieceBytes: number
  everyMs: number
  /** client addresses to spread connections over (default 127.0.0.1) */
  localAddresses?: string[]
}

/** Opens `count` connections that send `head` and then trickle a body that never ends. */
export async function slowFlood (o: SlowFloodOptions): Promise<SlowFlood> {
  const addresses = o.localAddresses ?? ['127.0.0.1']
  const piece = Buffer.alloc(o.pieceBytes, 0x20)
  const connections: SlowConnection[] = []
  let closedCount = 0
  const opened = Array.from({ length: o.count }, async (_, i) => await new Promise<void>((resolve) => {
    const started = performance.now()
    const socket = connect({ host: o.host, port: o.port, localAddress: addresses[i % addresses.length] })
    socket.on('error', () => {})
    socket.on('data', () => {}) // answers are read and dropped
    const closed = new Promise<number>((done) => socket.once('close', () => { closedCount++; done(performance.now() - started) }))
    connections.push({ socket, closed })
    socket.once('connect', () => { socket.write(`${o.head}\r\n\r\n`); resolve() })
    socket.once('close', () => resolve())
  }))
  await Promise.all(opened)
  const timer = setInterval(() => {
    for (const c of connections) if (!c.socket.destroyed) c.socket.write(piece)
  }, o.everyMs)
  return {
    connections,
    closedCount: () => closedCount,
    close: () => {
      clearInterval(timer)
      for (const c of connections) c.socket.destroy()
    }
  }
}

/** Resolves once `cond()` holds, checking every `everyMs`; rejects after `timeoutMs`, naming `what`. */
export async function until (cond: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 100, what = 'condition'): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!await cond()) {
    if (performance.now() > deadline) throw new Error(`${what} not met in ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}
