/**
 * A `branchcast tracker` child process for benches: started from a source tree on port 0
 * with its data directory, its URL read from the "listening on" line; stopped with SIGTERM.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface TrackerProcess { child: ChildProcess, url: string }

/** `tree` is a checkout of the repository (this one by default), so a bench can run an older commit's tracker too. */
export async function spawnTracker (dataDir: string, options: { tree?: string, env?: Record<string, string> } = {}): Promise<TrackerProcess> {
  const tree = options.tree ?? fileURLToPath(new URL('../', import.meta.url))
  const child = spawn(process.execPath, [join(tree, 'bin/branchcast.ts'), 'tracker', '--data', dataDir, '--port', '0', '--log-level', 'warn'], {
    stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...options.env }
  })
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error('tracker did not start in 60 s')), 60_000)
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString()
      const m = /listening on (http:\/\/\S+)/.exec(out)
      if (m !== null) { clearTimeout(timer); resolve(m[1]!) }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`tracker exited with ${String(code)}`)) })
  })
  return { child, url }
}

export async function stopTracker (t: TrackerProcess): Promise<void> {
  if (t.child.exitCode !== null) return
  t.child.kill('SIGTERM')
  await new Promise((resolve) => t.child.once('exit', resolve))
}
