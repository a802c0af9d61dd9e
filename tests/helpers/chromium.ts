/**
 * Debian's Chromium driven by playwright-core: headless, no sandbox (tests run as root),
 * nothing fetched from the network by the browser itself. Pages collect their console
 * errors and uncaught exceptions, so a test can assert there were none.
 */
import { existsSync } from 'node:fs'
import { chromium } from 'playwright-core'
import type { Browser, BrowserContext, Page } from 'playwright-core'

export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p)) ?? '/usr/bin/chromium'

export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage']

export async function launchChromium (): Promise<Browser> {
  return await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, timeout: 30_000 })
}

export interface WatchedPage {
  page: Page
  /** console errors, failed requests the page noticed, and uncaught exceptions, as text */
  errors: string[]
}

/** A new page that records what went wrong in it. */
export async function watchedPage (context: BrowserContext): Promise<WatchedPage> {
  const page = await context.newPage()
  const errors: string[] = []
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()} at ${m.location().url}`) })
  page.on('pageerror', (e) => errors.push(`exception: ${e.message}`))
  page.setDefaultTimeout(15_000)
  return { page, errors }
}

/**
 * Resolves once `expression` is true in the page, polled every `everyMs` (bounded). Not
 * `page.waitForFunction`: Playwright evaluates that with eval inside the page, which the
 * console's content security policy rightly refuses.
 */
export async function waitForExpression (page: Page, expression: string, timeoutMs = 15_000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await page.evaluate(expression) === true) return
    if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms: ${expression}`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}
