/**
 * A JSON document signed with the repository key (Ed25519), for what the tracker says
 * about a user that a node must keep enforcing offline — the workspace document of
 * `/me/workspaces`. The signature covers a context string and the payload text exactly as
 * sent, so the node checks the bytes it stores and never re-serialises before verifying,
 * and a signature made for one kind of document (or a manifest) never passes for another.
 */
import type { KeyObject } from 'node:crypto'
import { keyId, signBytes, verifyBytes } from './signing.ts'
import { decodeCanonicalBase64 } from './canonical-base64.ts'

/** What travels and what a node stores: the payload text, its signature and the signing key's id. */
export interface SignedDocument {
  /** the document, as JSON text (verified before it is parsed) */
  payload: string
  /** base64 Ed25519 signature over `<context>\n<payload>` */
  signature: string
  /** `keyId()` of the signing key */
  keyId: string
}

export type SignedDocumentFailure = 'wrong-key' | 'bad-signature'

/** Thrown by `openSignedDocument`; `reason` says whether another key signed it or the bytes were changed. */
export class SignedDocumentError extends Error {
  readonly code = 'ERR_DOCUMENT_SIGNATURE'
  readonly reason: SignedDocumentFailure
  constructor (reason: SignedDocumentFailure, message: string) {
    super(message)
    this.name = 'SignedDocumentError'
    this.reason = reason
  }
}

function signedBytes (context: string, payload: string): Uint8Array {
  if (context === '' || context.includes('\n')) throw new TypeError('context must be one non-empty line')
  return new TextEncoder().encode(`${context}\n${payload}`)
}

export function signDocument (privateKey: KeyObject, context: string, payload: string): SignedDocument {
  return { payload, signature: Buffer.from(signBytes(privateKey, signedBytes(context, payload))).toString('base64'), keyId: keyId(privateKey) }
}

/**
 * The payload text of `doc` once its signature verifies under `publicKey` for `context`.
 * Throws `SignedDocumentError` (`wrong-key` when another key signed it, `bad-signature`
 * when the payload or signature was changed).
 */
export function openSignedDocument (publicKey: KeyObject, context: string, doc: SignedDocument): string {
  if (doc.keyId !== keyId(publicKey)) throw new SignedDocumentError('wrong-key', `signed by key ${String(doc.keyId).slice(0, 16)}…, not by the pinned repository key`)
  const signature = decodeCanonicalBase64(doc.signature, 'base64')
  if (signature === undefined || !verifyBytes(publicKey, signedBytes(context, doc.payload), signature)) {
    throw new SignedDocumentError('bad-signature', 'the signature does not match the document: it was changed after signing')
  }
  return doc.payload
}
