// The admins' web console in a real browser (Debian's Chromium, headless) against a real
// `branchcast tracker` process and its development OpenID provider, with a real node
// pulling: login, upload and publish, a policy assigned to a group, the node's pull live
// on the dashboard, a CSV export, a read-only admin and a non-admin. Every page is
// screenshotted at 1280×800 and 390×844 into test-output/console/.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { createApiClient } from '../../protocol/api/client.ts'
import { createLogger } from '../../protocol/logger.ts'
import { hashPassword } from '../../tracker/oidc/index.ts'
import { createEventReporter } from '../../node/events/index.ts'
import { createTrackerClient } from '../../node/tracker-client.ts'
import { loadOrCreatePeerKey } from '../../node/peer/index.ts'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { launchChromium, waitForExpression, watchedPage } from '../helpers/chromium.ts'
import type { WatchedPage } from '../helpers/chromium.ts'
import { sampleImage, startTestNode } from '../helpers/swarm.ts'
import type { TestTracker } from '../helpers/tracker.ts'
import { makeTmpDir } from '../helpers/tmp-dir.ts'
import { spawnTracker, stopTracker } from '../helpers/tracker-process.ts'
import type { TrackerProcess } from '../helpers/tracker-process.ts'

const OUT = fileURLToPath(new URL('../../test-output/console/', import.meta.url))
const PAGES = ['', 'images', 'policies', 'clients', 'reports', 'planner']
const PASSWORDS = { admin: 'admin-pass-e2e', auditor: 'audit-pass-e2e', bob: 'bob-pass-e2e' }
const IMAGE_BYTES = 3 * 1024 * 1024
/** evaluated in the page: nothing on it is still loading */
/** evaluated in the page: elements whose text overflows their box (tables may scroll inside their own container) */
const CLIPPED = `[...document.querySelectorAll('main button, main h1, main h2, main label, main th, main td, main .card, .top *')]
  .filter((e) => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1)
  .map((e) => e.tagName + ': ' + e.textContent.slice(0, 40))`
const NOT_LOADING = "!/Loading|Waiting for the first snapshot/.test(document.querySelector('main').textContent)"

let dataDir: string
let tracker: TrackerProcess | undefined
let browser: Browser | undefined
let admin: BrowserContext
let adminPage: WatchedPage
let adminToken: string
const cleanups: Array<() => Promise<unknown>> = []

async function logIn (context: BrowserContext, user: keyof typeof PASSWORDS): Promise<WatchedPage> {
  const w = await watchedPage(context)
  await w.page.goto(`${tracker!.url}/console/login`)
  await w.page.fill('#user', user)
  await w.page.fill('#password', PASSWORDS[user])
  await Promise.all([w.page.waitForURL(`${tracker!.url}/console`), w.page.click('button[type=submit]')])
  return w
}

async function open (page: Page, path: string): Promise<void> {
  await page.goto(`${tracker!.url}/console${path === '' ? '' : `/${path}`}`)
  await page.waitForSelector('main h1')
}

test.before(async () => {
  dataDir = await makeTmpDir('branchcast-e2e-')
  await mkdir(OUT, { recursive: true })
  // users.json before the first start: the development provider's directory with one user per role
  const users = await Promise.all(([['admin', 'admin'], ['auditor', 'read-only-admin'], ['bob', 'user']] as const).map(async ([user, role]) =>
    ({ user, passwordHash: await hashPassword(PASSWORDS[user]), groups: user === 'bob' ? ['branch-staff'] : [], role })))
  await writeFile(join(dataDir, 'users.json'), JSON.stringify({ users }), { mode: 0o600 })
  tracker = await spawnTracker(dataDir)
  adminToken = (await readFile(join(dataDir, 'initial-admin-token'), 'utf8')).trim()
  browser = await launchChromium()
  admin = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true })
})

test.after(async () => {
  for (const f of cleanups.reverse()) await f().catch(() => {})
  await browser?.close()
  await stopTracker(tracker)
  await rm(dataDir, { recursive: true, force: true })
})

