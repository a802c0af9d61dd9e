// `branchcast login` on a desk against the tracker's real embedded provider: the device
// grant approved through the provider's own pages by plain HTTP, the 0600 login file, the
// node's tracker client on it (refreshing when the access token is due), a denial, and
// `branchcast logout` revoking the refresh token.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import * as client from 'openid-client'
import { startTestTracker } from '../../helpers/tracker.ts'
import type { TestTracker } from '../../helpers/tracker.ts'
import { makeTmpDir } from '../../helpers/tmp-dir.ts'
import { Browser, form } from '../../helpers/browser.ts'
import { createTrackerClient, trackerApi } from '../../../node/tracker-client.ts'
import { createLoginTokenSource, discoverIssuer, readLoginFile } from '../../../node/auth/index.ts'
import type { Me } from '../../../protocol/index.ts'

const BIN = fileURLToPath(new URL('../../../bin/branchcast.ts', import.meta.url))
let t: TestTracker
let desk: string

test.before(async () => {
  t = await startTestTracker()
  desk = await makeTmpDir('branchcast-desk-')
})
test.after(async () => {
  await t.stop()
  await rm(desk, { recursive: true, force: true })
})

interface Running { code: Promise<number>, stdout: () => string, stderr: () => string, prompt: Promise<{ uri: string, userCode: string }> }

/** `branchcast login` as a child process; resolves the prompt once it printed the code. */
function login (dataDir: string): Running {
  const child = spawn(process.execPath, [BIN, 'login', '--tracker', t.url, '--data', dataDir], { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stderr.on('data', (d: Buffer) => { err += d.toString() })
  const prompt = new Promise<{ uri: string, userCode: string }>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /open (\S+) in a browser and enter the code (\S+)/.exec(out)
      if (m !== null) resolve({ uri: m[1]!, userCode: m[2]! })
    })
    child.once('exit', () => reject(new Error(`login exited before prompting: ${out} ${err}`)))
  })
  prompt.catch(() => {})
  const timer = setTimeout(() => child.kill(), 60_000)
  const code = new Promise<number>((resolve) => child.once('exit', (c) => { clearTimeout(timer); resolve(c ?? 1) }))
  return { code, stdout: () => out, stderr: () => err, prompt }
}

async function password (): Promise<string> {
  return (await readFile(join(t.dataDir, 'initial-admin-password'), 'utf8')).trim()
}

/** The person at a browser: enter the code, confirm (or abort), sign in. */
async function approve (uri: string, userCode: string, { abort = false } = {}): Promise<string> {
  const browser = new Browser()
  const entry = await browser.go(uri)
  assert.is(entry.status, 200, entry.html)
  assert.match(entry.html, /aria-label="Code"/)
  const codeForm = form(entry)
  const confirmPage = await browser.go(codeForm.action, { form: { ...codeForm.fields, user_code: userCode } })
  assert.match(confirmPage.html, new RegExp(userCode))
  const confirm = form(confirmPage)
  const next = await browser.go(confirm.action, { form: abort ? { ...confirm.fields, abort: 'yes' } : confirm.fields })
  if (abort) return next.html
  const loginForm = form(next)
  const done = await browser.go(loginForm.action, { form: { ...loginForm.fields, user: 'admin', password: await password() } })
  return done.html
}

test('device grant: approved in a browser → login.json (0600, dir 0700) → the node calls the API with it', async () => {
  const dataDir = join(desk, 'node-a')
  const run = login(dataDir)
  const { uri, userCode } = await run.prompt
  assert.match(uri, /\/oidc\/device$/)
  const page = await approve(uri, userCode)
  assert.match(page, /Device signed in/)
  assert.is(await run.code, 0, run.stderr())
  assert.match(run.stdout(), /logged in as admin/)

  assert.is((await stat(join(dataDir, 'login.json'))).mode & 0o777, 0o600)
  assert.is((await stat(dataDir)).mode & 0o777, 0o700)
  const stored = (await readLoginFile(dataDir))!
  assert.is(stored.tracker, t.url)
  assert.not.ok(run.stdout().includes(stored.refreshToken) || run.stdout().includes(stored.accessToken), 'no token on the terminal')

  // the node's tracker client, with no API token: the stored login
  const api = await trackerApi({ tracker: t.url, dataDir })
  const me = await api.json<Me>('GET', '/api/v1/me')
  assert.equal([me.user, me.role, me.via], ['admin', 'admin', 'access-token'])
  const keys = await createTrackerClient(api).keys()
  assert.ok(keys.repository.keyId.length > 0)
  // and the tracker URL is saved for `branchcast node`
  assert.is(JSON.parse(await readFile(join(dataDir, 'config.json'), 'utf8')).tracker, t.url)
})

test('refresh after expiry: a due access token is renewed, the rotated refresh token stored', async () => {
  const dataDir = join(desk, 'node-a')
  const before = (await readLoginFile(dataDir))!
  const later = (): number => Date.now() + 11 * 60_000 // past the 10-minute access token
  const api = await trackerApi({ tracker: t.url, dataDir }, { now: later })
  assert.is((await api.json<Me>('GET', '/api/v1/me')).user, 'admin')
  const after = (await readLoginFile(dataDir))!
  assert.ok(after.accessToken !== before.accessToken, 'new access token')
  assert.ok(after.refreshToken !== before.refreshToken, 'the CLI client rotates its refresh token')
  // the old refresh token is spent
  const config = await discoverIssuer(before.issuer, before.clientId)
  let refused: unknown
  try { await client.refreshTokenGrant(config, before.refreshToken) } catch (err) { refused = err }
  assert.is((refused as { error?: string } | undefined)?.error, 'invalid_grant')
  // the token source answers from the file while the token is fresh
  assert.is(await createLoginTokenSource({ dataDir }).token(), after.accessToken)
})

test('denied at the provider: one clear line, exit 1, nothing stored', async () => {
  const dataDir = join(desk, 'node-b')
  const run = login(dataDir)
  const { uri, userCode } = await run.prompt
  await approve(uri, userCode, { abort: true })
  assert.is(await run.code, 1)
  assert.is(run.stderr(), 'branchcast login: ERR_LOGIN_DENIED: the sign-in was denied at the provider\n')
  assert.is(await readLoginFile(dataDir), undefined)
})

test('branchcast logout revokes the refresh token and deletes the file; the node then needs a login', async () => {
  const dataDir = join(desk, 'node-a')
  const stored = (await readLoginFile(dataDir))!
  const out = await new Promise<{ code: number, stdout: string }>((resolve) => {
    const child = spawn(process.execPath, [BIN, 'logout', '--data', dataDir], { env: { PATH: process.env.PATH } })
    let stdout = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.once('exit', (c) => resolve({ code: c ?? 1, stdout }))
  })
  assert.is(out.code, 0)
  assert.match(out.stdout, /refresh token revoked/)
  assert.is(await readLoginFile(dataDir), undefined)
  const config = await discoverIssuer(stored.issuer, stored.clientId)
  let refused: unknown
  try { await client.refreshTokenGrant(config, stored.refreshToken) } catch (err) { refused = err }
  assert.is((refused as { error?: string } | undefined)?.error, 'invalid_grant')
  let noLogin: unknown
  try { await trackerApi({ tracker: t.url, dataDir }) } catch (err) { noLogin = err }
  assert.is((noLogin as { code?: string }).code, 'ERR_NODE_CONFIG')
})

test.run()
