/**
 * Peers banned from a swarm: peer id → why and until when. Pure (pass `nowMs`). A peer
 * that sent a bad chunk or broke the wire format is banned; one that was busy, slow or
 * refused our token is not (see `isBanReason`).
 */
import { DEFAULT_PEER_BAN_MS } from '../constants.ts'

export type BanReason = 'corrupt-chunk' | 'protocol-violation'

export interface Ban {
  peerId: string
  reason: BanReason
  untilMs: number
}

export interface PeerBansInit {
  /** default ban length */
  banMs?: number
}

export class PeerBans {
  readonly #bans = new Map<string, Ban>()
  readonly #banMs: number

  constructor (init: PeerBansInit = {}) {
    const banMs = init.banMs ?? DEFAULT_PEER_BAN_MS
    if (!(Number.isFinite(banMs) && banMs > 0)) throw new TypeError('banMs must be a positive number')
    this.#banMs = banMs
  }

  /** Bans `peerId`; a ban already running is only ever lengthened. */
  ban (peerId: string, reason: BanReason, nowMs: number, banMs = this.#banMs): Ban {
    if (typeof peerId !== 'string' || peerId.length === 0) throw new TypeError('peerId must be a non-empty string')
    const untilMs = nowMs + banMs
    const old = this.#bans.get(peerId)
    const ban = old !== undefined && old.untilMs >= untilMs ? old : { peerId, reason, untilMs }
    this.#bans.set(peerId, ban)
    return ban
  }

  isBanned (peerId: string, nowMs: number): boolean {
    return this.get(peerId, nowMs) !== undefined
  }

  /** The running ban of `peerId`, if any; expired bans are forgotten. */
  get (peerId: string, nowMs: number): Ban | undefined {
    const ban = this.#bans.get(peerId)
    if (ban === undefined) return undefined
    if (ban.untilMs <= nowMs) {
      this.#bans.delete(peerId)
      return undefined
    }
    return ban
  }

  unban (peerId: string): boolean {
    return this.#bans.delete(peerId)
  }

  /** Running bans, for reports and security events. */
  list (nowMs: number): Ban[] {
    const out: Ban[] = []
    for (const id of [...this.#bans.keys()]) {
      const ban = this.get(id, nowMs)
      if (ban !== undefined) out.push(ban)
    }
    return out
  }
}

/**
 * The ban reason for an error from fetchChunksFromPeer, or undefined when it is no reason to
 * ban (busy, our token refused, a vanished peer, our own abort).
 */
export function banReasonFor (err: unknown): BanReason | undefined {
  const e = err as { code?: unknown, peerFault?: unknown } | null
  if (e === null || typeof e !== 'object' || e.peerFault !== true) return undefined
  if (e.code === 'ERR_CHUNK_CORRUPT') return 'corrupt-chunk'
  if (e.code === 'ERR_CHUNK_PROTOCOL') return 'protocol-violation'
  return undefined
}
