// The libp2p peer itself: a persistent identity, listening on loopback.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createPeerNode } from '../../../node/peer/index.ts'
import { withTmpDir } from '../../helpers/tmp-dir.ts'
import { silent } from '../../helpers/test-peer.ts'

test('the peer key is created once (0600) and gives the same peer id after a restart', async () => {
  await withTmpDir(async (dir) => {
    const dataDir = join(dir, 'node')
    const first = await createPeerNode({ dataDir, listen: ['/ip4/127.0.0.1/tcp/0'], logger: silent })
    await first.start()
    try {
      assert.ok(first.multiaddrs.length > 0)
      for (const ma of first.multiaddrs) assert.ok(ma.startsWith('/ip4/127.0.0.1/tcp/') && ma.endsWith(`/p2p/${first.peerId}`), ma)
    } finally {
      await first.stop()
    }
    const keyPath = join(dataDir, 'peer.key')
    assert.is((await stat(keyPath)).mode & 0o777, 0o600)
    const key = await readFile(keyPath)
    const second = await createPeerNode({ dataDir, listen: ['/ip4/127.0.0.1/tcp/0'], logger: silent })
    await second.start()
    try {
      assert.is(second.peerId, first.peerId)
    } finally {
      await second.stop()
    }
    assert.ok(key.equals(await readFile(keyPath)), 'the key file is not rewritten')
  })
})

test('a damaged peer key is an error, not a silent new identity', async () => {
  await withTmpDir(async (dir) => {
    await writeFile(join(dir, 'peer.key'), 'not a key', { mode: 0o600 })
    let failed = false
    try {
      await createPeerNode({ dataDir: dir, logger: silent })
    } catch {
      failed = true
    }
    assert.ok(failed)
  })
})

test('neither dataDir nor privateKey is a caller mistake (TypeError)', async () => {
  let err: unknown
  try {
    await createPeerNode({ listen: ['/ip4/127.0.0.1/tcp/0'], logger: silent })
  } catch (e) {
    err = e
  }
  assert.instance(err, TypeError)
})

test('with mDNS on, two nodes find each other on the LAN', async () => {
  const tag = `branchcast-test-${process.pid}-${Date.now()}.local`
  const a = await createPeerNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/0.0.0.0/tcp/0'], mdns: true, mdnsServiceTag: tag, logger: silent })
  const b = await createPeerNode({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/0.0.0.0/tcp/0'], mdns: true, mdnsServiceTag: tag, logger: silent })
  try {
    const found = new Promise<string>((resolve) => {
      a.libp2p.addEventListener('peer:discovery', (evt) => { if (evt.detail.id.toString() === b.peerId) resolve(b.peerId) })
    })
    await a.start()
    await b.start()
    const winner = await Promise.race([found, new Promise<string>((resolve) => { setTimeout(resolve, 15_000, 'timeout').unref() })])
    assert.is(winner, b.peerId)
  } finally {
    await a.stop()
    await b.stop()
  }
})

test.run()
