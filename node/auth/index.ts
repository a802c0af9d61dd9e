/**
 * The desk's OpenID Connect login (`branchcast login` / `logout`): the device grant, the
 * stored refresh token (`<data>/login.json`, 0600) and the bearer token source the node's
 * tracker client uses when it has no API token.
 */
export { deviceLogin, deviceLogout, discoverIssuer, fetchAuthConfig } from './device-login.ts'
export type { DeviceLoginOptions } from './device-login.ts'
export { LoginError } from './errors.ts'
export type { LoginErrorCode } from './errors.ts'
export { LOGIN_FILE, loginFilePath, readLoginFile } from './login-file.ts'
export type { LoginFile } from './login-file.ts'
export { REFRESH_MARGIN_MS, authorizingFetch, createLoginTokenSource } from './token-source.ts'
export type { LoginTokenSourceInit, TokenSource } from './token-source.ts'
