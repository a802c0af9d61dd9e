/**
 * A read-only NBD server on a Unix socket: how QEMU reads an image the node is still
 * pulling (instant start). Fixed newstyle handshake with `NBD_OPT_GO` / `NBD_OPT_INFO` and
 * the older `NBD_OPT_EXPORT_NAME`; simple replies only (structured replies are refused, as
 * the spec allows); requests answered out of order as their data arrives, matched by handle.
 * Protocol: https://github.com/NetworkBlockDevice/nbd/blob/master/doc/proto.md
 *
 * Each export is a `BlockSource` whose `read` resolves to verified bytes only, waiting for
 * them if it must: the server never answers a read with anything else. Writes, trims and
 * zeroing are refused (EPERM): the guest writes to its qcow2 overlay, never to the base.
 *
 * Everything a client sends is bounded: option count and size, request length, requests in
 * flight (the server stops reading until one is answered), time to finish the handshake.
 * A client that breaks the protocol is disconnected; the others are not affected.
 */
import { chmod, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import type { Server, Socket } from 'node:net'
import type { Logger } from '../../protocol/index.ts'
import { ByteReader, ReaderClosedError } from './byte-reader.ts'
import {
  CMD, ERRNO, HANDSHAKE_FLAGS, INFO, NBDMAGIC, IHAVEOPT, OPT, OPTION_REPLY_MAGIC, REP, REQUEST_MAGIC, SIMPLE_REPLY_MAGIC, TRANSMISSION_FLAGS
} from './nbd-constants.ts'

/** What an export reads from: `size` bytes, each read resolving to exactly `length` verified bytes. */
export interface BlockSource {
  readonly size: number
  /** May wait for the bytes to arrive; rejects (→ EIO to the guest) only when they never will. */
  read: (offset: number, length: number, signal: AbortSignal) => Promise<Uint8Array>
}

export interface NbdServerInit {
  /** the Unix socket to listen on (created mode 0600; an old file there is replaced) */
  socketPath: string
  /** the export a name selects, or undefined for an unknown name */
  lookup: (name: string) => BlockSource | undefined
  logger?: Logger
  /** largest read a client may ask for (default 32 MiB, the most QEMU asks) */
  maxRequestBytes?: number
  /** reads answered concurrently per connection; beyond it the server stops reading requests (default 16) */
  maxInFlight?: number
  /** the handshake must be done within this (default 10 s) */
  handshakeTimeoutMs?: number
  /** connections at once (default 8: a VM opens one, qemu-img a few) */
  maxConnections?: number
}

export interface NbdServer {
  readonly socketPath: string
  /** Disconnects every client (their pending reads are aborted) and removes the socket. */
  close: () => Promise<void>
}

const MAX_OPTION_BYTES = 4096 + 64
const MAX_OPTIONS = 64
const OPTION_HEADER_BYTES = 16
const REQUEST_HEADER_BYTES = 28

/** A protocol violation: the connection is dropped. */
class NbdProtocolError extends Error {}

export async function startNbdServer (init: NbdServerInit): Promise<NbdServer> {
  const maxRequestBytes = init.maxRequestBytes ?? 32 * 2 ** 20
  const maxInFlight = init.maxInFlight ?? 16
  const handshakeTimeoutMs = init.handshakeTimeoutMs ?? 10_000
  const connections = new Set<Socket>()
  const aborts = new Set<AbortController>()

  const server: Server = createServer((socket) => {
    connections.add(socket)
    const abort = new AbortController()
    aborts.add(abort)
    socket.once('close', () => { connections.delete(socket); aborts.delete(abort); abort.abort() })
    socket.on('error', () => {}) // a client going away mid-reply is its business
    serve(socket, abort.signal).catch((err: unknown) => {
      if (!(err instanceof ReaderClosedError)) init.logger?.warn('nbd client dropped', { error: err instanceof Error ? err.message : String(err) })
      socket.destroy()
    })
  })
  server.maxConnections = init.maxConnections ?? 8

  async function serve (socket: Socket, signal: AbortSignal): Promise<void> {
    const reader = new ByteReader(socket, Math.max(maxRequestBytes, MAX_OPTION_BYTES) + REQUEST_HEADER_BYTES)
    const timer = setTimeout(() => socket.destroy(), handshakeTimeoutMs)
    let source: BlockSource
    try {
      source = await handshake(socket, reader)
    } finally {
      clearTimeout(timer)
    }
    await transmission(socket, reader, source, signal)
  }

  async function handshake (socket: Socket, reader: ByteReader): Promise<BlockSource> {
    const hello = Buffer.alloc(18)
    hello.writeBigUInt64BE(NBDMAGIC, 0)
    hello.writeBigUInt64BE(IHAVEOPT, 8)
    hello.writeUInt16BE(HANDSHAKE_FLAGS.FIXED_NEWSTYLE | HANDSHAKE_FLAGS.NO_ZEROES, 16)
    socket.write(hello)
    const clientFlags = (await reader.read(4)).readUInt32BE(0)
    if ((clientFlags & ~(HANDSHAKE_FLAGS.FIXED_NEWSTYLE | HANDSHAKE_FLAGS.NO_ZEROES)) !== 0) throw new NbdProtocolError(`unknown client flags ${clientFlags}`)
    const noZeroes = (clientFlags & HANDSHAKE_FLAGS.NO_ZEROES) !== 0

    for (let n = 0; n < MAX_OPTIONS; n++) {
      const head = await reader.read(OPTION_HEADER_BYTES)
      if (head.readBigUInt64BE(0) !== IHAVEOPT) throw new NbdProtocolError('bad option magic')
      const option = head.readUInt32BE(8)
      const length = head.readUInt32BE(12)
      if (length > MAX_OPTION_BYTES) throw new NbdProtocolError(`option of ${length} bytes`)
      const data = await reader.read(length)
      switch (option) {
        case OPT.EXPORT_NAME: {
          // No error is possible here: an unknown name ends the connection.
          const source = init.lookup(data.toString('utf8'))
          if (source === undefined) throw new NbdProtocolError('unknown export')
          const answer = Buffer.alloc(noZeroes ? 10 : 134)
          answer.writeBigUInt64BE(BigInt(source.size), 0)
          answer.writeUInt16BE(TRANSMISSION_FLAGS, 8)
          socket.write(answer)
          return source
        }
        case OPT.ABORT:
          optionReply(socket, option, REP.ACK)
          socket.end()
          throw new ReaderClosedError()
        case OPT.LIST:
          // Exports are named by the node per VM and are not for listing.
          optionReply(socket, option, REP.ERR_POLICY)
          break
        case OPT.INFO:
        case OPT.GO: {
          const request = parseGo(data)
          if (request === undefined) { optionReply(socket, option, REP.ERR_INVALID); break }
          const source = init.lookup(request.name)
          if (source === undefined) { optionReply(socket, option, REP.ERR_UNKNOWN); break }
          const exportInfo = Buffer.alloc(12)
          exportInfo.writeUInt16BE(INFO.EXPORT, 0)
          exportInfo.writeBigUInt64BE(BigInt(source.size), 2)
          exportInfo.writeUInt16BE(TRANSMISSION_FLAGS, 10)
          optionReply(socket, option, REP.INFO, exportInfo)
          if (request.infos.includes(INFO.BLOCK_SIZE)) {
            const sizes = Buffer.alloc(14)
            sizes.writeUInt16BE(INFO.BLOCK_SIZE, 0)
            sizes.writeUInt32BE(1, 2)
            sizes.writeUInt32BE(4096, 6)
            sizes.writeUInt32BE(maxRequestBytes, 10)
            optionReply(socket, option, REP.INFO, sizes)
          }
          optionReply(socket, option, REP.ACK)
          if (option === OPT.GO) return source
          break
        }
        case OPT.STARTTLS:
          optionReply(socket, option, REP.ERR_POLICY) // a Unix socket in the user's own directory
          break
        default:
          // NBD_OPT_STRUCTURED_REPLY, meta contexts, …: simple replies only.
          optionReply(socket, option, REP.ERR_UNSUP)
      }
    }
    throw new NbdProtocolError(`more than ${MAX_OPTIONS} options`)
  }

  async function transmission (socket: Socket, reader: ByteReader, source: BlockSource, signal: AbortSignal): Promise<void> {
    let inFlight = 0
    let slotFreed: (() => void) | undefined
    for (;;) {
      while (inFlight >= maxInFlight) await new Promise<void>((resolve) => { slotFreed = resolve })
      const head = await reader.read(REQUEST_HEADER_BYTES)
      if (head.readUInt32BE(0) !== REQUEST_MAGIC) throw new NbdProtocolError('bad request magic')
      const type = head.readUInt16BE(6)
      const handle = head.subarray(8, 16)
      const offset = head.readBigUInt64BE(16)
      const length = head.readUInt32BE(24)
      if (type === CMD.DISC) {
        while (inFlight > 0) await new Promise<void>((resolve) => { slotFreed = resolve })
        socket.end()
        return
      }
      if (type === CMD.WRITE) {
        // The payload follows the header whatever we answer: read it past, bounded.
        if (length > maxRequestBytes) throw new NbdProtocolError(`write of ${length} bytes`)
        await reader.read(length)
        simpleReply(socket, handle, ERRNO.EPERM)
        continue
      }
      if (type === CMD.TRIM || type === CMD.WRITE_ZEROES) { simpleReply(socket, handle, ERRNO.EPERM); continue }
      if (type === CMD.FLUSH) { simpleReply(socket, handle, 0); continue }
      if (type !== CMD.READ) { simpleReply(socket, handle, ERRNO.EINVAL); continue }
      if (length === 0 || length > maxRequestBytes || offset + BigInt(length) > BigInt(source.size)) {
        simpleReply(socket, handle, length > maxRequestBytes ? ERRNO.EOVERFLOW : ERRNO.EINVAL)
        continue
      }
      inFlight++
      const at = Number(offset)
      source.read(at, length, signal).then((data) => {
        if (data.byteLength !== length) throw new Error(`source answered ${data.byteLength} bytes for ${length}`)
        simpleReply(socket, handle, 0, data)
      }, (err: unknown) => {
        if (signal.aborted) return
        init.logger?.warn('nbd read failed', { offset: at, length, error: err instanceof Error ? err.message : String(err) })
        simpleReply(socket, handle, ERRNO.EIO)
      }).catch((err: unknown) => {
        init.logger?.warn('nbd read failed', { offset: at, length, error: err instanceof Error ? err.message : String(err) })
        simpleReply(socket, handle, ERRNO.EIO)
      }).finally(() => {
        inFlight--
        const wake = slotFreed
        slotFreed = undefined
        wake?.()
      })
    }
  }

  await rm(init.socketPath, { force: true })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(init.socketPath, () => { server.off('error', reject); resolve() })
  })
  await chmod(init.socketPath, 0o600)

  return {
    socketPath: init.socketPath,
    async close () {
      for (const a of aborts) a.abort()
      for (const s of connections) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await rm(init.socketPath, { force: true })
    }
  }
}

