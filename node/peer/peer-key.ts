/**
 * The node's persistent libp2p identity: an Ed25519 key in `<dataDir>/peer.key` (libp2p's
 * protobuf form, mode 0600), created once. The peer id is what capability tokens are bound
 * to, so it must survive restarts.
 */
import { link, mkdir, readFile, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { PEER_KEY_FILE } from '../constants.ts'
import { writeDurableTemp } from '../state-file.ts'

/** Reads the key, or creates it (atomically: a crash never leaves half a key). */
export async function loadOrCreatePeerKey (dataDir: string): Promise<PrivateKey> {
  const path = join(dataDir, PEER_KEY_FILE)
  try {
    return privateKeyFromProtobuf(await readFile(path))
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ENOENT') throw err
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const key = await generateKeyPair('Ed25519')
  const tmp = await writeDurableTemp(path, privateKeyToProtobuf(key))
  try {
    // link, not rename: if another process created the key meanwhile, keep theirs
    await link(tmp, path)
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'EEXIST') throw err
  } finally {
    await unlink(tmp).catch(() => {})
  }
  return privateKeyFromProtobuf(await readFile(path))
}
