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

/** Where a version not yet held can be read while it arrives (the node's lazy disks). */
export interface LazyBaseInfo {
  version: number
  /** the file the version will be once whole */
  basePath: string
  sizeBytes: number
  socketPath: string
  exportName: string
}

/**
 * Serves `image` at `version` (undefined: the one a pull brings) while it is pulled, the
 * pull started or joined: instant start of a version this node does not hold yet.
 */
export type LazyBaseSource = (image: string, version: number | undefined, options: { signal?: AbortSignal }) => Promise<LazyBaseInfo>

/** The options of a start on a lazy base. */
function lazyStart (b: LazyBaseInfo): Pick<SessionStartOptions, 'baseImagePath' | 'version' | 'lazy'> {
  return { baseImagePath: b.basePath, version: b.version, lazy: { socketPath: b.socketPath, exportName: b.exportName, sizeBytes: b.sizeBytes } }
}

/** The newest ready version (of `version` when given), else with `lazy` the version read while it arrives. */
async function baseFor (image: string, version: number | undefined, images: () => Promise<ReadyImage[]>, lazy: LazyBaseSource | undefined, signal: AbortSignal | undefined): Promise<Pick<SessionStartOptions, 'baseImagePath' | 'version' | 'lazy'>> {
  try {
    const base = await findBaseImage(async () => (await images()).filter((i) => version === undefined || i.version === version), image)
    return { baseImagePath: base.path, version: base.version }
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_IMAGE_NOT_READY') throw err
    if (lazy !== undefined) {
      const base = await lazy(image, version, { signal }).catch((cause: unknown) => {
        if (signal?.aborted === true) throw cause
        throw new SessionError('ERR_IMAGE_NOT_READY', `${image}${version === undefined ? '' : ` version ${version}`} is not held and cannot be read while it arrives: ${(cause as Error).message}`, { cause })
      })
      return lazyStart(base)
    }
    throw version === undefined ? err : new SessionError('ERR_IMAGE_NOT_READY', `the policy runs ${image} version ${version}, which this node does not hold yet`)
  }
}

/** What a caller may ask of a start, beyond the policy's say. */
export interface StartRequest extends SessionRequest {
  /** a raw disk to boot instead of the node's image (unmanaged only: testing) */
  disk?: string
  network?: SessionStartOptions['network']
  boot?: SessionStartOptions['boot']
}

/**
 * The runtime's start options for `image` after the gate's answer `check` (which must
 * allow it). With `lazy`, a version not held yet (or held in part) starts at once on a base
 * read while it arrives; without, it is ERR_IMAGE_NOT_READY.
 */
export async function startOptionsFor (image: string, r: StartRequest, check: SessionPolicyCheck, images: () => Promise<ReadyImage[]>, lazy?: LazyBaseSource, signal?: AbortSignal): Promise<SessionStartOptions> {
  if (check.policy === undefined) {
    const base = r.disk === undefined ? await baseFor(image, undefined, images, lazy, signal) : { baseImagePath: r.disk, version: undefined }
    return { ...base, mode: r.mode ?? 'persistent', memoryMb: r.memoryMb, cpus: r.cpus, channels: r.channels, network: r.network, boot: r.boot }
  }
  if (r.disk !== undefined) throw new SessionError('ERR_POLICY_LIMIT', `${image} is a managed workspace: it boots the image its policy delivers, not --disk`)
  const plan = narrowPlan(planFromPolicy(check.policy), r)
  const base = await baseFor(image, check.version, images, lazy, signal)
  return {
    ...base, mode: plan.mode, memoryMb: plan.memoryMb, cpus: plan.cpus, channels: plan.channels,
    guestChannels: plan.guestChannels, idleLockMinutes: plan.idleLockMinutes, lockOnSuspend: plan.lockOnSuspend, network: r.network, boot: r.boot
  }
}

export interface AutoStartOptions {
  runtime: SessionRuntime
  policy: SessionPolicySource
  images: () => Promise<ReadyImage[]>
  /** start versions not held yet at once, read while they arrive (instant start) */
  lazy?: LazyBaseSource
  /** images assigned to this desk, held or not (with `lazy`: the workspaces of the policy cache) */
  assigned?: () => Promise<string[]>
  logger: Logger
  signal?: AbortSignal
}

/**
 * Starts every ready workspace (with `lazy`, every assigned one, held or not) whose policy
 * says `startup.mode: auto` and that is not running yet (call it when the daemon starts, and after a delivery). A workspace the gate
 * refuses, or whose start fails, is logged and skipped: one bad workspace does not keep the
 * others from starting. Returns the images it started.
 */
export async function autoStartSessions (o: AutoStartOptions): Promise<string[]> {
  const log = o.logger.forComponent('node:session')
  const names = [...new Set([...(await o.images()).map((i) => i.image), ...(o.lazy === undefined ? [] : await o.assigned?.() ?? [])])].sort()
  const started: string[] = []
  for (const image of names) {
    o.signal?.throwIfAborted()
    try {
      const check = await o.policy.check(image, { signal: o.signal, autoStart: true })
      if (!check.allowed || check.policy?.startup.mode !== 'auto') continue
      if ((await o.runtime.status(image, { signal: o.signal })).state !== 'stopped') continue
      await o.runtime.start(image, { ...await startOptionsFor(image, {}, check, o.images, o.lazy, o.signal), signal: o.signal })
      started.push(image)
    } catch (err) {
      if (o.signal?.aborted === true) throw err
      log.warn('cannot start a workspace its policy starts automatically', { image, err })
    }
  }
  return started
}
