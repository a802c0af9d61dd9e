/**
 * One socket write per send on a TCP connection, for what Noise hands it.
 *
 * `@chainsafe/libp2p-noise` 17 sends each message as a list: its 2-byte length, then the
 * sealed bytes; `@libp2p/tcp` writes every piece of a list with a `socket.write` of its
 * own, and with Nagle off each is a syscall and a segment. So every Noise message cost two
 * socket writes (a yamux window update: two writes for 30 bytes), and a serving node made
 * ~68 per MiB sent, a fetching one ~36 (bench/p2p, counted). Here a connection's list is
 * written corked, so Node hands it to the kernel as one writev, pieces by reference (no
 * copy). The bytes on the wire are the same. (Noise once joined the length to the data
 * itself: ChainSafe/js-libp2p-noise#387.)
 *
 * This reaches into the TCP connection (`socket`, `sendData`, as `@libp2p/tcp`'s
 * `socket-to-conn` has them): a connection without them (another transport, another
 * version) is left as it is.
 */
import { Socket } from 'node:net'
import type { MessageStream } from '@libp2p/interface'

/** What `@libp2p/tcp` 11's connection has that this uses. */
interface TcpConnection {
  socket?: unknown
  sendData?: (data: Iterable<Uint8Array> & { byteLength: number }) => { sentBytes: number, canSendMore: boolean }
}

/**
 * Makes `connection` (a TCP connection, before it is encrypted) write each list it sends
 * in one go. Returns it.
 */
export function oneWritePerSend<T extends MessageStream> (connection: T): T {
  const conn = connection as unknown as TcpConnection
  const socket = conn.socket
  if (!(socket instanceof Socket) || typeof conn.sendData !== 'function') return connection
  conn.sendData = (data) => {
    let sentBytes = 0
    socket.cork()
    try {
      for (const piece of data) {
        socket.write(piece)
        sentBytes += piece.byteLength
      }
    } finally {
      socket.uncork()
    }
    // a 'drain' follows whenever the socket's buffer passed its mark (the connection waits for it)
    return { sentBytes, canSendMore: !socket.writableNeedDrain }
  }
  return connection
}
