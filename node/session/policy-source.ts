/**
 * Where VM sessions get their policy and the permission to run: the node's policy gate
 * (signed policy cache, expiry, offline grace, host verification) answers `check(image)`.
 * Start, restart, unlock and app launches ask it every time; only `allowed` lets them on.
 */
import type { Policy } from '../../protocol/index.ts'

export interface SessionPolicyCheck {
  /** false: start and unlock are refused, with `reason` */
  allowed: boolean
  /** why not (shown to the user), or which policy applies */
  reason?: string
  /** the policy in force for the image; undefined: the image is not managed (see UNMANAGED_POLICY_SOURCE) */
  policy?: Policy
  /** the image version the policy says to run; undefined: the newest ready one */
  version?: number
}

export interface SessionPolicySource {
  check: (image: string, options?: PolicyCheckOptions) => Promise<SessionPolicyCheck>
}

export interface PolicyCheckOptions {
  signal?: AbortSignal
  /**
   * the check is for an automatic start: a workspace whose policy does not start it
   * automatically is refused before the host check runs, so no start that nobody asked for
   * reports a violation
   */
  autoStart?: boolean
}

/**
 * The source used when the node has no policy gate wired in: every image is allowed and
 * unmanaged, so a start takes the caller's memory, CPUs, mode and channels within the
 * node's own limits (what `branchcast start --disk` does for testing). A node that enforces
 * policies passes its gate instead.
 */
export const UNMANAGED_POLICY_SOURCE: SessionPolicySource = {
  check: async () => ({ allowed: true, reason: 'no policy gate on this node: unmanaged' })
}

/**
 * A source over a fixed set of policies (an image with none is refused): for tests, and for
 * a desk given its policies by hand.
 */
export function staticPolicySource (policies: Iterable<Policy> | (() => Iterable<Policy>)): SessionPolicySource {
  return {
    check: async (image) => {
      const list = typeof policies === 'function' ? policies() : policies
      for (const p of list) {
        if (p.image !== image) continue
        if (p.expiresAtMs !== null && p.expiresAtMs <= Date.now()) return { allowed: false, reason: `policy ${p.name} expired at ${p.expiresAt ?? ''}`, policy: p }
        return { allowed: true, reason: `policy ${p.name}`, policy: p, ...(p.pinnedVersion === null ? {} : { version: p.pinnedVersion }) }
      }
      return { allowed: false, reason: `no policy assigns ${image} to this desk` }
    }
  }
}
