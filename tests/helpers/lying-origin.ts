/**
 * A real node:http origin on port 0 whose behaviour is picked by the first path segment
 * (`/<name>/…`): tests of the origin client serve honest and lying answers side by side.
 */
import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export type Behaviour = (req: IncomingMessage, res: ServerResponse) => void

export interface LyingOrigin {
  /** `http://127.0.0.1:<port>` */
  base: string
  /** every request seen: its URL and Authorization header */
  seen: Array<{ url: string, auth?: string }>
  stop: () => Promise<void>
}

export async function startLyingOrigin (behaviours: Record<string, Behaviour>): Promise<LyingOrigin> {
  const seen: LyingOrigin['seen'] = []
  const server: Server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', auth: req.headers.authorization })
    const b = behaviours[/^\/([A-Za-z0-9]+)\//.exec(req.url ?? '')?.[1] ?? '']
    if (b === undefined) { res.writeHead(404); res.end(); return }
    b(req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    stop: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
