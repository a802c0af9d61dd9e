/**
 * The console's front end: a Preact app drawn into the tracker's shell page. Pages are
 * chosen by the path under `/console`; links change it without reloading.
 */
import { render } from 'preact'
import type { ComponentChildren } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import './style.css'
import { SessionContext, sessionFromPage } from './session.ts'
import { Dashboard } from './pages/dashboard.tsx'
import { Images } from './pages/images.tsx'
import { Policies } from './pages/policies.tsx'
import { Clients } from './pages/clients.tsx'
import { Reports } from './pages/reports.tsx'
import { Planner } from './pages/planner.tsx'

const PAGES: Array<{ path: string, label: string, page: () => ComponentChildren }> = [
  { path: '/console', label: 'Dashboard', page: Dashboard },
  { path: '/console/images', label: 'Images', page: Images },
  { path: '/console/policies', label: 'Policies', page: Policies },
  { path: '/console/clients', label: 'Clients', page: Clients },
  { path: '/console/reports', label: 'Reports', page: Reports },
  { path: '/console/planner', label: 'Planner', page: Planner }
]

function usePath (): string {
  const [path, setPath] = useState(location.pathname)
  useEffect(() => {
    const onPop = (): void => setPath(location.pathname)
    const onClick = (e: MouseEvent): void => {
      const a = (e.target as Element | null)?.closest?.('a')
      if (a === null || a === undefined || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || a.target !== '' || a.hasAttribute('download')) return
      const url = new URL(a.href, location.href)
      if (url.origin !== location.origin || !PAGES.some((p) => p.path === url.pathname)) return
      e.preventDefault()
      history.pushState(null, '', url.pathname + url.search)
      setPath(url.pathname)
      window.scrollTo(0, 0)
    }
    addEventListener('popstate', onPop)
    document.addEventListener('click', onClick)
    return () => { removeEventListener('popstate', onPop); document.removeEventListener('click', onClick) }
  }, [])
  return path
}

function App (): ComponentChildren {
  const path = usePath().replace(/\/+$/, '') || '/console'
  const current = PAGES.find((p) => p.path === path) ?? PAGES[0]!
  const Page = current.page
  const session = sessionFromPage()
  return (
    <SessionContext.Provider value={session}>
      <nav class="main-nav" aria-label="Console">
        {PAGES.map((p) => <a key={p.path} href={p.path} aria-current={p === current ? 'page' : undefined}>{p.label}</a>)}
      </nav>
      {session.readOnly && <p class="notice readonly" role="note">You are a read-only administrator: you can look at everything and change nothing.</p>}
      <main id="main"><Page key={current.path} /></main>
    </SessionContext.Provider>
  )
}

const root = document.getElementById('app')!
root.textContent = ''
render(<App />, root)
