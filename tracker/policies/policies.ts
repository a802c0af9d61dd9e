/**
 * The policies service (see index.ts): policies and assignments over the store, and the
 * caller's workspaces through the precedence rule.
 */
import type { AssignmentListQuery, AssignmentTarget, CreatePolicy, Logger, UpdatePolicy } from '../../protocol/index.ts'
import type { AssignmentRecord, PolicyRecord, SubjectKind, VersionRecord } from '../db/store.ts'
import type { Principal } from '../env.ts'
import { badRequest, forbidden, notFound } from '../errors.ts'
import type { Policies, PoliciesComponents } from './index.ts'
import { policyFields } from './policy-fields.ts'
import { resolveWorkspaces } from './workspaces.ts'
import type { ResolvedWorkspace } from './workspaces.ts'

/** Exactly one of user / group. */
function subjectOf (t: { user?: string, group?: string }): { subjectKind: SubjectKind, subject: string } {
  if (t.user !== undefined && t.group !== undefined) throw badRequest('user: give user or group, not both')
  if (t.user !== undefined) return { subjectKind: 'user', subject: t.user }
  if (t.group !== undefined) return { subjectKind: 'group', subject: t.group }
  throw badRequest('user: give user or group')
}

const noPolicy = (name: string): Error => notFound(`no policy named ${JSON.stringify(name)}`)

export class PoliciesService implements Policies {
  private readonly components: PoliciesComponents
  private readonly log: Logger
  private readonly assignLog: Logger

  constructor (components: PoliciesComponents) {
    this.components = components
    this.log = components.logger.forComponent('tracker:policies')
    this.assignLog = components.logger.forComponent('tracker:assignments')
  }

  async start (): Promise<void> {}

  async stop (): Promise<void> {}

  async create (body: CreatePolicy, by: string): Promise<PolicyRecord> {
    const fields = policyFields(body)
    const policy = await this.components.store.createPolicy({ ...fields, name: body.name, imageName: body.image, nowMs: this.components.now() })
    this.log.info('policy created', { policy: policy.name, image: policy.imageName, by })
    return policy
  }

  async list (filter: { image?: string } = {}): Promise<PolicyRecord[]> {
    return await this.components.store.listPolicies(filter.image === undefined ? {} : { imageName: filter.image })
  }

  async get (name: string): Promise<PolicyRecord> {
    const p = await this.components.store.getPolicyByName(name)
    if (p === undefined) throw noPolicy(name)
    return p
  }

  async show (name: string): Promise<{ policy: PolicyRecord, assignments: AssignmentRecord[] }> {
    const policy = await this.get(name)
    return { policy, assignments: await this.components.store.listAssignments({ policyId: policy.id }) }
  }

  async update (name: string, patch: UpdatePolicy, by: string): Promise<PolicyRecord> {
    const policy = await this.get(name)
    const fields = policyFields(patch)
    const updated = await this.components.store.updatePolicy(policy.id, fields, this.components.now())
    this.log.info('policy updated', { policy: updated.name, fields: Object.keys(fields), by })
    return updated
  }

  async delete (name: string, by: string): Promise<PolicyRecord> {
    const policy = await this.get(name)
    if (!await this.components.store.deletePolicy(policy.id)) throw noPolicy(policy.name)
    this.log.info('policy deleted', { policy: policy.name, by })
    return policy
  }

  async assign (target: AssignmentTarget, by: string): Promise<{ assignment: AssignmentRecord, policy: PolicyRecord }> {
    const subject = subjectOf(target)
    const policy = await this.get(target.policy)
    const assignment = await this.components.store.assign({ policyId: policy.id, ...subject, nowMs: this.components.now() })
    this.assignLog.info('policy assigned', { policy: policy.name, kind: assignment.subjectKind, subject: assignment.subject, by })
    return { assignment, policy }
  }

  async unassign (target: AssignmentTarget, by: string): Promise<void> {
    const subject = subjectOf(target)
    const policy = await this.get(target.policy)
    if (!await this.components.store.unassign({ policyId: policy.id, ...subject })) {
      throw notFound(`policy ${JSON.stringify(policy.name)} is not assigned to ${subject.subjectKind} ${JSON.stringify(subject.subject)}`)
    }
    this.assignLog.info('policy unassigned', { policy: policy.name, kind: subject.subjectKind, subject: subject.subject, by })
  }

  async listAssignments (query: AssignmentListQuery): Promise<Array<{ assignment: AssignmentRecord, policy: string }>> {
    const { store } = this.components
    const subject = query.user === undefined && query.group === undefined ? {} : subjectOf(query)
    const names = new Map((await store.listPolicies()).map((p) => [p.id, p.name]))
    let policyId: number | undefined
    if (query.policy !== undefined) {
      policyId = [...names].find(([, name]) => name === query.policy)?.[0]
      if (policyId === undefined) return []
    }
    const rows = await store.listAssignments({ ...subject, ...(policyId === undefined ? {} : { policyId }) })
    return rows.map((assignment) => ({ assignment, policy: names.get(assignment.policyId) ?? '' }))
  }

  async workspacesFor (principal: Principal): Promise<ResolvedWorkspace[]> {
    // The store returns every match; which one applies per image is decided here only.
    const matches = await this.components.store.policiesForSubject(principal.user, principal.groups)
    return resolveWorkspaces(matches, this.components.now())
  }

  async requireImageAccess (principal: Principal, image: string): Promise<ResolvedWorkspace | undefined> {
    const ws = (await this.workspacesFor(principal)).find((w) => w.image === image)
    if (ws !== undefined && !ws.expired) return ws
    if (principal.admin) return ws
    // One answer for "not assigned" and "no such image", so users cannot probe image names.
    throw forbidden(ws?.expired === true ? 'the workspace policy for this image has expired' : 'image not assigned to you')
  }

  async deliveredVersion (policy: PolicyRecord): Promise<VersionRecord | undefined> {
    const { store } = this.components
    const image = await store.getImage(policy.imageName)
    if (image === undefined) return undefined
    const v = policy.pinnedVersion === null
      ? await store.latestPublished(image.id)
      : await store.getVersion(image.id, policy.pinnedVersion)
    return v?.state === 'published' ? v : undefined
  }
}