test('an admin logs in through the OpenID provider and lands on the dashboard', async () => {
  adminPage = await logIn(admin, 'admin')
  const { page } = adminPage
  await page.waitForSelector('text=Signed in as')
  assert.match(await page.textContent('.who') ?? '', /admin \(admin\)/)
  await page.waitForSelector('.live.on')
  const csp = (await page.request.get(`${tracker!.url}/console`)).headers()['content-security-policy'] ?? ''
  assert.match(csp, /script-src 'self';/)
  assert.not.match(csp, /unsafe-inline/)
})

test('upload an image from the browser with progress, published; its versions list', async () => {
  const { page } = adminPage
  await open(page, 'images')
  await page.fill('input[name=image-name]', 'desktop')
  await page.click('button:has-text("Create image")')
  await page.waitForSelector('text=Image desktop created.')
  const file = join(dataDir, 'desktop.raw')
  await writeFile(file, sampleImage(IMAGE_BYTES, 7))
  await page.setInputFiles('input[name=image-file]', file)
  await page.click('button:has-text("Upload")')
  await page.waitForSelector('text=Version 1 published', { timeout: 30_000 })
  const row = page.locator('table[aria-label="Versions of desktop"] tbody tr', { hasText: 'published' }).first()
  await row.waitFor() // the list reloads after the notice
  assert.match(await row.textContent() ?? '', /^1published3\.0 MiB/)
  assert.ok(await page.isEnabled('button:has-text("Retire")'))

  // a second upload left as a draft, then deleted (after the browser's confirmation)
  await page.uncheck('input[name=publish]')
  await page.setInputFiles('input[name=image-file]', file)
  await page.click('button:has-text("Upload")')
  await page.waitForSelector('text=Version 2 uploaded as a draft', { timeout: 30_000 })
  const draft = page.locator('table[aria-label="Versions of desktop"] tbody tr', { hasText: 'draft' }).first()
  await draft.waitFor()
  page.once('dialog', (d) => { void d.accept() })
  await draft.locator('button:has-text("Delete draft")').click()
  await page.waitForSelector('text=Draft version 2 deleted.')
  await page.locator('table[aria-label="Versions of desktop"] tbody tr', { hasText: 'draft' }).waitFor({ state: 'detached' })
  await page.check('input[name=publish]')
})

test('create a policy: a bad value is refused beside its field; then assign it to a group and preview', async () => {
  const { page } = adminPage
  await open(page, 'policies')
  await page.click('button:has-text("New policy")')
  await page.fill('#policy-name', 'branch-desktop')
  await page.fill('#policy-image', 'desktop')
  await page.fill('#policy-vmCpus', '0')
  await page.click('button:has-text("Create policy")')
  const err = await page.textContent('#policy-vmCpus-err')
  assert.match(err ?? '', />=1|at least|too small/i)
  await page.fill('#policy-vmCpus', '2')
  await page.selectOption('#policy-p2pAllowed', 'yes')
  await page.click('button:has-text("Create policy")')
  await page.waitForSelector('table[aria-label=Policies] >> text=branch-desktop')
  await page.fill('input[name=assign-subject]', 'branch-staff')
  await page.click('button:has-text("Assign")')
  await page.waitForSelector('text=Assigned to group branch-staff.')
  await page.fill('input[name=preview-user]', 'carol')
  await page.fill('input[name=preview-groups]', 'branch-staff')
  await page.click('button:has-text("Preview")')
  const preview = await page.textContent('ul.preview')
  assert.match(preview ?? '', /desktop by policy branch-desktop .*group "branch-staff"/)
})

