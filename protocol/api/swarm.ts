/**
 * The swarm API: a node announces what it holds of an image version
 * (`POST /api/v1/swarm/announce`) and gets back peers, a peer capability, its origin share,
 * origin access and its policy's transfer limits; `POST /api/v1/swarm/leave` drops it.
 * The bitfield and the origin-share rule themselves are in `../swarm/`.
 */
import { z } from 'zod'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { ImageNameSchema } from './common.ts'
import { OriginAccessSchema } from './origin.ts'
import { isOriginShare } from '../swarm/origin-share.ts'
import { MAX_PEER_PROOF_SIGNATURE_CHARS } from '../swarm/peer-proof.ts'

/**
 * An announce body: dominated by the `have` bitfield, base64 of ceil(chunkCount/8) bytes —
 * ~175 KiB for a 64 GiB image of ~1 M chunks; 1 MiB leaves room for ~6 M chunks.
 */
export const MAX_ANNOUNCE_BODY_BYTES = 1024 * 1024
/** Addresses per announce: a node has a handful (IPv4, IPv6, a relay); more is abuse. */
export const MAX_ANNOUNCE_ADDRS = 16
/** One multiaddr string: real ones are well under 200 characters. */
export const MAX_MULTIADDR_CHARS = 256
/** A leave body is three short fields. */
export const MAX_LEAVE_BODY_BYTES = 4096

/** base58btc peer ids (Ed25519 `12D3KooW…`, RSA `Qm…`, secp256k1 `16Uiu2…`) or a CIDv1 (`b…`). */
const PEER_ID_SHAPE = /^(?:[1-9A-HJ-NP-Za-km-z]{46,60}|b[a-z2-7]{50,70})$/

function isPeerId (s: string): boolean {
  if (!PEER_ID_SHAPE.test(s)) return false
  try {
    peerIdFromString(s)
    return true
  } catch {
    return false
  }
}

function isMultiaddr (s: string): boolean {
  try {
    multiaddr(s)
    return true
  } catch {
    return false
  }
}

export const PeerIdSchema = z.string().max(128).refine(isPeerId, 'not a libp2p peer id')
/** Sites are short printable names chosen by admins or derived from the branch network. */
export const SiteSchema = z.string().min(1).max(100).regex(/^[\x21-\x7e]+$/, 'site must be printable ASCII without spaces')

export const AnnounceBodySchema = z.object({
  image: ImageNameSchema,
  version: z.number().int().min(1),
  peerId: PeerIdSchema,
  site: SiteSchema,
  addrs: z.array(z.string().min(1).max(MAX_MULTIADDR_CHARS).refine(isMultiaddr, 'not a multiaddr')).max(MAX_ANNOUNCE_ADDRS),
  /** base64 bitfield over the version's manifest indexes, at most ceil(chunkCount/8) bytes */
  have: z.string().max(MAX_ANNOUNCE_BODY_BYTES),
  /** bits set in `have` */
  haveCount: z.number().int().min(0),
  hostname: z.string().max(255).optional(),
  agentVersion: z.string().max(64).optional(),
  /**
   * The peer id's key signed `peerProofStatement(peerId, atMs)` (`../swarm/peer-proof.ts`).
   * Required the first time a peer id registers with a user (and to take over an id another
   * user named without proof); a registered id may announce without it.
   */
  proof: z.object({ atMs: z.number().int(), signature: z.string().max(MAX_PEER_PROOF_SIGNATURE_CHARS) }).optional()
}).meta({ id: 'SwarmAnnounce' })
export type AnnounceRequest = z.infer<typeof AnnounceBodySchema>

export const AnnouncedPeerSchema = z.object({
  peerId: z.string(),
  addrs: z.array(z.string()),
  site: z.string(),
  haveCount: z.number().int(),
  /** base64 bitfield over manifest indexes */
  have: z.string()
})
export type AnnouncedPeer = z.infer<typeof AnnouncedPeerSchema>

/** Fetch from the origin the chunks whose distinct-chunk index ≡ index (mod of): `../swarm/origin-share.ts`. */
export const OriginShareSchema = z.object({ index: z.number().int(), of: z.number().int() })
  .refine(isOriginShare, 'originShare needs 0 <= index < of')

/** Transfer limits of the caller's workspace policy (null: none). */
export const TransferLimitsSchema = z.object({
  originRateBytesPerSec: z.number().int().nullable(),
  downloadWindow: z.object({ startMinute: z.number().int(), endMinute: z.number().int() }).nullable()
})

export const AnnounceAnswerSchema = z.object({
  peers: z.array(AnnouncedPeerSchema),
  /** `aud: 'peer'` capability bound to the announcing peer id; absent when p2p is not allowed */
  capability: z.string().optional(),
  capabilityExpiresAtMs: z.number().int().optional(),
  /** why there are no peers and no capability */
  reason: z.string().optional(),
  originShare: OriginShareSchema,
  /** origin access bound to the peer id (a capability for the built-in origin, or a signed-URL query for nginx/IIS) */
  origin: OriginAccessSchema,
  limits: TransferLimitsSchema,
  /** re-announce this often to stay a member */
  announceIntervalMs: z.number().int()
}).meta({ id: 'SwarmAnnounceAnswer' })
export type AnnounceAnswer = z.infer<typeof AnnounceAnswerSchema>

export const LeaveBodySchema = z.object({ image: ImageNameSchema, version: z.number().int().min(1), peerId: PeerIdSchema })
export type LeaveRequest = z.infer<typeof LeaveBodySchema>

export const LeaveAnswerSchema = z.object({ removed: z.boolean() })
export type LeaveAnswer = z.infer<typeof LeaveAnswerSchema>