/** `NBD_OPT_GO` / `NBD_OPT_INFO` data: a name and the information types asked for; undefined when malformed. */
function parseGo (data: Buffer): { name: string, infos: number[] } | undefined {
  if (data.byteLength < 6) return undefined
  const nameLength = data.readUInt32BE(0)
  if (nameLength > 4096 || 4 + nameLength + 2 > data.byteLength) return undefined
  const name = data.subarray(4, 4 + nameLength).toString('utf8')
  const count = data.readUInt16BE(4 + nameLength)
  if (data.byteLength !== 4 + nameLength + 2 + 2 * count) return undefined
  const infos: number[] = []
  for (let i = 0; i < count; i++) infos.push(data.readUInt16BE(4 + nameLength + 2 + 2 * i))
  return { name, infos }
}

function optionReply (socket: Socket, option: number, type: number, data: Buffer = Buffer.alloc(0)): void {
  const head = Buffer.alloc(20)
  head.writeBigUInt64BE(OPTION_REPLY_MAGIC, 0)
  head.writeUInt32BE(option, 8)
  head.writeUInt32BE(type, 12)
  head.writeUInt32BE(data.byteLength, 16)
  socket.write(data.byteLength === 0 ? head : Buffer.concat([head, data]))
}

function simpleReply (socket: Socket, handle: Buffer, error: number, data?: Uint8Array): void {
  if (socket.destroyed) return
  const head = Buffer.alloc(16)
  head.writeUInt32BE(SIMPLE_REPLY_MAGIC, 0)
  head.writeUInt32BE(error, 4)
  handle.copy(head, 8)
  // One reply's bytes go out together, never interleaved with another's.
  socket.cork()
  socket.write(head)
  if (data !== undefined) socket.write(data)
  socket.uncork()
}
