// The chunk client against a real libp2p peer that lies: each lie gives its typed error,
// names the peer at fault, and ends the fetch within a bounded time.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { chunkId } from '../../../protocol/store/chunk-id.ts'
import { fetchChunksFromPeer, banReasonFor } from '../../../node/peer/index.ts'
import type { BanReason } from '../../../node/peer/index.ts'
import { startLyingPeer } from '../../helpers/lying-peer.ts'
import type { Lie } from '../../helpers/lying-peer.ts'
import { rejects } from '../../helpers/rejects.ts'
import { makeCapabilityKey, makeChunks, peerToken, startClientNode } from '../../helpers/test-peer.ts'

const cap = makeCapabilityKey()
const chunks = makeChunks(4, 16 * 1024)
const good = new Map(chunks.map(c => [chunkId(c), c]))
const ids = [...good.keys()]

const cases: Array<{ lie: Lie, code: string, ban: BanReason }> = [
  { lie: 'bad-bytes', code: 'ERR_CHUNK_CORRUPT', ban: 'corrupt-chunk' },
  { lie: 'truncate', code: 'ERR_CHUNK_PROTOCOL', ban: 'protocol-violation' },
  { lie: 'oversized', code: 'ERR_CHUNK_PROTOCOL', ban: 'protocol-violation' },
  { lie: 'unsolicited', code: 'ERR_CHUNK_PROTOCOL', ban: 'protocol-violation' },
  { lie: 'garbage', code: 'ERR_CHUNK_PROTOCOL', ban: 'protocol-violation' },
  { lie: 'early-done', code: 'ERR_CHUNK_PROTOCOL', ban: 'protocol-violation' },
  { lie: 'no-done', code: 'ERR_CHUNK_PROTOCOL', ban: 'protocol-violation' }
]

for (const { lie, code, ban } of cases) {
  test(`lying peer: ${lie} → ${code}, peer at fault, no hang`, async () => {
    const liar = await startLyingPeer(lie, good)
    const client = await startClientNode()
    try {
      const gen = fetchChunksFromPeer(client, liar.node.multiaddrs, peerToken(cap, client.peerId), ids, { signal: AbortSignal.timeout(20_000) })
      const received: string[] = []
      const err = await rejects((async () => { for await (const c of gen) received.push(c.id) })(), { code })
      assert.is((err as { peerFault?: boolean }).peerFault, true)
      assert.is((err as { peerId?: string }).peerId, liar.node.peerId)
      assert.is(banReasonFor(err), ban)
      // nothing unverified came out: only the good prefix of 'no-done'
      if (lie === 'no-done') assert.equal(received, ids)
      else assert.equal(received, [])
      assert.is(liar.requests, 1)
    } finally {
      await client.stop()
      await liar.stop()
    }
  })
}

test.run()
