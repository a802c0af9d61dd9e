/**
 * Payloads of the events a node's workspace reconciler reports (automatic delivery and
 * policy enforcement). Part of `EVENT_PAYLOADS` (`events.ts`), so the tracker checks them
 * like every known event. Extra fields are kept.
 */
import { z } from 'zod'

const IMAGE = z.string().min(1).max(200)
const VERSION = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)
const COUNT = VERSION

/** Why a workspace is locked or refused. */
export const POLICY_VIOLATIONS = ['expired', 'offline', 'tamper', 'host-check'] as const
export type PolicyViolation = typeof POLICY_VIOLATIONS[number]

export const WORKSPACE_EVENT_PAYLOADS = {
  /** the first version of an assigned workspace arrived with no command typed; `durationMs` since it was first wanted */
  'workspace.delivered': z.looseObject({ image: IMAGE, version: VERSION, durationMs: COUNT.optional() }),
  /** a newer version is on disk and waits until the session on the older one ends */
  'update.staged': z.looseObject({ image: IMAGE, version: VERSION, from: VERSION }),
  /** a newer version replaced the one in use (next start runs it) */
  'update.applied': z.looseObject({ image: IMAGE, version: VERSION, from: VERSION }),
  /** a policy (new or changed) is in force for a workspace: which one and why (`via`) */
  'policy.applied': z.looseObject({
    image: IMAGE,
    policy: z.string().max(200),
    via: z.object({ kind: z.enum(['user', 'group']), subject: z.string().max(200) }),
    version: VERSION.nullable().optional()
  }),
  /** a rule locked the workspace: expired, offline beyond the grace, a tampered policy cache, a failed host check */
  'policy.violated': z.looseObject({ image: IMAGE.optional(), rule: z.enum(POLICY_VIOLATIONS), message: z.string().max(1024).optional() }),
  /** a workspace's image files were deleted: revoked (no longer assigned) or expired */
  'workspace.removed': z.looseObject({ image: IMAGE, versions: z.array(VERSION).max(1000), reason: z.string().max(64) })
} as const
