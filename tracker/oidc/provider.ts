/**
 * The embedded development provider: `oidc-provider` under `<tracker>/oidc`, used when no
 * issuer is configured, so `npm start` leads to a working login. Users come from
 * `<data>/users.json`; two public clients are registered — the console (authorization
 * code + PKCE S256) and `branchcast login` (device grant); both get refresh tokens. Access
 * tokens are JWTs for the tracker's resource (resource indicators), carrying the user's
 * groups and role. Login is our own form (`pages.ts`); consent is implied for these
 * first-party clients. Sessions and grants live in memory: a restart logs everyone out of
 * the provider, which a development provider may do (refresh tokens die with it too).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import Provider, { errors as providerErrors } from 'oidc-provider'
import type { Configuration, KoaContextWithOIDC } from 'oidc-provider'
import type { Logger } from '../../protocol/index.ts'
import { memoryAdapter } from './memory-adapter.ts'
import { API_SCOPE, DEVICE_CODE_TTL_SECONDS, MAX_LOGIN_BODY_BYTES, MAX_PROVIDER_ENTRIES, PROVIDER_SESSION_TTL_SECONDS, REFRESH_TOKEN_TTL_SECONDS } from './constants.ts'
import type { SigningJwk } from './keys.ts'
import { deviceCodePage, deviceConfirmPage, deviceDonePage, escapeHtml, loggedOutPage, loginPage, logoutPage, page } from './pages.ts'
import type { Directory } from './users.ts'

/** The claim the embedded provider puts the role in (the tracker maps it back). */
export const ROLE_CLAIM = 'branchcast_role'
/** Where the provider is mounted on the tracker's HTTP server. */
export const PROVIDER_MOUNT = '/oidc'
const INTERACTION_PATH = '/interaction/'
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'

export interface EmbeddedProviderInit {
  /** the tracker's base URL; the issuer is `<trackerUrl>/oidc` */
  trackerUrl: string
  /** the resource (= `aud`) access tokens are issued for */
  audience: string
  consoleClientId: string
  cliClientId: string
  accessTokenTtlSeconds: number
  signingJwk: SigningJwk
  cookieKeys: string[]
  directory: Directory
  logger: Logger
}

export interface EmbeddedProvider {
  issuer: string
  /** Handles a request whose path starts with `/oidc` (Node's req/res: the provider is a Koa app). */
  handle: (req: IncomingMessage, res: ServerResponse) => void
}

async function readForm (req: IncomingMessage): Promise<URLSearchParams | undefined> {
  let size = 0
  const chunks: Buffer[] = []
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_LOGIN_BODY_BYTES) return undefined
    chunks.push(chunk)
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
}

function html (res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'x-frame-options': 'DENY', 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'" })
  res.end(body)
}

