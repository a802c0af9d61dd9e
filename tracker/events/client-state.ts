/**
 * What a batch of events says about the node that sent it: the newest version it finished
 * pulling, whether a pull it had under way failed, and its workspaces' state from
 * `session.*` events. Pure: the service reads the client and writes the result.
 */
import { MAX_WORKSPACES, eventTimeMs } from '../../protocol/index.ts'
import type { ClientEvent } from '../../protocol/index.ts'
import type { ClientPull, ClientWorkspaces, UpsertClientInput } from '../db/store.ts'

const SESSION_STATES: Record<string, string> = {
  'session.started': 'running',
  'session.stopped': 'stopped',
  'session.locked': 'locked',
  'session.unlocked': 'running',
  // the workspace states have no "crashed": the VM is gone, and the error log says why
  'session.crashed': 'stopped'
}

export function clientStateFromEvents (
  events: readonly ClientEvent[],
  current: { pull: ClientPull | null, workspace: ClientWorkspaces | null } | undefined
): Pick<UpsertClientInput, 'held' | 'pull' | 'workspace'> {
  const out: Pick<UpsertClientInput, 'held' | 'pull' | 'workspace'> = {}
  const ordered = [...events].sort((a, b) => eventTimeMs(a.at) - eventTimeMs(b.at))
  let workspace: ClientWorkspaces | undefined
  for (const e of ordered) {
    const p = e.payload as { image?: unknown, version?: unknown }
    const image = typeof p.image === 'string' ? p.image : undefined
    const version = typeof p.version === 'number' ? p.version : undefined
    if (image === undefined) continue
    if (e.type === 'pull.completed' && version !== undefined) {
      if (out.held === undefined || out.held.image !== image || out.held.version < version) out.held = { image, version }
    } else if (e.type === 'pull.failed' && current?.pull?.image === image) {
      out.pull = null
    } else if (SESSION_STATES[e.type] !== undefined) {
      workspace ??= { ...(current?.workspace ?? {}) }
      if (workspace[image] === undefined && Object.keys(workspace).length >= MAX_WORKSPACES) continue
      workspace[image] = { ...workspace[image], state: SESSION_STATES[e.type]!, ...(version === undefined ? {} : { version }), sinceMs: eventTimeMs(e.at) }
    }
  }
  if (workspace !== undefined) out.workspace = workspace
  return out
}
