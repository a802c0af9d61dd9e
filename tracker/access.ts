/**
 * Who may touch an image: admins always; anyone else only through a policy assigned to
 * them or one of their groups (and not expired). Used by every route that hands out image
 * data — manifests, origin tokens, swarm announces.
 */
import type { Principal, TrackerComponents } from './env.ts'
import { forbidden } from './errors.ts'
import { resolveWorkspaces } from './workspaces.ts'
import type { Workspace } from './workspaces.ts'

export async function workspacesFor (components: Pick<TrackerComponents, 'store' | 'now'>, principal: Principal): Promise<Workspace[]> {
  const matches = await components.store.policiesForSubject(principal.user, principal.groups)
  return resolveWorkspaces(matches, components.now())
}

/**
 * The caller's workspace for `image`, or 403. Admins get `undefined` (no policy applies to
 * them as such) unless one is assigned to them too.
 */
export async function requireImageAccess (components: Pick<TrackerComponents, 'store' | 'now'>, principal: Principal, image: string): Promise<Workspace | undefined> {
  const ws = (await workspacesFor(components, principal)).find((w) => w.image === image)
  if (ws !== undefined && !ws.expired) return ws
  if (principal.admin) return ws
  // One answer for "not assigned" and "no such image", so users cannot probe image names.
  throw forbidden(ws?.expired === true ? 'the workspace policy for this image has expired' : 'image not assigned to you')
}

/**
 * A client id (a node's libp2p peer id) belongs to the first user who registered it:
 * anyone else naming it gets 403, so nobody acts under — or overwrites — another user's
 * node. `what` names the id in the message ("peer id", "client id").
 */
export async function requireClientOwner (components: Pick<TrackerComponents, 'store'>, clientId: string, user: string, what = 'client id'): Promise<void> {
  const client = await components.store.getClient(clientId)
  if (client !== undefined && client.user !== user) throw forbidden(`this ${what} is registered to another user`)
}
