/**
 * The tracker's keys, kept in `<dataDir>/keys/` with mode 0600 and created on first start:
 * - repository key (Ed25519): signs manifests; clients pin its public half at enrollment;
 * - capability key (Ed25519): signs origin and peer capability tokens, which nodes verify;
 * - origin link secret: shared with an external static origin (nginx `secure_link`).
 */
import type { KeyObject } from 'node:crypto'
import { randomBytes, createPublicKey } from 'node:crypto'
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { exportPrivateKeyPem, exportPublicKey, generateSigningKey, importPrivateKeyPem, keyId } from '../protocol/index.ts'
import type { RepositoryKeys } from '../protocol/index.ts'

export interface TrackerKeys {
  repository: { privateKey: KeyObject, publicKey: KeyObject }
  capability: { privateKey: KeyObject, publicKey: KeyObject }
  /** raw secret for signed origin URLs on an external static server */
  originLinkSecret: string
}

/** Reads a key file, or creates it atomically (0600) — once, even with two trackers starting together. */
export async function readOrCreate (path: string, create: () => string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  // Written whole to a temp file, then hard-linked into place: link() is atomic and fails
  // if the name exists, so two trackers starting together on one data dir agree on one key.
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  await writeFile(tmp, create(), { mode: 0o600, flag: 'wx' })
  try {
    await link(tmp, path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  } finally {
    await unlink(tmp)
  }
  return await readFile(path, 'utf8')
}

async function keyPair (path: string): Promise<{ privateKey: KeyObject, publicKey: KeyObject }> {
  const pem = await readOrCreate(path, () => exportPrivateKeyPem(generateSigningKey().privateKey))
  const privateKey = importPrivateKeyPem(pem)
  return { privateKey, publicKey: createPublicKey(privateKey) }
}

export async function loadTrackerKeys (dataDir: string): Promise<TrackerKeys> {
  const dir = join(dataDir, 'keys')
  await mkdir(dir, { recursive: true, mode: 0o700 })
  return {
    repository: await keyPair(join(dir, 'repository.pem')),
    capability: await keyPair(join(dir, 'capability.pem')),
    originLinkSecret: (await readOrCreate(join(dir, 'origin-link.secret'), () => randomBytes(32).toString('base64url'))).trim()
  }
}

/** The public halves a node pins at enrollment (`GET /api/v1/repository`). */
export function publicKeys (keys: TrackerKeys): RepositoryKeys {
  const view = (publicKey: KeyObject): RepositoryKeys['repository'] => ({ publicKey: exportPublicKey(publicKey), keyId: keyId(publicKey) })
  return { repository: view(keys.repository.publicKey), capability: view(keys.capability.publicKey) }
}
