/** Small pieces every page uses: a load hook, error and status lines, a page heading. */
import type { ComponentChildren } from 'preact'
import { useCallback, useEffect, useState } from 'preact/hooks'
import { ApiError } from './api.ts'

export interface Loaded<T> {
  data: T | undefined
  error: string | undefined
  loading: boolean
  reload: () => void
}

/** Runs `load` now and whenever `deps` change or `reload()` is called; the newest answer wins. */
export function useLoad<T> (load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [loading, setLoading] = useState(true)
  const [tick, setTick] = useState(0)
  useEffect(() => {
    const ctl = new AbortController()
    setLoading(true)
    load(ctl.signal).then(
      (d) => { if (!ctl.signal.aborted) { setData(d); setError(undefined); setLoading(false) } },
      (err) => { if (!ctl.signal.aborted) { setError(message(err)); setLoading(false) } }
    )
    return () => ctl.abort()
  }, [...deps, tick])
  const reload = useCallback(() => setTick((t) => t + 1), [])
  return { data, error, loading, reload }
}

export function message (err: unknown): string {
  if (err instanceof ApiError) return `${err.message} (${err.code})`
  return err instanceof Error ? err.message : String(err)
}

export function ErrorLine ({ error }: { error: string | undefined }): ComponentChildren {
  return error === undefined ? null : <p class="error" role="alert">{error}</p>
}

export function Notice ({ text }: { text: string | undefined }): ComponentChildren {
  return text === undefined ? null : <p class="notice" role="status">{text}</p>
}

export function PageHead ({ title, children }: { title: string, children?: ComponentChildren }): ComponentChildren {
  useEffect(() => { document.title = `${title} · Branchcast` }, [title])
  return <div class="page-head"><h1>{title}</h1>{children}</div>
}

/** Runs an action, keeping its error or success message; `busy` while it runs. */
export function useAction (): { busy: boolean, error: string | undefined, notice: string | undefined, run: (fn: () => Promise<string | undefined>) => Promise<void>, clear: () => void } {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | undefined>(undefined)
  const [notice, setNotice] = useState<string | undefined>(undefined)
  const run = async (fn: () => Promise<string | undefined>): Promise<void> => {
    setBusy(true); setError(undefined); setNotice(undefined)
    try { setNotice(await fn()) } catch (err) { setError(message(err)) } finally { setBusy(false) }
  }
  return { busy, error, notice, run, clear: () => { setError(undefined); setNotice(undefined) } }
}

/** Saves text as a file the browser downloads. */
export function download (name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }))
  const a = document.createElement('a')
  a.href = url
  a.download = name
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}
