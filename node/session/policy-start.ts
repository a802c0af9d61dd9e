/**
 * A start as the policy gate's answer says: the options the runtime gets for a managed
 * workspace (the policy's plan, narrowed by the request, on the version the gate names) or
 * an unmanaged one (the request as given), and the start-up rule: workspaces whose policy
 * says `startup.mode: auto` are started without anyone asking.
 */
import type { Logger } from '../../protocol/index.ts'
import type { ReadyImage } from '../control/index.ts'
import { findBaseImage } from './base-image.ts'
import { SessionError } from './errors.ts'
import { narrowPlan, planFromPolicy } from './policy-plan.ts'
import type { SessionRequest } from './policy-plan.ts'
import type { SessionPolicyCheck, SessionPolicySource } from './policy-source.ts'
import type { SessionRuntime, SessionStartOptions } from './index.ts'

/** What a caller may ask of a start, beyond the policy's say. */
export interface StartRequest extends SessionRequest {
  /** a raw disk to boot instead of the node's image (unmanaged only: testing) */
  disk?: string
  network?: SessionStartOptions['network']
  boot?: SessionStartOptions['boot']
}

/** The runtime's start options for `image` after the gate's answer `check` (which must allow it). */
export async function startOptionsFor (image: string, r: StartRequest, check: SessionPolicyCheck, images: () => Promise<ReadyImage[]>): Promise<SessionStartOptions> {
  if (check.policy === undefined) {
    const base = r.disk === undefined ? await findBaseImage(images, image) : { path: r.disk, version: undefined }
    return { baseImagePath: base.path, version: base.version, mode: r.mode ?? 'persistent', memoryMb: r.memoryMb, cpus: r.cpus, channels: r.channels, network: r.network, boot: r.boot }
  }
  if (r.disk !== undefined) throw new SessionError('ERR_POLICY_LIMIT', `${image} is a managed workspace: it boots the image its policy delivers, not --disk`)
  const plan = narrowPlan(planFromPolicy(check.policy), r)
  const want = check.version
  const base = await findBaseImage(async () => (await images()).filter((i) => want === undefined || i.version === want), image)
    .catch((err: unknown) => { throw want === undefined ? err : new SessionError('ERR_IMAGE_NOT_READY', `the policy runs ${image} version ${want}, which this node does not hold yet`) })
  return {
    baseImagePath: base.path, version: base.version, mode: plan.mode, memoryMb: plan.memoryMb, cpus: plan.cpus, channels: plan.channels,
    guestChannels: plan.guestChannels, idleLockMinutes: plan.idleLockMinutes, lockOnSuspend: plan.lockOnSuspend, network: r.network, boot: r.boot
  }
}

export interface AutoStartOptions {
  runtime: SessionRuntime
  policy: SessionPolicySource
  images: () => Promise<ReadyImage[]>
  logger: Logger
  signal?: AbortSignal
}

/**
 * Starts every ready workspace whose policy says `startup.mode: auto` and that is not
 * running yet (call it when the daemon starts, and after a delivery). A workspace the gate
 * refuses, or whose start fails, is logged and skipped: one bad workspace does not keep the
 * others from starting. Returns the images it started.
 */
export async function autoStartSessions (o: AutoStartOptions): Promise<string[]> {
  const log = o.logger.forComponent('node:session')
  const names = [...new Set((await o.images()).map((i) => i.image))].sort()
  const started: string[] = []
  for (const image of names) {
    o.signal?.throwIfAborted()
    try {
      const check = await o.policy.check(image, { signal: o.signal })
      if (!check.allowed || check.policy?.startup.mode !== 'auto') continue
      if ((await o.runtime.status(image, { signal: o.signal })).state !== 'stopped') continue
      await o.runtime.start(image, { ...await startOptionsFor(image, {}, check, o.images), signal: o.signal })
      started.push(image)
    } catch (err) {
      if (o.signal?.aborted === true) throw err
      log.warn('cannot start a workspace its policy starts automatically', { image, err })
    }
  }
  return started
}
