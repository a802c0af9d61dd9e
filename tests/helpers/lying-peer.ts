/**
 * A real libp2p node that speaks `/branchcast/chunks/1` badly, for tests of the client's
 * defences. It reads the first REQUEST, then misbehaves as told. `good` is a map of
 * chunks it answers correctly where the lie needs a well-formed prefix.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import {
  CHUNK_PROTOCOL, MAX_FRAME_BYTES, encodeChunk, encodeDone, encodeMissing, readFrames
} from '../../protocol/wire/chunk-protocol.ts'
import { chunkId } from '../../protocol/store/chunk-id.ts'
import { createLogger } from '../../protocol/logger.ts'
import { writeVarint } from '../../protocol/wire/varint.ts'
import { createPeerNode } from '../../node/peer/index.ts'
import type { PeerNode } from '../../node/peer/index.ts'

export type Lie =
  /** CHUNK frames with the requested id but other bytes */
  | 'bad-bytes'
  /** half of a CHUNK frame, then a clean close */
  | 'truncate'
  /** a length prefix above MAX_FRAME_BYTES */
  | 'oversized'
  /** a valid chunk nobody asked for */
  | 'unsolicited'
  /** random bytes */
  | 'garbage'
  /** DONE with ids unanswered */
  | 'early-done'
  /** answers correctly, then closes before the last DONE */
  | 'no-done'

export interface LyingPeer {
  node: PeerNode
  /** its key, to prove its peer id when announcing it */
  privateKey: PrivateKey
  /** requests it has read */
  readonly requests: number
  stop: () => Promise<void>
}

export async function startLyingPeer (lie: Lie, good: ReadonlyMap<string, Uint8Array> = new Map()): Promise<LyingPeer> {
  const privateKey = await generateKeyPair('Ed25519')
  const node = await createPeerNode({
    privateKey,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    logger: createLogger({ level: 'silent' })
  })
  let requests = 0
  await node.libp2p.handle(CHUNK_PROTOCOL, async (stream) => {
    try {
      for await (const msg of readFrames(stream)) {
        if (msg.type !== 'request') break
        requests++
        const first = msg.ids[0]!
        switch (lie) {
          case 'bad-bytes': {
            const bytes = new TextEncoder().encode(`not the chunk ${first}`)
            stream.send(encodeChunk(first, bytes, false))
            break
          }
          case 'truncate': {
            const frame = encodeChunk(first, good.get(first) ?? new Uint8Array(4096), false)
            stream.send(frame.subarray(0, frame.length >> 1))
            break
          }
          case 'oversized': {
            const prefix = new Uint8Array(10)
            const n = writeVarint(prefix, 0, MAX_FRAME_BYTES + 1)
            stream.send(prefix.subarray(0, n))
            stream.send(new Uint8Array(1024))
            break
          }
          case 'unsolicited': {
            const other = new TextEncoder().encode('a chunk nobody asked for')
            stream.send(encodeChunk(chunkId(other), other, false))
            break
          }
          case 'garbage':
            stream.send(crypto.getRandomValues(new Uint8Array(4096)))
            break
          case 'early-done':
            stream.send(encodeDone())
            break
          case 'no-done':
            for (const id of msg.ids) {
              const bytes = good.get(id)
              stream.send(bytes === undefined ? encodeMissing(id) : encodeChunk(id, bytes, false))
            }
            break
        }
        await stream.close()
        return
      }
    } catch {
      // the client dropped the stream: that is the point
    }
    stream.abort(new Error('lying peer done'))
  })
  await node.start()
  return {
    node,
    privateKey,
    get requests () { return requests },
    async stop () { await node.stop() }
  }
}