test('real nodes pull; the dashboard shows each pull and the byte split without reloading', async () => {
  const { page } = adminPage
  await open(page, '')
  await page.waitForSelector('.live.on')
  await page.evaluate('window.marker = "no reload"')
  const api = createApiClient({ baseUrl: tracker!.url, token: adminToken })
  const { token } = await api.json<{ token: string }>('POST', '/api/v1/tokens', { json: { user: 'carol', groups: ['branch-staff'], label: 'e2e desk' } })
  const reported: Array<Record<string, number>> = []

  /** A node at branch-1 that reports its events through the node's durable reporter, and pulls. */
  async function deskPulls (host: string): Promise<void> {
    const nodeDir = await makeTmpDir('branchcast-e2e-node-')
    cleanups.push(async () => await rm(nodeDir, { recursive: true, force: true }))
    const peerKey = await loadOrCreatePeerKey(nodeDir)
    const reporter = createEventReporter(
      { dir: join(nodeDir, 'events'), clientId: peerIdFromPrivateKey(peerKey).toString(), client: { host, site: 'branch-1' } },
      { tracker: createTrackerClient(createApiClient({ baseUrl: tracker!.url, token }), { peerKey }), logger: createLogger({ level: 'silent' }), now: Date.now })
    await reporter.start()
    cleanups.push(async () => await reporter.stop())
    const node = await startTestNode({ url: tracker!.url } as TestTracker, token, {
      dataDir: nodeDir,
      site: 'branch-1',
      events: { emit: (type, payload) => { if (type === 'pull.completed') reported.push(payload as Record<string, number>); void reporter.report(type, payload) } }
    })
    cleanups.push(async () => await node.stop())
    await node.puller.pull({ image: 'desktop' })
    await reporter.flush({ signal: AbortSignal.timeout(15_000) })
  }

  const row = page.locator('table[aria-label="Offload per site"] tbody tr', { hasText: 'branch-1' })
  const split = async (): Promise<number[]> => await row.locator('[data-bytes]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-bytes'))))
  const total = (key: string): number => reported.reduce((n, p) => n + (p[key] ?? 0), 0)
  const expected = (): number[] => [total('bytesFromOrigin'), total('bytesFromPeers'), total('bytesFromLocal')]

  await deskPulls('desk-1')
  assert.is(reported.length, 1)
  assert.ok(reported[0]!.bytesFromOrigin! > 0)
  await row.waitFor({ timeout: 20_000 })
  await waitForExpression(page, `document.querySelector('table[aria-label="Recent pulls"]').textContent.includes('desk-1')`, 20_000)
  assert.equal(await split(), expected())

  // a second desk of the same branch takes from the first: peer bytes appear in the split
  await deskPulls('desk-2')
  assert.is(reported.length, 2)
  assert.ok(reported[1]!.bytesFromPeers! > 0, `desk-2 took nothing from desk-1: ${JSON.stringify(reported[1])}`)
  await waitForExpression(page, `document.querySelector('table[aria-label="Recent pulls"]').textContent.includes('desk-2')`, 20_000)
  assert.equal(await split(), expected())
  assert.is(await page.evaluate('window.marker'), 'no reload')
})

test('reports: the activity log exports as CSV with the pull in it; a pull opens to its bytes by source', async () => {
  const { page } = adminPage
  await open(page, 'reports')
  await page.fill('input[name=type]', 'pull.completed')
  await page.press('input[name=type]', 'Enter')
  const row = page.locator('table[aria-label="Activity report"] tbody tr', { hasText: 'desk-1' })
  await row.click()
  await page.waitForSelector('.pull-detail >> text=Origin bytes by reason')
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('a:has-text("Export CSV")')])
  const csv = await readFile((await download.path())!, 'utf8')
  const lines = csv.trim().split(/\r?\n/)
  assert.ok(lines.length >= 2, csv)
  const header = lines[0]!.split(',')
  const rows = lines.slice(1).map((l) => l.split(','))
  assert.ok(header.includes('type') || header.some((h) => /type/i.test(h)), lines[0])
  assert.ok(rows.every((r) => r.some((c) => c === 'pull.completed')), 'filtered to pulls')
  assert.ok(rows.some((r) => r.includes('desk-1') && r.includes('branch-1')), csv)
})

test('every page at 1280×800 and 390×844: screenshots, no console error, no horizontal scroll at 1280', async () => {
  const { page, errors } = adminPage
  for (const [w, h] of [[1280, 800], [390, 844]] as const) {
    await page.setViewportSize({ width: w, height: h })
    for (const p of PAGES) {
      await open(page, p)
      await page.waitForLoadState('networkidle').catch(() => {}) // the dashboard's stream never idles
      await waitForExpression(page, NOT_LOADING)
      await page.screenshot({ path: join(OUT, `${p === '' ? 'dashboard' : p}-${w}x${h}.png`), fullPage: true })
      // text cut off: a control, heading or cell whose content is wider than its own box
      const clipped = await page.evaluate(CLIPPED) as string[]
      assert.equal(clipped, [], `text cut off on ${p || 'dashboard'} at ${w}`)
      if (w === 1280) {
        const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth') as number
        assert.ok(overflow <= 0, `${p || 'dashboard'} scrolls sideways by ${overflow}px at 1280`)
      }
    }
  }
  assert.equal(errors, [])
})

