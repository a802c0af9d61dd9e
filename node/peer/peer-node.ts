/**
 * The node's libp2p peer: TCP, Noise, yamux, identify, and mDNS on the LAN as a second way
 * to find branch peers (the tracker's peer list is the first).
 */
import { createLibp2p } from 'libp2p'
import type { Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import type { ICryptoInterface } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { mdns } from '@libp2p/mdns'
import type { ConnectionEncrypter, PrivateKey } from '@libp2p/interface'
import type { Logger } from '../../protocol/index.ts'
import { loadOrCreatePeerKey } from './peer-key.ts'
import { createNoiseCrypto } from './noise-crypto.ts'
import { SendBuffers } from './send-buffers.ts'
import { oneWritePerSend } from './socket-writes.ts'
import type { PeerNode, PeerNodeComponents, PeerNodeInit } from './index.ts'

/** Noise with `crypto`, over a TCP connection that writes each Noise message in one go. */
function noiseOneWritePerSend (crypto: ICryptoInterface) {
  return (components: Parameters<ReturnType<typeof noise>>[0]): ConnectionEncrypter => {
    const encrypter = noise({ crypto })(components)
    const inbound = encrypter.secureInbound.bind(encrypter)
    const outbound = encrypter.secureOutbound.bind(encrypter)
    encrypter.secureInbound = async (connection, options) => await inbound(oneWritePerSend(connection), options)
    encrypter.secureOutbound = async (connection, options) => await outbound(oneWritePerSend(connection), options)
    return encrypter
  }
}

export class Libp2pPeerNode implements PeerNode {
  readonly libp2p: Libp2p
  readonly peerId: string
  readonly sendBuffers: SendBuffers
  readonly #log: Logger
  #started = false

  constructor (libp2p: Libp2p, sendBuffers: SendBuffers, log: Logger) {
    this.libp2p = libp2p
    this.peerId = libp2p.peerId.toString()
    this.sendBuffers = sendBuffers
    this.#log = log
  }

  static async create (init: PeerNodeInit, components: PeerNodeComponents): Promise<Libp2pPeerNode> {
    let privateKey: PrivateKey
    if (init.privateKey !== undefined) privateKey = init.privateKey
    else if (init.dataDir !== undefined) privateKey = await loadOrCreatePeerKey(init.dataDir)
    else throw new TypeError('createPeerNode needs dataDir or privateKey')
    if (privateKey.type !== 'Ed25519') throw new TypeError('the peer key must be Ed25519')
    const listen = [...(init.listen ?? ['/ip4/0.0.0.0/tcp/0'])]
    const sendBuffers = new SendBuffers()
    const libp2p = await createLibp2p({
      start: false,
      privateKey,
      addresses: { listen },
      transports: [tcp()],
      connectionEncrypters: [noiseOneWritePerSend(createNoiseCrypto(sendBuffers))],
      streamMuxers: [yamux()],
      peerDiscovery: init.mdns === true ? [mdns({ serviceTag: init.mdnsServiceTag ?? 'branchcast.local' })] : [],
      // no ping protocol is mounted, so the monitor would only log failures
      connectionMonitor: { enabled: false },
      services: { identify: identify() }
    })
    return new Libp2pPeerNode(libp2p, sendBuffers, components.logger.forComponent('node:peer'))
  }

  get multiaddrs (): string[] {
    return this.libp2p.getMultiaddrs().map(ma => ma.toString())
  }

  async start (): Promise<void> {
    if (this.#started) return
    await this.libp2p.start()
    this.#started = true
    this.#log.info('peer started', { peerId: this.peerId, multiaddrs: this.multiaddrs })
  }

  async stop (): Promise<void> {
    if (!this.#started) return
    this.#started = false
    await this.libp2p.stop()
    this.#log.info('peer stopped', { peerId: this.peerId })
  }
}
