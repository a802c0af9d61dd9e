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
import type { AccessTokenVerifier, AccessTokenVerifierInit, ClaimMapping } from '../identity/index.ts'
import { createConsoleLogin } from './console-login.ts'
import type { ConsoleLogin } from './console-login.ts'
import type { Oidc, OidcComponents } from './index.ts'
import { loadOidcKeys, publicJwk } from './keys.ts'
import { PROVIDER_MOUNT, ROLE_CLAIM, createEmbeddedProvider } from './provider.ts'
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

  async start (options: { localUrl?: string } = {}): Promise<void> {
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
    const clientAuth = oidc.clientSecret === undefined ? client.None() : client.ClientSecretPost(oidc.clientSecret)

    let provider: EmbeddedProvider | undefined
    let rp: () => Promise<client.Configuration>
    let keySource: AccessTokenVerifierInit['keys']
    if (embedded) {
      const { directory, initialPasswordFile } = await openDirectory(dataDir)
      this.initialPasswordFile = initialPasswordFile
      const embeddedProvider = createEmbeddedProvider({
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
      provider = embeddedProvider
      keySource = { jwks: { keys: [publicJwk(keys.signingJwk!) as never] } }
      // No discovery over the network: the public URL may not reach back to us (a proxy, a
      // name only clients resolve). Browsers use the public endpoints; our own back-channel
      // calls go to this process's listening address.
      const back = `${(options.localUrl ?? trackerUrl).replace(/\/+$/, '')}${PROVIDER_MOUNT}`
      const front = embeddedProvider.issuer
      const configuration = new client.Configuration({
        issuer: front,
        authorization_endpoint: `${front}/auth`,
        end_session_endpoint: `${front}/session/end`,
        token_endpoint: `${back}/token`,
        revocation_endpoint: `${back}/token/revocation`,
        jwks_uri: `${back}/jwks`,
        code_challenge_methods_supported: ['S256'],
        id_token_signing_alg_values_supported: ['ES256'],
        authorization_response_iss_parameter_supported: true
      }, oidc.clientId, undefined, clientAuth)
      if (back.startsWith('http:')) client.allowInsecureRequests(configuration)
      rp = async () => configuration
    } else {
      const issuer = oidc.issuer!
      // Discovered on first use and kept; a failure (the issuer is down) is retried on the
      // next request instead of keeping the tracker from starting: API tokens still work.
      let discovered: Promise<client.Configuration> | undefined
      rp = async () => {
        discovered ??= client.discovery(new URL(issuer), oidc.clientId, undefined, clientAuth, new URL(issuer).protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : {})
          .catch((err: unknown) => { discovered = undefined; throw unavailable(`the OpenID issuer ${issuer} cannot be reached`, err) })
        return await discovered
      }
      keySource = { jwksUrl: async () => new URL((await rp()).serverMetadata().jwks_uri ?? `${issuer}/jwks`) }
    }
    const issuer = provider?.issuer ?? oidc.issuer!
    if (!isSecureIssuer(issuer)) throw new TypeError(`OIDC issuer ${issuer} must be https (plain http only on loopback)`)
    const verifier = createAccessTokenVerifier({ issuer, audience, keys: keySource, algorithms: oidc.algorithms, clockSkewSeconds: oidc.clockSkewSeconds, claims, now })
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
