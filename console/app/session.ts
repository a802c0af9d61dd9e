/** Who is signed in, as the tracker rendered it into the page's `data-` attributes. */
import { createContext } from 'preact'
import { useContext } from 'preact/hooks'

export interface Session {
  user: string
  role: string
  /** a read-only admin: every write control is disabled (the API refuses the writes anyway) */
  readOnly: boolean
}

export function sessionFromPage (): Session {
  const role = document.body.dataset.role ?? ''
  return { user: document.body.dataset.user ?? '', role, readOnly: role !== 'admin' }
}

export const SessionContext = createContext<Session>({ user: '', role: '', readOnly: true })

export function useSession (): Session {
  return useContext(SessionContext)
}
