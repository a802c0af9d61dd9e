/**
 * `branchcast tracker` as a real child process: started on a data dir, ready once it prints
 * its "listening on" line, stopped with SIGTERM (SIGKILL after a bound).
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const BIN = fileURLToPath(new URL('../../bin/branchcast.ts', import.meta.url))
const START_TIMEOUT_MS = 20_000

export interface TrackerProcess {
  child: ChildProcess
  url: string
  /** everything it printed on stdout so far */
  stdout: () => string
  /** resolves once stdout matches `re` (bounded) */
  waitFor: (re: RegExp, timeoutMs?: number) => Promise<RegExpExecArray>
}

export async function spawnTracker (dataDir: string, extraArgs: string[] = []): Promise<TrackerProcess> {
  const child = spawn(process.execPath, [BIN, 'tracker', '--data', dataDir, '--port', '0', '--log-level', 'warn', ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stderr!.on('data', (b: Buffer) => { err += b.toString() })
  child.stdout!.on('data', (b: Buffer) => { out += b.toString() })
  const waitFor = async (re: RegExp, timeoutMs = START_TIMEOUT_MS): Promise<RegExpExecArray> => await new Promise((resolve, reject) => {
    const check = (): boolean => {
      const m = re.exec(out)
      if (m === null) return false
      cleanup()
      resolve(m)
      return true
    }
    const onExit = (code: number | null): void => { cleanup(); reject(new Error(`tracker exited (${String(code)}): ${err}`)) }
    const timer = setTimeout(() => { cleanup(); reject(new Error(`tracker printed no ${String(re)} in ${timeoutMs} ms: ${err}`)) }, timeoutMs)
    const cleanup = (): void => { clearTimeout(timer); child.stdout!.off('data', check); child.off('exit', onExit) }
    if (check()) return
    child.stdout!.on('data', check)
    child.once('exit', onExit)
  })
  try {
    const m = await waitFor(/listening on (http:\/\/\S+)/)
    return { child, url: m[1]!, stdout: () => out, waitFor }
  } catch (e) {
    child.kill('SIGKILL')
    throw e
  }
}

export async function stopTracker (p: TrackerProcess | undefined): Promise<void> {
  if (p === undefined || p.child.exitCode !== null || p.child.signalCode !== null) return
  const exited = new Promise((resolve) => p.child.once('exit', resolve))
  p.child.kill('SIGTERM')
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}
