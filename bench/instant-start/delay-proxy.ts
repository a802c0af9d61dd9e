/**
 * A TCP proxy that holds each direction's bytes for `delayMs` after they arrive, in order:
 * the delay of bench/instant-start's branch link on kernels without `sch_netem` (tc's
 * delay qdisc). The link's rate is `tc tbf` on the veth the proxied connections cross; the
 * proxy adds only time. With 10 ms each way a request and its answer take 20 ms more, as
 * over a link of 20 ms round trip. Unlike netem it does not delay TCP's own handshake and
 * acknowledgements, so TCP's congestion window does not see the delay (slow start over a
 * real 20 ms link is not modelled); every byte the node and the tracker exchange does.
 *
 *   npx node bench/instant-start/delay-proxy.ts DELAY_MS LISTEN_HOST:PORT=TARGET_HOST:PORT…
 *   (prints one JSON line with the ports it listens on once ready; stops on SIGTERM)
 */
import { connect, createServer } from 'node:net'
import type { Server, Socket } from 'node:net'

/** Bytes held in one direction (delayed or unwritten) before the sender is paused: far above 100 Mbit/s × delay. */
const MAX_HELD_BYTES = 8 * 1024 * 1024

export interface DelayProxyOptions {
  listenHost: string
  /** 0: any free port */
  listenPort: number
  targetHost: string
  targetPort: number
  /** each direction, from a byte's arrival to its being written on */
  delayMs: number
}

export interface DelayProxy {
  port: number
  close: () => Promise<void>
}

/** Copies `from` to `to`, each chunk `delayMs` after it arrived; the end too. */
function delayed (from: Socket, to: Socket, delayMs: number): void {
  let held = 0
  const flow = (): void => {
    const over = held + to.writableLength > MAX_HELD_BYTES
    if (over && !from.isPaused()) from.pause()
    else if (!over && from.isPaused()) from.resume()
  }
  // timers of one duration run in the order they were set: the bytes keep their order
  from.on('data', (chunk: Buffer) => {
    held += chunk.length
    flow()
    setTimeout(() => {
      held -= chunk.length
      if (!to.destroyed) to.write(chunk)
      flow()
    }, delayMs)
  })
  to.on('drain', flow)
  from.once('end', () => { setTimeout(() => { to.end() }, delayMs) })
}

export async function startDelayProxy (o: DelayProxyOptions): Promise<DelayProxy> {
  const sockets = new Set<Socket>()
  // half-open allowed: an end is passed on by `delayed`, after the bytes before it
  const server: Server = createServer({ noDelay: true, allowHalfOpen: true }, (client) => {
    const upstream = connect({ host: o.targetHost, port: o.targetPort, noDelay: true, allowHalfOpen: true })
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.once('close', () => { sockets.delete(s) })
      // a reset on one side resets the other
      s.once('error', () => { client.destroy(); upstream.destroy() })
    }
    delayed(client, upstream, o.delayMs)
    delayed(upstream, client, o.delayMs)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.listenPort, o.listenHost, () => { server.off('error', reject); resolve() })
  })
  const port = (server.address() as { port: number }).port
  return {
    port,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
    }
  }
}

function hostPort (text: string): { host: string, port: number } {
  const i = text.lastIndexOf(':')
  const port = Number(text.slice(i + 1))
  if (i <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`not HOST:PORT: ${text}`)
  return { host: text.slice(0, i), port }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const delayMs = Number(process.argv[2])
  if (!Number.isFinite(delayMs) || delayMs < 0) throw new TypeError('usage: delay-proxy.ts DELAY_MS LISTEN_HOST:PORT=TARGET_HOST:PORT…')
  const proxies = await Promise.all(process.argv.slice(3).map(async (m) => {
    const [listen, target] = m.split('=')
    const l = hostPort(listen ?? '')
    const t = hostPort(target ?? '')
    return await startDelayProxy({ listenHost: l.host, listenPort: l.port, targetHost: t.host, targetPort: t.port, delayMs })
  }))
  process.once('SIGTERM', () => { void Promise.all(proxies.map(async (p) => { await p.close() })).then(() => process.exit(0)) })
  process.stdout.write(`${JSON.stringify({ ports: proxies.map((p) => p.port) })}\n`)
}
