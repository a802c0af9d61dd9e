/**
 * Who may announce with a peer id, and from where (issue 11, findings 5 and 6):
 * - a peer id registers with a user only with a proof that the node holds its key
 *   (`protocol/swarm/peer-proof.ts`); a proven announce also takes the id back from a user
 *   who merely named it first (an events POST with a peer id seen on the LAN);
 * - without a proof, only the user it is registered to may announce with it;
 * - a user has at most `MAX_PEER_IDS_PER_USER_SITE` live peer ids per site, so one token
 *   cannot fill a site with fake peers;
 * - announced addresses are the peer's own: each ends with `/p2p/<its peer id>` or names no
 *   peer (then that suffix is added), so a dialer's handshake checks who answers.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { verifyPeerProof } from '../../protocol/index.ts'
import type { AnnounceRequest } from '../../protocol/index.ts'
import type { TrackerStore } from '../db/store.ts'
import type { Principal } from '../env.ts'
import { badRequest, forbidden } from '../errors.ts'
import { MAX_PEER_IDS_PER_USER_SITE } from './constants.ts'

export interface RegistrationComponents {
  store: Pick<TrackerStore, 'getClient' | 'listClients'>
}

/** Throws ERR_FORBIDDEN unless `principal` may announce `request.peerId` at `request.site` now. */
export async function requirePeerRegistration ({ store }: RegistrationComponents, principal: Principal, request: Pick<AnnounceRequest, 'peerId' | 'site' | 'proof'>, nowMs: number, liveMs: number): Promise<void> {
  const proven = request.proof !== undefined && await verifyPeerProof(request.peerId, request.proof, nowMs)
  if (request.proof !== undefined && !proven) throw forbidden('the peer id proof does not verify (wrong key or signature, or its time is off by more than 5 minutes)')
  const client = await store.getClient(request.peerId)
  if (!proven) {
    if (client === undefined) throw forbidden('unregistered peer id: the first announce must carry a proof signed with its key')
    if (client.user !== principal.user) throw forbidden('this peer id is registered to another user')
  }
  if (client !== undefined && client.user === principal.user && client.site === request.site) return
  const live = (await store.listClients({ user: principal.user, site: request.site }))
    .filter((c) => c.id !== request.peerId && nowMs - c.lastSeenAtMs < liveMs)
  if (live.length >= MAX_PEER_IDS_PER_USER_SITE) {
    throw forbidden(`a user announces at most ${MAX_PEER_IDS_PER_USER_SITE} peer ids per site; ${live.length} are live`)
  }
}

/** The addresses to store for `peerId`: each its own (`…/p2p/<peerId>`); ERR_BAD_REQUEST for another peer's. */
export function ownAddresses (addrs: readonly string[], peerId: string): string[] {
  return addrs.map((a) => {
    const ma = multiaddr(a)
    const peers = ma.getComponents().filter((c) => c.name === 'p2p')
    if (peers.length === 0) return `${ma.toString()}/p2p/${peerId}`
    if (peers.at(-1)?.value !== peerId || !ma.toString().endsWith(`/p2p/${peerId}`)) throw badRequest(`addrs: ${a} is not an address of ${peerId}`)
    return ma.toString()
  })
}
