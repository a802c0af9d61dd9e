/**
 * Who may touch an image, for the routes that hand out image data — manifests, origin
 * tokens, swarm announces: the policies service's `requireImageAccess` and
 * `workspacesFor` (admins always; anyone else only through an unexpired policy assigned
 * to them or one of their groups), taking the components the routes already hold.
 */
import type { Principal, TrackerComponents } from './env.ts'
import type { ResolvedWorkspace } from './policies/index.ts'

export async function workspacesFor (components: Pick<TrackerComponents, 'policies'>, principal: Principal): Promise<ResolvedWorkspace[]> {
  return await components.policies.workspacesFor(principal)
}

/**
 * The caller's workspace for `image`, or 403. Admins get `undefined` (no policy applies to
 * them as such) unless one is assigned to them too.
 */
export async function requireImageAccess (components: Pick<TrackerComponents, 'policies'>, principal: Principal, image: string): Promise<ResolvedWorkspace | undefined> {
  return await components.policies.requireImageAccess(principal, image)
}
