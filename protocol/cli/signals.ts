/**
 * Ctrl-C and `kill` for commands: long work (an upload, a pull) is aborted through an
 * `AbortSignal` so it can clean up; servers (`tracker`, `node`) wait for a signal and then
 * stop in order. Listeners are removed once done, so a second Ctrl-C gets the default
 * (immediate) exit.
 */

export interface SignalAbort {
  /** aborted with `Error('interrupted')` when the process gets one of the signals */
  signal: AbortSignal
  /** Stops listening. */
  dispose: () => void
}

/** An `AbortSignal` for the process getting one of `signals` (default Ctrl-C). */
export function abortOnSignals (signals: readonly NodeJS.Signals[] = ['SIGINT']): SignalAbort {
  const controller = new AbortController()
  const dispose = (): void => { for (const s of signals) process.off(s, onSignal) }
  function onSignal (): void {
    dispose()
    controller.abort(new Error('interrupted'))
  }
  for (const s of signals) process.on(s, onSignal)
  return { signal: controller.signal, dispose }
}

/** Resolves once the process gets SIGINT or SIGTERM (a server's cue to stop). */
export async function untilStopSignal (): Promise<void> {
  const { signal } = abortOnSignals(['SIGINT', 'SIGTERM'])
  await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
}
