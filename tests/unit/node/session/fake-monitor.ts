/**
 * A scripted peer on a Unix socket for the QMP and guest-agent client tests: `onLine` gets
 * each JSON line the client sends (with the bytes before it) and writes raw answers back.
 */
import { createServer } from 'node:net'
import type { Socket } from 'node:net'
import { join } from 'node:path'
import { makeTmpDir } from '../../../helpers/tmp-dir.ts'
import { rm } from 'node:fs/promises'

export interface FakePeer {
  path: string
  close: () => Promise<void>
}

export async function fakePeer (onConnect: (socket: Socket) => void, onLine: (socket: Socket, line: Record<string, unknown>) => void): Promise<FakePeer> {
  const dir = await makeTmpDir('branchcast-fake-qmp-')
  const path = join(dir, 'peer.sock')
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    let buffered = ''
    socket.on('data', (b: Buffer) => {
      buffered += b.toString('latin1').replaceAll('\xff', '')
      let nl: number
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const text = buffered.slice(0, nl)
        buffered = buffered.slice(nl + 1)
        onLine(socket, JSON.parse(text))
      }
    })
    onConnect(socket)
  })
  await new Promise<void>((resolve) => server.listen(path, resolve))
  return {
    path,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await rm(dir, { recursive: true, force: true })
    }
  }
}

export function send (socket: Socket, value: unknown): void {
  socket.write(JSON.stringify(value) + '\n')
}

/** Answers a guest-sync-delimited as qemu-ga does: 0xFF, then the id back; false for other lines. */
export function answerSync (socket: Socket, line: Record<string, unknown>): boolean {
  if (line.execute !== 'guest-sync-delimited') return false
  socket.write(Buffer.concat([Buffer.from([0xff]), Buffer.from(JSON.stringify({ return: (line.arguments as { id: number }).id }) + '\n')]))
  return true
}
