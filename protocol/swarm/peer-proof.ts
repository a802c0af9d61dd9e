/**
 * A node proves it holds the key behind its peer id when it registers with the tracker
 * (issue 11, finding 5): it signs a timestamped statement with its libp2p Ed25519 key, and
 * the tracker verifies it against the public key embedded in the peer id. Without it,
 * whoever first named a peer id — learnt from mDNS on the LAN — owned it.
 *
 * The statement names the peer id and the signing time; the tracker accepts it within
 * `PEER_PROOF_MAX_SKEW_MS` of its own clock, so a proof seen in a log is soon worthless.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'

/** How far a proof's time may be from the tracker's: clocks of desks drift by minutes at most. */
export const PEER_PROOF_MAX_SKEW_MS = 5 * 60_000
/** base64 of an Ed25519 signature is 88 characters; anything much longer is not one. */
export const MAX_PEER_PROOF_SIGNATURE_CHARS = 128

export interface PeerProof {
  /** when the node signed, ms since the epoch */
  atMs: number
  /** base64 Ed25519 signature over `peerProofStatement(peerId, atMs)` */
  signature: string
}

/** The bytes a node signs: a domain tag, its peer id and the time. */
export function peerProofStatement (peerId: string, atMs: number): Uint8Array {
  return new TextEncoder().encode(`branchcast/peer-proof/1\n${peerId}\n${atMs}`)
}

/** Signs a proof for the peer id of `key` at `atMs`. */
export async function signPeerProof (key: PrivateKey, peerId: string, atMs: number): Promise<PeerProof> {
  const signature = await key.sign(peerProofStatement(peerId, atMs))
  return { atMs, signature: Buffer.from(signature).toString('base64') }
}

/**
 * Whether `proof` was signed by the key embedded in `peerId`, within the allowed skew of
 * `nowMs`. False (never a throw) for ids without an embedded key (RSA), bad base64, a
 * wrong signature or a stale time.
 */
export async function verifyPeerProof (peerId: string, proof: PeerProof, nowMs: number): Promise<boolean> {
  if (!Number.isSafeInteger(proof.atMs) || Math.abs(nowMs - proof.atMs) > PEER_PROOF_MAX_SKEW_MS) return false
  if (proof.signature.length > MAX_PEER_PROOF_SIGNATURE_CHARS || !/^[A-Za-z0-9+/]+={0,2}$/.test(proof.signature)) return false
  try {
    const publicKey = peerIdFromString(peerId).publicKey
    if (publicKey === undefined) return false
    return await publicKey.verify(peerProofStatement(peerId, proof.atMs), Buffer.from(proof.signature, 'base64'))
  } catch {
    return false
  }
}
