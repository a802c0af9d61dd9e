/**
 * Which policy applies, per image, when several assignments reach a user — the documented
 * precedence rule, here and nowhere else, as a pure function:
 *
 * 1. the highest `priority` wins;
 * 2. on a tie, a policy assigned to the user directly beats one reached through a group;
 * 3. on a further tie, the older policy (lower id) wins, so the answer never flips when an
 *    admin adds an equal-priority policy later;
 * 4. one policy reaching the user through several groups is reported via the group whose
 *    name sorts first.
 *
 * The rule is a total order, so the answer does not depend on the order the store returns
 * matches in, nor on whether it returns one match per policy or one per assignment.
 *
 * Policies whose `expiresAtMs` has passed still resolve (the node needs to know the
 * workspace expired so it can lock it); `expired` says so.
 */
import type { PolicyMatch, PolicyRecord } from '../db/store.ts'

export interface ResolvedWorkspace {
  image: string
  policy: PolicyRecord
  via: PolicyMatch['via']
  expired: boolean
}

function better (a: PolicyMatch, b: PolicyMatch): boolean {
  if (a.policy.priority !== b.policy.priority) return a.policy.priority > b.policy.priority
  if (a.via.kind !== b.via.kind) return a.via.kind === 'user'
  if (a.policy.id !== b.policy.id) return a.policy.id < b.policy.id
  return a.via.subject < b.via.subject
}

export function resolveWorkspaces (matches: readonly PolicyMatch[], nowMs: number): ResolvedWorkspace[] {
  const best = new Map<string, PolicyMatch>()
  for (const m of matches) {
    const current = best.get(m.policy.imageName)
    if (current === undefined || better(m, current)) best.set(m.policy.imageName, m)
  }
  return [...best.values()]
    .sort((a, b) => a.policy.imageName.localeCompare(b.policy.imageName))
    .map((m) => ({ image: m.policy.imageName, policy: m.policy, via: m.via, expired: m.policy.expiresAtMs !== null && m.policy.expiresAtMs <= nowMs }))
}
