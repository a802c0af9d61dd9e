/**
 * The deployment planner's arithmetic: a lower bound on the time to get an image of F
 * bytes to N desks of a site, and the WAN bytes it takes. Pure functions over plain data.
 *
 * T ≥ max(F / u_origin, F / d_min, N·F / (u_origin + Σ u_peers)): the origin must send
 * every byte at least once, the slowest desk must receive all F, and all N·F bytes must
 * be uploaded by the origin and the desks together. u_origin is what the site gets from
 * the origin: the smaller of the origin's uplink share and the site's WAN link.
 */

export interface SitePlan {
  name: string
  desks: number
  /** the site's WAN downlink, bits/s */
  wanBitsPerSec: number
  /** each desk's LAN link (down = up), bits/s */
  lanBitsPerSec: number
}

export interface PlanInput {
  imageBytes: number
  /** share of the image already on the desks (an earlier version): 0–1 */
  localReuse: number
  /** the origin's uplink, bits/s, shared by the sites at once */
  originBitsPerSec: number
  sites: SitePlan[]
}

export interface SiteEstimate {
  name: string
  seconds: number
  /** which of the three terms bound it */
  bound: 'origin' | 'slowest desk' | 'upload capacity'
  wanBytes: number
  /** WAN bytes had every desk fetched from the origin alone */
  wanBytesWithoutPeers: number
}

export function estimate (input: PlanInput): SiteEstimate[] {
  const f = input.imageBytes * (1 - Math.min(1, Math.max(0, input.localReuse)))
  const active = input.sites.filter((s) => s.desks > 0)
  const originShare = input.originBitsPerSec / 8 / Math.max(1, active.length)
  return input.sites.map((s) => {
    const uOrigin = Math.min(originShare, s.wanBitsPerSec / 8)
    const lan = s.lanBitsPerSec / 8
    const terms: Array<[SiteEstimate['bound'], number]> = [
      ['origin', f / uOrigin],
      ['slowest desk', f / lan],
      ['upload capacity', (s.desks * f) / (uOrigin + s.desks * lan)]
    ]
    const [bound, seconds] = terms.reduce((a, b) => (b[1] > a[1] ? b : a))
    return { name: s.name, seconds: s.desks === 0 ? 0 : seconds, bound, wanBytes: s.desks === 0 ? 0 : f, wanBytesWithoutPeers: s.desks * f }
  })
}
