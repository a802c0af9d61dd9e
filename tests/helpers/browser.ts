/**
 * A browser reduced to plain HTTP, for driving login pages in tests: a cookie jar (one
 * per instance, cookies by name — tests talk to one host), redirects followed by hand, and
 * the forms of a page read out (action, hidden fields) so a test can post them as a person
 * would. No JavaScript: the pages under test must not need any.
 */

export interface Page {
  url: string
  status: number
  html: string
  headers: Headers
}

export interface Form {
  action: string
  method: string
  fields: Record<string, string>
}

export class Browser {
  readonly cookies = new Map<string, string>()

  private remember (res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';')
      const eq = pair!.indexOf('=')
      const name = pair!.slice(0, eq).trim()
      const value = pair!.slice(eq + 1).trim()
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=Thu, 01 Jan 1970/i.test(a))
      if (expired || value === '') this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
  }

  /** One request, no redirect followed. */
  async request (url: string, init: { method?: string, form?: Record<string, string>, headers?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers }
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
    let body: string | undefined
    if (init.form !== undefined) { headers['content-type'] = 'application/x-www-form-urlencoded'; body = new URLSearchParams(init.form).toString() }
    const res = await fetch(url, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, body, redirect: 'manual' })
    this.remember(res)
    return res
  }

  /** Follows redirects (as a browser: 303 and 302 after a POST become GET) until a page or `stopAt` matches. */
  async go (url: string, init: { method?: string, form?: Record<string, string> } = {}, stopAt?: (url: string) => boolean): Promise<Page> {
    let current = url
    let req = init
    for (let hops = 0; hops < 20; hops++) {
      const res = await this.request(current, req)
      const location = res.headers.get('location')
      if (res.status >= 300 && res.status < 400 && location !== null) {
        await res.arrayBuffer()
        current = new URL(location, current).href
        req = {}
        if (stopAt?.(current) === true) return { url: current, status: res.status, html: '', headers: res.headers }
        continue
      }
      return { url: current, status: res.status, html: await res.text(), headers: res.headers }
    }
    throw new Error(`too many redirects from ${url}`)
  }
}

function attr (tag: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}="([^"]*)"`, 'i').exec(tag)
  return m?.[1]?.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n))).replace(/&amp;/g, '&')
}

/** The forms of a page: action resolved against the page's URL, hidden and pre-filled fields. */
export function forms (page: Page): Form[] {
  const out: Form[] = []
  for (const m of page.html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const fields: Record<string, string> = {}
    for (const input of m[2]!.matchAll(/<input\b[^>]*>/gi)) {
      const name = attr(input[0], 'name')
      if (name !== undefined) fields[name] = attr(input[0], 'value') ?? ''
    }
    out.push({ action: new URL(attr(m[1]!, 'action') ?? '', page.url).href, method: (attr(m[1]!, 'method') ?? 'get').toUpperCase(), fields })
  }
  return out
}

/** The page's only (or first) form, or a failure naming the page. */
export function form (page: Page): Form {
  const f = forms(page)[0]
  if (f === undefined) throw new Error(`no form on ${page.url} (${page.status}): ${page.html.slice(0, 300)}`)
  return f
}
