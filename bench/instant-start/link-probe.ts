/**
 * Measures bench/instant-start's branch link as the desk sees it: round trips of one byte
 * and the rate of a bulk download, through the delay proxy and the `tc`-shaped veth, from
 * inside the desk's network namespace. The host side (`startProbeServer`) echoes bytes or
 * sends a given count of them.
 *
 *   ip netns exec NS npx node bench/instant-start/link-probe.ts HOST:PORT [MB]   (one JSON line)
 */
import { connect, createServer } from 'node:net'
import type { Server, Socket } from 'node:net'

const PINGS = 11

export interface LinkMeasure {
  /** median of the one-byte round trips */
  rttMs: number
  rttsMs: number[]
  /** a bulk download's rate, first byte to last */
  rateMbitPerSec: number
  bytes: number
}

/** The host side: first byte `e` echoes every byte after it; `b` + 4-byte length sends that many bytes. */
export async function startProbeServer (host: string): Promise<{ port: number, close: () => Promise<void> }> {
  const sockets = new Set<Socket>()
  const server: Server = createServer({ noDelay: true }, (s) => {
    sockets.add(s)
    s.once('close', () => { sockets.delete(s) })
    s.on('error', () => { s.destroy() })
    let head = Buffer.alloc(0)
    const onData = (b: Buffer): void => {
      head = Buffer.concat([head, b])
      if (head[0] === 0x65) { s.off('data', onData); s.write(head.subarray(1)); s.pipe(s); return }
      if (head[0] === 0x62 && head.length >= 5) {
        s.off('data', onData)
        let left = head.readUInt32BE(1)
        const block = Buffer.alloc(64 * 1024, 0x5a)
        const more = (): void => {
          while (left > 0) {
            const n = Math.min(left, block.length)
            left -= n
            if (!s.write(block.subarray(0, n))) { s.once('drain', more); return }
          }
          s.end()
        }
        more()
      }
    }
    s.on('data', onData)
  })
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  return {
    port: (server.address() as { port: number }).port,
    close: async () => { for (const s of sockets) s.destroy(); await new Promise<void>((resolve) => server.close(() => { resolve() })) }
  }
}

async function open (host: string, port: number): Promise<Socket> {
  return await new Promise((resolve, reject) => {
    const s = connect({ host, port, noDelay: true }, () => { s.off('error', reject); resolve(s) })
    s.once('error', reject)
  })
}

export async function probeLink (host: string, port: number, bytes: number): Promise<LinkMeasure> {
  const echo = await open(host, port)
  echo.write('e')
  const rttsMs: number[] = []
  for (let i = 0; i < PINGS; i++) {
    const t0 = performance.now()
    const back = new Promise((resolve) => echo.once('data', resolve))
    echo.write('x')
    await back
    rttsMs.push(performance.now() - t0)
  }
  echo.destroy()
  const bulk = await open(host, port)
  const ask = Buffer.alloc(5)
  ask[0] = 0x62
  ask.writeUInt32BE(bytes, 1)
  let got = 0
  let first = 0
  const done = new Promise<number>((resolve, reject) => {
    bulk.on('data', (b: Buffer) => { if (got === 0) first = performance.now(); got += b.length })
    bulk.once('end', () => { resolve(performance.now()) })
    bulk.once('error', reject)
  })
  bulk.write(ask)
  const last = await done
  bulk.destroy()
  if (got !== bytes) throw new Error(`link probe: ${got} of ${bytes} bytes`)
  const sorted = [...rttsMs].sort((a, b) => a - b)
  return { rttMs: sorted[(sorted.length - 1) / 2]!, rttsMs, rateMbitPerSec: (got * 8) / ((last - first) / 1000) / 1e6, bytes: got }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [host, port] = (process.argv[2] ?? '').split(':')
  const mb = Number(process.argv[3] ?? 32)
  process.stdout.write(`${JSON.stringify(await probeLink(host!, Number(port), mb * 1024 * 1024))}\n`)
}
