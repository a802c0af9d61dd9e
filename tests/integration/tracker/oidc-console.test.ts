// The console's login against the tracker's real embedded OpenID provider, driven by plain
// HTTP: authorization code + PKCE → session cookie → API calls; CSRF header on writes;
// refresh when the access token is due; logout; and the first start's admin password.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { cp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { startTestTracker } from '../../helpers/tracker.ts'
import type { TestTracker } from '../../helpers/tracker.ts'
import { Browser, form } from '../../helpers/browser.ts'
import { makeTmpDir } from '../../helpers/tmp-dir.ts'
import type { Page } from '../../helpers/browser.ts'
import { createLogger } from '../../../protocol/logger.ts'
import { hashPassword } from '../../../tracker/oidc/index.ts'

let clock = Date.now()
let t: TestTracker
const logLines: string[] = []

test.before(async () => {
  t = await startTestTracker({ now: () => clock, logger: createLogger({ level: 'debug', write: (line) => { logLines.push(line) } }, 'tracker') })
})
const after: Array<() => Promise<void>> = []
test.after(async () => {
  await t.stop()
  for (const f of after) await f()
})

async function password (): Promise<string> {
  return (await readFile(join(t.dataDir, 'initial-admin-password'), 'utf8')).trim()
}

/** /console/login → the provider's login form → posted → back at /console with a session. */
async function logIn (browser: Browser, user: string, pass: string): Promise<Page> {
  const loginPage = await browser.go(`${t.url}/console/login`)
  assert.is(loginPage.status, 200, loginPage.html)
  const f = form(loginPage)
  return await browser.go(f.action, { form: { ...f.fields, user, password: pass } })
}

test('first start: users.json and the admin password file are 0600', async () => {
  for (const file of ['users.json', 'initial-admin-password', 'keys/oidc-signing.jwk.json', 'keys/console-session.key']) {
    assert.is((await stat(join(t.dataDir, file))).mode & 0o777, 0o600, file)
  }
  const users = JSON.parse(await readFile(join(t.dataDir, 'users.json'), 'utf8'))
  assert.is(users.users[0].user, 'admin')
  assert.not.ok(JSON.stringify(users).includes(await password()), 'only a hash is stored')
})

test('code + PKCE: login form → session cookie → the API answers as that user', async () => {
  const browser = new Browser()
  const landed = await logIn(browser, 'admin', await password())
  assert.is(landed.url, `${t.url}/console`)
  assert.match(landed.html, /Signed in as <strong>admin<\/strong> \(admin\)/)
  assert.ok(browser.cookies.has('bc_session'))
  assert.not.ok(browser.cookies.has('bc_login'), 'the login cookie is spent')
  const me = await browser.request(`${t.url}/api/v1/me`)
  assert.is(me.status, 200)
  const body = await me.json() as { user: string, role: string, via: string, token: unknown }
  assert.equal([body.user, body.role, body.via, body.token], ['admin', 'admin', 'session', null])
})

test('a wrong password re-shows the form with an alert and sets no session', async () => {
  const browser = new Browser()
  const again = await logIn(browser, 'admin', 'not-it')
  assert.is(again.status, 401)
  assert.match(again.html, /role="alert"/)
  assert.match(again.html, /<label for="password">/)
  assert.not.ok(/<script/i.test(again.html), 'no JavaScript')
  assert.not.ok(browser.cookies.has('bc_session'))
})

test('session writes need the CSRF header; reads do not', async () => {
  const browser = new Browser()
  await logIn(browser, 'admin', await password())
  const post = (headers: Record<string, string>): Promise<Response> => browser.request(`${t.url}/api/v1/tokens`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } })
  const noHeader = await browser.request(`${t.url}/api/v1/tokens`, { method: 'DELETE' })
  assert.is(noHeader.status, 403)
  assert.match(((await noHeader.json()) as { error: { message: string } }).error.message, /x-branchcast-csrf/)
  const withHeader = await post({ 'x-branchcast-csrf': '1' })
  assert.is(withHeader.status, 400, 'past the CSRF check (the empty body is refused next)')
})

