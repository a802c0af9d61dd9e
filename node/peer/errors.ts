/**
 * Errors of the peer component. Bad bytes and wire-format breaches come from protocol/
 * (`ChunkCorruptError`, `ChunkProtocolError`, both `peerFault: true`); these add the
 * failures that are no reason to ban anyone.
 */
import { BranchcastError } from '../../protocol/index.ts'
import type { ErrorCode } from '../../protocol/index.ts'
import type { RefusalCode } from '../../protocol/index.ts'

export type PeerErrorCode = Extract<ErrorCode, 'ERR_PEER_REFUSED' | 'ERR_PEER_UNAVAILABLE'>

/**
 * The serving peer answered REFUSED. `reason` says why: 'busy' (try later or elsewhere),
 * 'invalid-token' (our token is stale or for another peer id: ask the tracker for a new
 * one), 'bad-request'. None of them is the server's misbehaviour.
 */
export class PeerRefusedError extends BranchcastError {
  readonly reason: RefusalCode
  readonly peerId: string

  constructor (peerId: string, reason: RefusalCode, message: string) {
    super('ERR_PEER_REFUSED', `peer ${peerId} refused: ${reason}${message === '' ? '' : ` (${message})`}`, { peerFault: false })
    this.reason = reason
    this.peerId = peerId
  }
}

/** Dialling failed, or the connection or stream was reset: the peer went away. */
export class PeerUnavailableError extends BranchcastError {
  readonly peerId: string
  /**
   * No stream could be opened, or the connection died under one: the peer is gone for now
   * (a mere stream reset on a live connection leaves it false). libp2p may still list a
   * dead connection as open, so callers cannot tell this from the connection list.
   */
  readonly unreachable: boolean

  constructor (peerId: string, message: string, options: { cause?: unknown, unreachable?: boolean } = {}) {
    super('ERR_PEER_UNAVAILABLE', message, { cause: options.cause, peerFault: false })
    this.peerId = peerId
    this.unreachable = options.unreachable ?? false
  }
}