export function createEmbeddedProvider (init: EmbeddedProviderInit): EmbeddedProvider {
  const { audience, directory } = init
  const trackerUrl = init.trackerUrl.replace(/\/+$/, '')
  const issuer = trackerUrl + PROVIDER_MOUNT
  const log = init.logger.forComponent('tracker:oidc-provider')

  const configuration: Configuration = {
    adapter: memoryAdapter({ maxEntries: MAX_PROVIDER_ENTRIES, now: Date.now }),
    clients: [
      {
        client_id: init.consoleClientId,
        client_name: 'Branchcast console',
        token_endpoint_auth_method: 'none',
        id_token_signed_response_alg: 'ES256',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: [`${trackerUrl}/console/callback`],
        post_logout_redirect_uris: [`${trackerUrl}/console`]
      },
      {
        client_id: init.cliClientId,
        client_name: 'branchcast login',
        token_endpoint_auth_method: 'none',
        application_type: 'native',
        id_token_signed_response_alg: 'ES256',
        grant_types: [DEVICE_GRANT, 'refresh_token'],
        response_types: [],
        redirect_uris: []
      }
    ],
    jwks: { keys: [init.signingJwk as never] },
    cookies: { keys: init.cookieKeys },
    pkce: { required: () => true },
    scopes: ['openid', 'offline_access', 'profile', 'groups'],
    claims: { openid: ['sub'], profile: ['preferred_username'], groups: ['groups'] },
    async findAccount (_ctx, sub) {
      const user = directory.find(sub)
      if (user === undefined) return undefined
      return { accountId: sub, claims: async () => ({ sub, preferred_username: sub, groups: user.groups }) }
    },
    // Both clients are first-party: the login is the consent. The grant names what they
    // may ask for: OpenID scopes and the tracker's API.
    async loadExistingGrant (ctx) {
      const { oidc } = ctx
      const existing = oidc.result?.consent?.grantId ?? oidc.session?.grantIdFor(oidc.client!.clientId)
      const grant = existing === undefined ? undefined : await oidc.provider.Grant.find(existing)
      if (grant !== undefined) return grant
      if (oidc.session?.accountId === undefined) return undefined
      const fresh = new oidc.provider.Grant({ clientId: oidc.client!.clientId, accountId: oidc.session.accountId })
      fresh.addOIDCScope('openid offline_access profile groups')
      fresh.addResourceScope(audience, API_SCOPE)
      await fresh.save()
      return fresh
    },
    // Refresh tokens for both clients (offline_access is not needed to ask for one). The
    // console's is held server-side and used by concurrent requests: not rotated. The
    // CLI's rotates, so a copied refresh token dies at its next use.
    async issueRefreshToken (_ctx, client) { return client.grantTypeAllowed('refresh_token') },
    rotateRefreshToken (ctx) { return ctx.oidc.client?.clientId !== init.consoleClientId },
    async extraTokenClaims (_ctx, token) {
      const accountId = 'accountId' in token ? token.accountId : undefined
      const user = accountId === undefined ? undefined : directory.find(accountId)
      if (user === undefined) return undefined
      return { groups: user.groups, preferred_username: user.user, [ROLE_CLAIM]: user.role }
    },
    ttl: {
      RefreshToken: REFRESH_TOKEN_TTL_SECONDS,
      DeviceCode: DEVICE_CODE_TTL_SECONDS,
      Session: PROVIDER_SESSION_TTL_SECONDS,
      Grant: REFRESH_TOKEN_TTL_SECONDS,
      Interaction: 600,
      IdToken: 3600,
      AuthorizationCode: 60,
      AccessToken: init.accessTokenTtlSeconds
    },
    interactions: { url: (_ctx, interaction) => `${PROVIDER_MOUNT}${INTERACTION_PATH}${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      // a client revokes only its own tokens
      revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      deviceFlow: {
        enabled: true,
        async userCodeInputSource (ctx: KoaContextWithOIDC, form: string, _out: unknown, err: unknown) {
          const e = err as { userCode?: string, name?: string } | undefined
          ctx.body = deviceCodePage(form, e === undefined ? undefined : e.name === 'AbortedError' ? 'The sign-in was aborted.' : 'That code is not valid (or no longer). Try again.')
        },
        async userCodeConfirmSource (ctx: KoaContextWithOIDC, form: string, client: { clientName?: string, clientId: string }, _info: unknown, userCode: string) {
          ctx.body = deviceConfirmPage(form, client.clientName ?? client.clientId, userCode)
        },
        async successSource (ctx: KoaContextWithOIDC) { ctx.body = deviceDonePage() }
      },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource (ctx: KoaContextWithOIDC, form: string) { ctx.body = logoutPage(form) },
        async postLogoutSuccessSource (ctx: KoaContextWithOIDC) { ctx.body = loggedOutPage() }
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => audience,
        useGrantedResource: async () => true,
        async getResourceServerInfo (_ctx, resource) {
          if (resource !== audience) throw new providerErrors.InvalidTarget()
          return { scope: API_SCOPE, audience, accessTokenTTL: init.accessTokenTtlSeconds, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } }
        }
      }
    },
    renderError (ctx, out) {
      ctx.type = 'html'
      ctx.body = page('Sign-in error', `<p role="alert">${escapeHtml(String(out.error))}: ${escapeHtml(String(out.error_description ?? ''))}</p>`)
    }
  }
  const provider = new Provider(issuer, configuration)
  // no token, code or cookie in our logs: only the event and the client
  provider.on('server_error', (_ctx: unknown, err: Error) => { log.error('provider error', { err }) })

  const callback = provider.callback()

  async function interaction (req: IncomingMessage, res: ServerResponse, rest: string): Promise<void> {
    const [uid, action] = rest.split('/')
    const details = await provider.interactionDetails(req, res)
    // the uid in the URL must be the one in the provider's cookie: that binds the form to this browser
    if (details.uid !== uid) { html(res, 400, loginPage({ action: '', client: '', error: 'This sign-in link is stale. Start again.' })); return }
    const self = `${PROVIDER_MOUNT}${INTERACTION_PATH}${uid}`
    const client = String(details.params.client_id ?? '')
    if (details.prompt.name !== 'login') {
      // consent is implied (loadExistingGrant): a consent prompt only means "carry on"
      await provider.interactionFinished(req, res, { consent: {} }, { mergeWithLastSubmission: true })
      return
    }
    if (req.method === 'GET' && action === undefined) { html(res, 200, loginPage({ action: `${self}/login`, client })); return }
    if (req.method !== 'POST' || action !== 'login') { html(res, 405, loginPage({ action: `${self}/login`, client, error: 'Use the form.' })); return }
    const form = await readForm(req)
    const user = form?.get('user') ?? ''
    const account = await directory.check(user, form?.get('password') ?? '')
    if (account === undefined) {
      log.info('login refused', { client })
      html(res, 401, loginPage({ action: `${self}/login`, client, user, error: 'Wrong user name or password.' }))
      return
    }
    log.info('login', { user: account.user, client })
    await provider.interactionFinished(req, res, { login: { accountId: account.user } }, { mergeWithLastSubmission: false })
  }

  return {
    issuer,
    handle (req, res) {
      const original = req.url ?? '/'
      const path = original.slice(PROVIDER_MOUNT.length) || '/'
      if (path.startsWith(INTERACTION_PATH)) {
        interaction(req, res, path.slice(INTERACTION_PATH.length).split('?')[0]!).catch((err: unknown) => {
          log.info('interaction failed', { err: (err as Error).name })
          if (!res.headersSent) html(res, 400, loginPage({ action: '', client: '', error: 'This sign-in expired or is unknown. Start again from the application.' }))
          else res.end()
        })
        return
      }
      // Mounted the Express way: the provider reads its mount path from `originalUrl`.
      Object.assign(req, { originalUrl: original })
      req.url = path
      void callback(req, res)
    }
  }
}
