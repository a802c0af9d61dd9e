/** Every fuzz target, by name: one per wire decoder (README.md lists them). */
import type { FuzzTarget } from '../target.ts'
import { apiBodiesTarget } from './api-bodies.ts'
import { bitfieldTarget } from './bitfield.ts'
import { capabilityClaimsTarget, capabilityTarget } from './capability.ts'
import { chunkListTarget } from './chunk-list.ts'
import { deltaIndexTarget, deltaTarget } from './delta.ts'
import { frameStreamTarget, frameTarget } from './frame.ts'
import { manifestTarget } from './manifest.ts'
import { storedChunkTarget } from './stored-chunk.ts'

export const TARGETS: readonly FuzzTarget[] = [
  manifestTarget, chunkListTarget, frameTarget, frameStreamTarget, capabilityTarget, capabilityClaimsTarget,
  storedChunkTarget, bitfieldTarget, apiBodiesTarget, deltaTarget, deltaIndexTarget
]