test('a read-only admin sees every page and no enabled write control', async () => {
  const context = await browser!.newContext({ viewport: { width: 1280, height: 800 } })
  cleanups.push(async () => await context.close())
  const { page, errors } = await logIn(context, 'auditor')
  const WRITES = /^(Create image|Upload|Publish|Retire|Roll back to this|Delete draft|New policy|Create policy|Save changes|Edit|Clone|Delete|Assign|Remove)$/
  for (const p of PAGES) {
    await open(page, p)
    await waitForExpression(page, NOT_LOADING)
    const enabled = await page.$$eval('main button, main input, main select, main textarea', (els, re) => els.filter((e) => !(e as { disabled?: boolean }).disabled && new RegExp(re).test((e.textContent ?? '').trim())).map((e) => e.textContent), WRITES.source)
    assert.equal(enabled, [], `enabled write controls on ${p || 'dashboard'}`)
  }
  await open(page, 'images')
  assert.ok(await page.isDisabled('input[name=image-file]'))
  await open(page, 'policies')
  assert.ok(await page.isDisabled('button:has-text("New policy")'))
  const write = await page.request.post(`${tracker!.url}/api/v1/policies`, { headers: { 'x-branchcast-csrf': '1' }, data: { name: 'x', image: 'desktop' } })
  assert.is(write.status(), 403)
  assert.equal(errors, [])
})

test('a non-admin is refused on every page and every console API call', async () => {
  const context = await browser!.newContext({ viewport: { width: 390, height: 844 } })
  cleanups.push(async () => await context.close())
  const { page } = await logIn(context, 'bob')
  for (const p of PAGES) {
    const res = await page.goto(`${tracker!.url}/console${p === '' ? '' : `/${p}`}`)
    assert.is(res?.status(), 403, p)
    assert.match(await page.textContent('main') ?? '', /not one/)
    assert.is(await page.$('script[src]'), null, 'no console code for a non-admin')
  }
  await page.screenshot({ path: join(OUT, 'not-admin-390x844.png'), fullPage: true })
  const calls: Array<[string, string, unknown?]> = [
    ['GET', '/console/dashboard'], ['GET', '/console/live'], ['GET', '/console/preview?user=bob'],
    ['GET', '/clients'], ['GET', '/clients/x'], ['GET', '/policies'], ['GET', '/policies/branch-desktop'], ['GET', '/assignments'],
    ['GET', '/tokens'],
    ...['status', 'activity', 'errors', 'offload', 'deployment'].map((r): [string, string] => ['GET', `/reports/${r}`]),
    ['GET', '/reports/activity?format=csv'], ['GET', '/events'],
    ['POST', '/images', { name: 'evil' }], ['POST', '/images/desktop/versions/1/retire'], ['POST', '/images/desktop/rollback', { to: 1 }],
    ['POST', '/policies', { name: 'evil', image: 'desktop' }], ['PATCH', '/policies/branch-desktop', { priority: 5 }], ['DELETE', '/policies/branch-desktop'],
    ['POST', '/assignments', { policy: 'branch-desktop', user: 'bob' }], ['DELETE', '/assignments?policy=branch-desktop&group=branch-staff'],
    ['POST', '/tokens', { user: 'bob', admin: true }], ['POST', '/gc']
  ]
  const answers: string[] = []
  for (const [method, path, body] of calls) {
    const res = await page.request.fetch(`${tracker!.url}/api/v1${path}`, { method, headers: { 'x-branchcast-csrf': '1' }, ...(body === undefined ? {} : { data: body }) })
    if (res.status() !== 403) answers.push(`${method} ${path} → ${res.status()}`)
  }
  assert.equal(answers, [])
  const policy = await createApiClient({ baseUrl: tracker!.url, token: adminToken }).json<{ priority: number, assignments: unknown[] }>('GET', '/api/v1/policies/branch-desktop')
  assert.is(policy.priority, 0, 'nothing changed')
  assert.is(policy.assignments.length, 1)
})

test.run()
