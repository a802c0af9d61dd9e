/**
 * `branchcast node` as a child process, for the demo: started with its config in flags and
 * the token in the environment (not on the command line, where `ps` shows it), ready once
 * it prints its ready line; stopped with SIGTERM, then SIGKILL after a grace period.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { READY_LINE_RE } from '../node/index.ts'

const BIN = fileURLToPath(new URL('./branchcast.ts', import.meta.url))

export interface NodeProcess {
  readonly dataDir: string
  readonly site: string
  readonly peerId: string
  readonly child: ChildProcess
  /** resolves to the exit code once it stopped */
  stop: (graceMs?: number) => Promise<number>
}

export interface NodeProcessOptions {
  dataDir: string
  tracker: string
  token: string
  site: string
  /** where its stderr (JSON log lines) goes */
  logFile: string
  extraArgs?: string[]
  readyTimeoutMs?: number
  /** pull assigned workspaces by themselves (default false: demos and benches measure the pulls they type) */
  autoDeliver?: boolean
  /**
   * the daemon's `--cpu-nice` (default 0, not the node's 10: tests and benches measure the
   * node's work, and a niced daemon on a machine busy with other processes would crawl)
   */
  cpuNice?: number
  /** more environment for the daemon, over this process's (a value undefined removes the variable) */
  env?: NodeJS.ProcessEnv
}

export async function startNodeProcess (o: NodeProcessOptions): Promise<NodeProcess> {
  const args = [BIN, 'node', '--data', o.dataDir, '--tracker', o.tracker, '--site', o.site, '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', ...(o.autoDeliver === true ? [] : ['--no-auto-deliver']), '--cpu-nice', String(o.cpuNice ?? 0), ...(o.extraArgs ?? [])]
  const child = spawn(process.execPath, args, {
    env: withoutUndefined({ ...process.env, BRANCHCAST_TOKEN: o.token, BRANCHCAST_LOG_LEVEL: process.env.BRANCHCAST_LOG_LEVEL ?? 'warn', ...o.env }),
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const log = createWriteStream(o.logFile, { flags: 'a' })
  child.stderr!.pipe(log)
  const exited = new Promise<number>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128))))
  const lines = createInterface({ input: child.stdout! })
  let peerId: string
  try {
    peerId = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`node ${o.dataDir} not ready in ${o.readyTimeoutMs ?? 120_000} ms (log: ${o.logFile})`)), o.readyTimeoutMs ?? 120_000)
      lines.on('line', (line) => {
        const m = READY_LINE_RE.exec(line)
        if (m !== null) { clearTimeout(timer); resolve(m[1]!) }
      })
      void exited.then((code) => { clearTimeout(timer); reject(new Error(`node ${o.dataDir} exited with ${code} before it was ready (log: ${o.logFile})`)) })
    })
  } catch (err) {
    child.kill('SIGKILL')
    throw err
  }
  let stopping: Promise<number> | undefined
  return {
    dataDir: o.dataDir,
    site: o.site,
    peerId,
    child,
    stop: async (graceMs = 15_000) => {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
        const code = await exited
        clearTimeout(timer)
        log.end()
        return code
      })()
      return await stopping
    }
  }
}

function withoutUndefined (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined))
}
