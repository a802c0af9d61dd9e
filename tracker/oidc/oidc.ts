/**
 * The OpenID Connect service (see index.ts). Started once the HTTP server listens, because
 * the embedded provider's issuer is the tracker's own URL (port 0 in tests).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import * as client from 'openid-client'
import { isSecureIssuer } from '../../protocol/index.ts'
import type { AuthConfig, Logger } from '../../protocol/index.ts'
import { unavailable } from '../errors.ts'
import { createAccessTokenVerifier } from '../identity/index.ts'
import type { AccessTokenVerifier, ClaimMapping } from '../identity/index.ts'
import { createConsoleLogin } from './console-login.ts'
import type { ConsoleLogin } from './console-login.ts'
import type { Oidc, OidcComponents } from './index.ts'
import { loadOidcKeys, publicJwk } from './keys.ts'
import { ROLE_CLAIM, createEmbeddedProvider } from './provider.ts'
import type { EmbeddedProvider } from './provider.ts'
import { createSealer } from './sealed.ts'
import { openDirectory } from './users.ts'

interface Started {
  issuer: string
  audience: string
  verifier: AccessTokenVerifier
  console: ConsoleLogin
  provider?: EmbeddedProvider
}

export class OidcService implements Oidc {
  private readonly components: OidcComponents
  private readonly log: Logger
  private started: Started | undefined
  initialPasswordFile: string | undefined

  constructor (components: OidcComponents) {
    this.components = components
    this.log = components.logger.forComponent('tracker:oidc')
  }

  private get ready (): Started {
    if (this.started === undefined) throw unavailable('OpenID Connect is starting')
    return this.started
  }

  async start (): Promise<void> {
    const { config, now } = this.components
    const { oidc, dataDir } = config
    const trackerUrl = (config.publicUrl ?? '').replace(/\/+$/, '')
    if (trackerUrl === '') throw new TypeError('OIDC starts after the tracker knows its URL (config.publicUrl)')
    const audience = oidc.audience ?? trackerUrl
    const embedded = oidc.issuer === undefined
    const keys = await loadOidcKeys(dataDir, { embedded })
    const claims: ClaimMapping = {
      userClaim: oidc.userClaim,
      groupsClaim: oidc.groupsClaim,
      roleClaim: oidc.roleClaim ?? (embedded ? ROLE_CLAIM : undefined),
      adminGroups: oidc.adminGroups,
      readOnlyAdminGroups: oidc.readOnlyAdminGroups
    }

    let provider: EmbeddedProvider | undefined
    if (embedded) {
      const { directory, initialPasswordFile } = await openDirectory(dataDir)
      this.initialPasswordFile = initialPasswordFile
      provider = createEmbeddedProvider({
        trackerUrl,
        audience,
        consoleClientId: oidc.clientId,
        cliClientId: oidc.cliClientId,
        accessTokenTtlSeconds: oidc.accessTokenTtlSeconds,
        signingJwk: keys.signingJwk!,
        cookieKeys: keys.cookieKeys,
        directory,
        logger: this.components.logger
      })
    }
    const issuer = provider?.issuer ?? oidc.issuer!
    if (!isSecureIssuer(issuer)) throw new TypeError(`OIDC issuer ${issuer} must be https (plain http only on loopback)`)
    // Requests to ourselves (the embedded provider) are served by this very process: the
    // provider must be reachable before discovery, hence `started` is set in two steps.
    this.started = { issuer, audience, provider, verifier: undefined as never, console: undefined as never }
    const insecure = new URL(issuer).protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : {}
    const rp = await client.discovery(new URL(issuer), oidc.clientId, undefined, oidc.clientSecret === undefined ? client.None() : client.ClientSecretPost(oidc.clientSecret), insecure)
    const jwksUri = rp.serverMetadata().jwks_uri
    const verifier = createAccessTokenVerifier({
      issuer: rp.serverMetadata().issuer,
      audience,
      keys: provider !== undefined ? { jwks: { keys: [publicJwk(keys.signingJwk!) as never] } } : { jwksUrl: new URL(jwksUri ?? `${issuer}/jwks`) },
      algorithms: oidc.algorithms,
      clockSkewSeconds: oidc.clockSkewSeconds,
      claims,
      now
    })
    const consoleLogin = createConsoleLogin({
      config: rp,
      audience,
      redirectUri: `${trackerUrl}/console/callback`,
      postLogoutRedirectUri: `${trackerUrl}/console`,
      sessionTtlSeconds: oidc.sessionTtlSeconds,
      sealer: createSealer(keys.sessionKey),
      accessTokens: verifier,
      now
    })
    this.started = { issuer, audience, provider, verifier, console: consoleLogin }
    this.log.info('OpenID Connect ready', { issuer, audience, embedded })
  }

  async stop (): Promise<void> {
    this.started = undefined
  }

  handler (): ((req: IncomingMessage, res: ServerResponse) => void) | undefined {
    return this.started?.provider?.handle
  }

  authConfig (): AuthConfig {
    const { issuer, audience, provider } = this.ready
    return { issuer, audience, cliClientId: this.components.config.oidc.cliClientId, consoleClientId: this.components.config.oidc.clientId, embedded: provider !== undefined }
  }

  get console (): ConsoleLogin {
    return this.ready.console
  }

  readonly accessTokens: AccessTokenVerifier = {
    verify: async (token) => await this.ready.verifier.verify(token)
  }
}
