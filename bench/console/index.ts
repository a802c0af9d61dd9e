// The console's first paint at scale: one million events and 5,000 clients (100 sites, 30
// days, the reports bench's generator) in SQLite, a real `branchcast tracker` child, and
// headless Chromium logged in as an admin. Each page is opened `--runs` times after a
// warm-up; measured in the browser from navigation start: first contentful paint (the
// shell) and "data painted" (the page's tables drawn with rows from the API: nothing left
// saying Loading or Waiting). The same run on an empty database is the baseline.
//
//   npx node bench/console/index.ts [--events 1000000] [--runs 5] [--json]
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type { Page } from 'playwright-core'
import { hashPassword } from '../../tracker/oidc/index.ts'
import { launchChromium, waitForExpression } from '../../tests/helpers/chromium.ts'
import { generate } from '../reports/generate.ts'
import { spawnTracker, stopTracker } from '../tracker-process.ts'

const { values } = parseArgs({ options: { events: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '5' }, json: { type: 'boolean' } } })
const EVENTS = Number(values.events)
const RUNS = Number(values.runs)
const PAGES = ['', 'images', 'policies', 'clients', 'reports', 'planner']
const PASSWORD = 'bench-console-pass'
/** evaluated in the page: the page's data is drawn */
const READY = "document.querySelector('main h1') !== null && !/Loading|Waiting for the first snapshot/.test(document.querySelector('main').textContent)"

interface Timing { fcpMs: number, dataMs: number }

async function measure (page: Page, url: string): Promise<Timing> {
  await page.goto(url)
  await waitForExpression(page, READY, 60_000, 10)
  const dataMs = await page.evaluate('performance.now()') as number
  // the paint entry may be queued a frame after the content is there
  await waitForExpression(page, "performance.getEntriesByName('first-contentful-paint').length > 0", 10_000, 10)
  const fcpMs = await page.evaluate("performance.getEntriesByName('first-contentful-paint')[0].startTime") as number
  return { fcpMs, dataMs }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const round = (x: number): number => Math.round(x)

async function run (label: string, events: number): Promise<Record<string, unknown>> {
  const dataDir = await mkdtemp(join(tmpdir(), 'branchcast-bench-console-'))
  try {
    let generateSeconds = 0
    if (events > 0) generateSeconds = (await generate({ path: join(dataDir, 'tracker.db'), events, sites: 100, clients: 5000, days: 30, endMs: Date.now() })).seconds
    await writeFile(join(dataDir, 'users.json'), JSON.stringify({ users: [{ user: 'admin', passwordHash: await hashPassword(PASSWORD), groups: [], role: 'admin' }] }), { mode: 0o600 })
    const tracker = await spawnTracker(dataDir)
    const browser = await launchChromium()
    try {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
      const page = await context.newPage()
      await page.goto(`${tracker.url}/console/login`)
      await page.fill('#user', 'admin')
      await page.fill('#password', PASSWORD)
      await Promise.all([page.waitForURL(`${tracker.url}/console`), page.click('button[type=submit]')])
      const pages: Record<string, unknown> = {}
      for (const p of PAGES) {
        const url = `${tracker.url}/console${p === '' ? '' : `/${p}`}`
        await measure(page, url) // warm-up: bundle cached, SQLite pages warm
        const runs: Timing[] = []
        for (let i = 0; i < RUNS; i++) runs.push(await measure(page, url))
        pages[p === '' ? 'dashboard' : p] = {
          fcpMedianMs: round(median(runs.map((r) => r.fcpMs))),
          fcpMaxMs: round(Math.max(...runs.map((r) => r.fcpMs))),
          dataMedianMs: round(median(runs.map((r) => r.dataMs))),
          dataMaxMs: round(Math.max(...runs.map((r) => r.dataMs)))
        }
      }
      return { label, events, generateSeconds: Number(generateSeconds.toFixed(1)), pages }
    } finally {
      await browser.close()
      await stopTracker(tracker)
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true })
  }
}

const results = { meta: { node: process.version, cpus: cpus().length, runs: RUNS, at: new Date().toISOString() }, baseline: await run('empty database', 0), scale: await run(`${EVENTS} events, 5,000 clients`, EVENTS) }
if (values.json === true) console.log(JSON.stringify(results, null, 2))
else {
  for (const r of [results.baseline, results.scale]) {
    console.log(`${String(r.label)}${r.generateSeconds !== 0 ? ` (generated in ${String(r.generateSeconds)} s)` : ''}`)
    for (const [p, t] of Object.entries(r.pages as Record<string, Record<string, number>>)) console.log(`  ${p.padEnd(10)} first paint ${t.fcpMedianMs} ms (max ${t.fcpMaxMs}), data painted ${t.dataMedianMs} ms (max ${t.dataMaxMs})`)
  }
}