test('an access token past its time is refreshed with the refresh token; the cookie is renewed', async () => {
  const browser = new Browser()
  await logIn(browser, 'admin', await password())
  const before = browser.cookies.get('bc_session')
  clock += 11 * 60_000 // the access token (10 min) is due; the session (8 h) is not
  try {
    const me = await browser.request(`${t.url}/api/v1/me`)
    assert.is(me.status, 200)
    assert.ok(browser.cookies.get('bc_session') !== before, 'renewed cookie')
    assert.is((await browser.request(`${t.url}/api/v1/me`)).status, 200)
  } finally {
    clock -= 11 * 60_000
  }
})

test('logout ends the session here and at the provider', async () => {
  const browser = new Browser()
  await logIn(browser, 'admin', await password())
  const session = browser.cookies.get('bc_session')!
  const out = await browser.request(`${t.url}/console/logout`, { method: 'POST' })
  assert.is(out.status, 303)
  const location = out.headers.get('location')!
  assert.match(location, /\/oidc\/session\/end\?/)
  assert.not.ok(browser.cookies.has('bc_session'))
  // the provider asks to confirm, then sends the browser back to the console
  const confirm = await browser.go(location)
  const f = form(confirm)
  const back = await browser.go(f.action, { form: { ...f.fields, logout: 'yes' } })
  assert.is(back.url, `${t.url}/console`)
  assert.match(back.html, /Sign in/)
  // the old cookie replayed: its refresh token was revoked, so once due it is refused
  clock += 11 * 60_000
  try {
    const replay = await fetch(`${t.url}/api/v1/me`, { headers: { cookie: `bc_session=${session}` } })
    assert.is(replay.status, 401)
  } finally {
    clock -= 11 * 60_000
  }
  // and a new login asks for the password again
  const again = await browser.go(`${t.url}/console/login`)
  assert.match(again.html, /<form method="post"/)
})

test('a user from users.json with a read-only role logs in as a read-only admin', async () => {
  const file = join(t.dataDir, 'users.json')
  const users = JSON.parse(await readFile(file, 'utf8'))
  users.users.push({ user: 'auditor', passwordHash: await hashPassword('audit-pass'), groups: ['it'], role: 'read-only-admin' })
  await writeFile(file, JSON.stringify(users))
  // users.json is read at start: restart on the same data directory
  const dataDir = await makeTmpDir('branchcast-oidc-users-')
  await cp(t.dataDir, dataDir, { recursive: true })
  await t.stop()
  t = await startTestTracker({ now: () => clock, config: { dataDir } })
  after.push(async () => { await rm(dataDir, { recursive: true, force: true }) })
  const browser = new Browser()
  await logIn(browser, 'auditor', 'audit-pass')
  const me = await (await browser.request(`${t.url}/api/v1/me`)).json() as { role: string, groups: string[], admin: boolean }
  assert.equal([me.role, me.groups, me.admin], ['read-only-admin', ['it'], true])
  assert.is((await browser.request(`${t.url}/api/v1/tokens`)).status, 200)
  const write = await browser.request(`${t.url}/api/v1/tokens/1`, { method: 'DELETE', headers: { 'x-branchcast-csrf': '1' } })
  assert.is(write.status, 403)
  assert.equal(((await write.json()) as { error: unknown }).error, { code: 'ERR_FORBIDDEN', message: 'read-only admin' })
})

test('no password, code, token or cookie value in a log line', async () => {
  const logs = logLines.join('\n')
  assert.ok(logs.includes('login'), 'logins are logged')
  assert.not.ok(logs.includes(await password()))
  assert.not.ok(/bct_|eyJ|code=|bc_session=/.test(logs))
})

test.run()
