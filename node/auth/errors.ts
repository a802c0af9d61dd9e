/** The desk login's failures, each with a stable code and a next step in its message. */
export type LoginErrorCode =
  /** nobody approved the code before it expired */
  | 'ERR_LOGIN_EXPIRED'
  /** the user (or the provider) refused the sign-in */
  | 'ERR_LOGIN_DENIED'
  /** no login stored, or its refresh token no longer works: log in again */
  | 'ERR_LOGIN_REQUIRED'
  /** the tracker or the provider answered something else */
  | 'ERR_LOGIN_FAILED'

export class LoginError extends Error {
  readonly code: LoginErrorCode
  constructor (code: LoginErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'LoginError'
    this.code = code
  }
}
