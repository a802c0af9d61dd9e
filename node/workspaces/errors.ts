/** Coded errors of the workspace reconciler and gate. */

export type WorkspaceErrorCode =
  /** the policy cache on disk does not verify under the pinned repository key */
  | 'ERR_POLICY_CACHE_TAMPERED'
  /** the tracker answered a workspace document older than the one the node holds */
  | 'ERR_POLICY_ROLLBACK'
  /** the document is well signed but malformed, or names another user */
  | 'ERR_POLICY_DOCUMENT'

export class WorkspaceError extends Error {
  readonly code: WorkspaceErrorCode
  constructor (code: WorkspaceErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'WorkspaceError'
    this.code = code
  }
}
