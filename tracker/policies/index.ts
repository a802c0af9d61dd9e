/**
 * Policies and workspaces: usage policies (create, list, show, change, delete), who they
 * are assigned to, and what each caller gets — one workspace per assigned image, chosen by
 * the precedence rule (`workspaces.ts`, its only home) and resolved to the version it
 * delivers. Every route that hands out image data asks `requireImageAccess`.
 *
 * Shaped like a libp2p service: `Components` dependencies, a factory, `start()` / `stop()`.
 * Throws `TrackerError`s (and the store's coded errors: a taken name, a double
 * assignment), never HTTP.
 */
import type { AssignmentListQuery, AssignmentTarget, CreatePolicy, UpdatePolicy } from '../../protocol/index.ts'
import type { AssignmentRecord, PolicyRecord, VersionRecord } from '../db/store.ts'
import type { Principal, TrackerComponents } from '../env.ts'
import { PoliciesService } from './policies.ts'
import type { ResolvedWorkspace } from './workspaces.ts'

export { resolveWorkspaces } from './workspaces.ts'
export type { ResolvedWorkspace } from './workspaces.ts'
export { assignmentView, policyView, workspaceView } from './policy-view.ts'

export type PoliciesComponents = Pick<TrackerComponents, 'store' | 'now' | 'logger'>

export interface Policies {
  start: () => Promise<void>
  stop: () => Promise<void>
  /** `by` is the admin making the change (logged). ERR_BAD_REQUEST naming the field; ERR_STORE_CONFLICT for a taken name. */
  create: (body: CreatePolicy, by: string) => Promise<PolicyRecord>
  /** Ascending by name, optionally of one image. */
  list: (filter?: { image?: string }) => Promise<PolicyRecord[]>
  /** ERR_NOT_FOUND for no such policy. */
  get: (name: string) => Promise<PolicyRecord>
  /** A policy and whom it is assigned to (ascending by id). ERR_NOT_FOUND for no such policy. */
  show: (name: string) => Promise<{ policy: PolicyRecord, assignments: AssignmentRecord[] }>
  /** Changes only the fields `patch` names (a `name` renames). ERR_NOT_FOUND, ERR_BAD_REQUEST, ERR_STORE_CONFLICT. */
  update: (name: string, patch: UpdatePolicy, by: string) => Promise<PolicyRecord>
  /** Deletes a policy and its assignments; returns what was deleted. ERR_NOT_FOUND. */
  delete: (name: string, by: string) => Promise<PolicyRecord>
  /** ERR_BAD_REQUEST unless exactly one of user / group; ERR_NOT_FOUND (policy); ERR_STORE_CONFLICT (already assigned). */
  assign: (target: AssignmentTarget, by: string) => Promise<{ assignment: AssignmentRecord, policy: PolicyRecord }>
  /** ERR_BAD_REQUEST unless exactly one of user / group; ERR_NOT_FOUND (policy, or not assigned). */
  unassign: (target: AssignmentTarget, by: string) => Promise<void>
  /** Ascending by id; an unknown policy name matches nothing. ERR_BAD_REQUEST for both user and group. */
  listAssignments: (query: AssignmentListQuery) => Promise<Array<{ assignment: AssignmentRecord, policy: string }>>
  /** The caller's workspaces, by image name, after the precedence rule (expired ones included, marked). */
  workspacesFor: (principal: Principal) => Promise<ResolvedWorkspace[]>
  /**
   * The caller's workspace for `image`, or ERR_FORBIDDEN (one answer for "not assigned" and
   * "no such image"). Admins get theirs if one is assigned to them, else `undefined`.
   */
  requireImageAccess: (principal: Principal, image: string) => Promise<ResolvedWorkspace | undefined>
  /** The version a policy delivers: the pinned one if published, else the latest published; undefined when none. */
  deliveredVersion: (policy: PolicyRecord) => Promise<VersionRecord | undefined>
}

export function createPolicies (components: PoliciesComponents): Policies {
  return new PoliciesService(components)
}
