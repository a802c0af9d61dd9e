/**
 * What the node trusts: the repository key it pinned at enrollment (manifests must be
 * signed by it), the tracker's capability key (peers' tokens must be signed by it), and,
 * per image, the highest manifest version it accepted (rollback protection).
 */
import type { KeyObject } from 'node:crypto'
import { join } from 'node:path'
import { ManifestWrongVersionError, importPublicKey, keyId, verifyManifest } from '../protocol/index.ts'
import type { Manifest, RepositoryKeys } from '../protocol/index.ts'
import { readJsonFile, writeJsonFile } from './state-file.ts'

interface TrustFile {
  tracker: string
  repositoryKey: string
  capabilityKey: string
  /** image → highest accepted manifest version */
  accepted: Record<string, number>
}

export interface Trust {
  readonly tracker: string
  readonly repositoryKey: KeyObject
  readonly capabilityKey: KeyObject
  lastAccepted: (image: string) => number | undefined
  /** Raise the accepted version of an image (never lowers it) and persist. */
  accept: (image: string, version: number) => Promise<void>
}

function fromFile (path: string, file: TrustFile): Trust {
  const repositoryKey = importPublicKey(file.repositoryKey)
  const capabilityKey = importPublicKey(file.capabilityKey)
  const accepted = { ...file.accepted }
  return {
    tracker: file.tracker,
    repositoryKey,
    capabilityKey,
    lastAccepted: (image) => accepted[image],
    async accept (image, version) {
      if ((accepted[image] ?? 0) >= version) return
      accepted[image] = version
      await writeJsonFile(path, { ...file, accepted })
    }
  }
}

/**
 * A manifest the tracker answered for `image` at `version`: signed by the pinned key, not
 * expired, not below the rollback floor, and for exactly the image and version asked for.
 * A swapped answer (another version, e.g. from a man in the middle) is refused with
 * ERR_MANIFEST_WRONG_VERSION here, before anything is pulled, so it can never raise the
 * floor and lock the node out of the version it asked for.
 */
export function verifyRequestedManifest (trust: Trust, root: Uint8Array, asked: { image: string, version: number | 'latest', nowMs: number }): Manifest {
  const manifest = verifyManifest(root, { publicKey: trust.repositoryKey, nowMs: asked.nowMs, lastAcceptedVersion: trust.lastAccepted(asked.image), image: asked.image })
  if (asked.version !== 'latest' && manifest.version !== asked.version) {
    throw new ManifestWrongVersionError(`asked for version ${asked.version} of ${asked.image}, the answer is version ${manifest.version}`)
  }
  return manifest
}

export function trustPath (dataDir: string): string { return join(dataDir, 'trust.json') }

export async function loadTrust (dataDir: string): Promise<Trust | undefined> {
  const file = await readJsonFile<TrustFile>(trustPath(dataDir))
  return file === undefined ? undefined : fromFile(trustPath(dataDir), file)
}

/**
 * Enrollment: pin the tracker's keys. Re-enrolling against the same keys keeps the
 * accepted versions; different keys are refused unless `replace` is set (an admin moved
 * the repository), because silently trusting a new key would defeat the pinning.
 */
export async function enroll (dataDir: string, tracker: string, keys: RepositoryKeys, options: { replace?: boolean } = {}): Promise<Trust> {
  const repo = importPublicKey(keys.repository.publicKey)
  const cap = importPublicKey(keys.capability.publicKey)
  if (keyId(repo) !== keys.repository.keyId || keyId(cap) !== keys.capability.keyId) throw new Error('tracker sent keys whose ids do not match')
  const existing = await readJsonFile<TrustFile>(trustPath(dataDir))
  if (existing !== undefined && options.replace !== true &&
    (existing.repositoryKey !== keys.repository.publicKey || existing.capabilityKey !== keys.capability.publicKey)) {
    throw new Error(`this node already pinned other keys for ${existing.tracker}; re-enroll with --replace to trust the new ones`)
  }
  const file: TrustFile = {
    tracker,
    repositoryKey: keys.repository.publicKey,
    capabilityKey: keys.capability.publicKey,
    accepted: existing?.repositoryKey === keys.repository.publicKey ? existing.accepted : {}
  }
  await writeJsonFile(trustPath(dataDir), file)
  return fromFile(trustPath(dataDir), file)
}
