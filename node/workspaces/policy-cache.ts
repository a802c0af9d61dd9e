/**
 * The signed policy cache: the last workspace document the node verified, kept on disk
 * as the tracker signed it (`<dataDir>/workspaces.json`), so an offline desk keeps
 * enforcing it. Every read verifies the signature under the pinned repository key; a
 * document changed on disk or signed by another key is refused, and an older document
 * never replaces a newer one.
 */
import type { KeyObject } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { MAX_WORKSPACE_DOCUMENT_BYTES, SignedDocumentError, SignedDocumentSchema, WORKSPACE_DOCUMENT_CONTEXT, WorkspaceDocumentSchema, openSignedDocument } from '../../protocol/index.ts'
import type { SignedDocument, WorkspaceDocument } from '../../protocol/index.ts'
import { writeJsonFile } from '../state-file.ts'
import { POLICY_CACHE_FILE } from './constants.ts'
import { WorkspaceError } from './errors.ts'

export type CachedDocument =
  | { state: 'verified', document: WorkspaceDocument }
  | { state: 'none' }
  | { state: 'refused', message: string }

export function policyCachePath (dataDir: string): string { return join(dataDir, POLICY_CACHE_FILE) }

/**
 * The document `signed` carries, once its signature verifies under `publicKey` and its
 * payload parses. Throws `WorkspaceError` ERR_POLICY_CACHE_TAMPERED (changed bytes or
 * another key) or ERR_POLICY_DOCUMENT (well signed but malformed).
 */
export function verifyWorkspaceDocument (publicKey: KeyObject, signed: unknown): { document: WorkspaceDocument, signed: SignedDocument } {
  const envelope = SignedDocumentSchema.safeParse(signed)
  if (!envelope.success) throw new WorkspaceError('ERR_POLICY_DOCUMENT', `not a signed workspace document: ${envelope.error.issues[0]?.message ?? 'malformed'}`)
  let payload: string
  try {
    payload = openSignedDocument(publicKey, WORKSPACE_DOCUMENT_CONTEXT, envelope.data)
  } catch (err) {
    if (err instanceof SignedDocumentError) throw new WorkspaceError('ERR_POLICY_CACHE_TAMPERED', err.message, { cause: err })
    throw err
  }
  let json: unknown
  try { json = JSON.parse(payload) } catch (err) { throw new WorkspaceError('ERR_POLICY_DOCUMENT', 'the signed workspace document is not JSON', { cause: err }) }
  const doc = WorkspaceDocumentSchema.safeParse(json)
  if (!doc.success) throw new WorkspaceError('ERR_POLICY_DOCUMENT', `the signed workspace document is malformed: ${doc.error.issues[0]?.message ?? 'invalid'}`)
  return { document: doc.data, signed: envelope.data }
}

export class PolicyCache {
  readonly #path: string
  readonly #publicKey: KeyObject
  #current: CachedDocument = { state: 'none' }

  constructor (dataDir: string, publicKey: KeyObject) {
    this.#path = policyCachePath(dataDir)
    this.#publicKey = publicKey
  }

  get current (): CachedDocument { return this.#current }

  /** Reads and verifies the cache on disk: verified, none (no file), or refused with the reason. */
  async load (): Promise<CachedDocument> {
    let text: string
    try {
      text = await readFile(this.#path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return (this.#current = { state: 'none' })
      return (this.#current = { state: 'refused', message: `cannot read ${this.#path}: ${(err as Error).message}` })
    }
    try {
      if (Buffer.byteLength(text) > MAX_WORKSPACE_DOCUMENT_BYTES + 4096) throw new WorkspaceError('ERR_POLICY_DOCUMENT', 'larger than any workspace document')
      let json: unknown
      try { json = JSON.parse(text) } catch { throw new WorkspaceError('ERR_POLICY_CACHE_TAMPERED', 'not JSON') }
      const { document } = verifyWorkspaceDocument(this.#publicKey, (json as { signed?: unknown } | null)?.signed)
      return (this.#current = { state: 'verified', document })
    } catch (err) {
      if (!(err instanceof WorkspaceError)) throw err
      return (this.#current = { state: 'refused', message: `${this.#path}: ${err.code}: ${err.message}` })
    }
  }

  /**
   * Verifies a document the tracker answered and, unless it is older than the one held
   * (ERR_POLICY_ROLLBACK), makes it the cache: on disk (atomically) and in force.
   */
  async accept (signed: unknown, options: { floorMs?: number } = {}): Promise<WorkspaceDocument> {
    const { document, signed: envelope } = verifyWorkspaceDocument(this.#publicKey, signed)
    const held = this.#current.state === 'verified' ? this.#current.document.issuedAtMs : 0
    const floor = Math.max(held, options.floorMs ?? 0)
    if (document.issuedAtMs < floor) {
      throw new WorkspaceError('ERR_POLICY_ROLLBACK', `the tracker answered a workspace document issued at ${new Date(document.issuedAtMs).toISOString()}, older than the one held (${new Date(floor).toISOString()}): kept the newer one`)
    }
    await writeJsonFile(this.#path, { signed: envelope })
    this.#current = { state: 'verified', document }
    return document
  }
}
