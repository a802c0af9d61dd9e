/**
 * A real nginx serving a chunk store as the "IIS-like" static origin, with the config
 * `renderNginxConfig` generates: a foreground child process on a free loopback port,
 * pid/error log/temp files in its own temp prefix. `stop()` always kills it and removes
 * the prefix.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { connect, createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { renderNginxConfig } from '../../tracker/origin/index.ts'
import { makeTmpDir } from './tmp-dir.ts'

export const NGINX_BIN = existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx'

export interface NginxOriginInit {
  /** tracker data dir: nginx serves `<dataDir>/store` */
  dataDir: string
  secret: string
  /** bound on the whole start-up (default 10 s) */
  timeoutMs?: number
}

export interface NginxOrigin {
  url: string
  port: number
  prefix: string
  stop: () => Promise<void>
}

async function freePort (): Promise<number> {
  const srv = createServer()
  await new Promise<void>((resolve, reject) => { srv.once('error', reject); srv.listen(0, '127.0.0.1', resolve) })
  const { port } = srv.address() as AddressInfo
  await new Promise<void>((resolve) => srv.close(() => resolve()))
  return port
}

function tryConnect (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1')
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}

async function killAndWait (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
  await exited
  clearTimeout(timer)
}

async function startOnce (init: NginxOriginInit, prefix: string, deadline: number): Promise<{ child: ChildProcess, port: number } | 'port-taken'> {
  const port = await freePort()
  const conf = join(prefix, 'nginx.conf')
  await writeFile(conf, renderNginxConfig({ dataDir: init.dataDir, port, secret: init.secret, host: '127.0.0.1', prefix }))
  const errorLog = join(prefix, 'error.log')
  // master_process off: one process as this user, so it reads the 0700 temp dirs it is
  // given (a root master would hand requests to workers running as "nobody").
  const child = spawn(NGINX_BIN, ['-p', prefix, '-e', errorLog, '-c', conf, '-g', 'daemon off; master_process off;'], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (b: Buffer) => { stderr += b.toString() })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  child.once('error', () => {})
  try {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        await exited
        const log = await readFile(errorLog, 'utf8').catch(() => '')
        if (/Address already in use/.test(log + stderr)) return 'port-taken'
        throw new Error(`nginx exited (${child.exitCode ?? child.signalCode}): ${(log + stderr).trim()}`)
      }
      if (await tryConnect(port)) return { child, port }
      if (Date.now() > deadline) throw new Error(`nginx did not accept connections within the timeout: ${stderr.trim()}`)
      // wait for its exit or a short pause before the next connection attempt
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20))])
    }
  } catch (err) {
    await killAndWait(child)
    throw err
  }
}

/** Starts nginx (retrying if the chosen port was taken in between); rejects within `timeoutMs`. */
export async function startNginxOrigin (init: NginxOriginInit): Promise<NginxOrigin> {
  const prefix = await makeTmpDir('branchcast-nginx-')
  await mkdir(join(prefix, 'tmp'), { recursive: true })
  const deadline = Date.now() + (init.timeoutMs ?? 10_000)
  try {
    for (let attempt = 0; ; attempt++) {
      const started = await startOnce(init, prefix, deadline)
      if (started === 'port-taken') {
        if (attempt >= 3) throw new Error('nginx: no free port after 4 attempts')
        continue
      }
      const { child, port } = started
      // if the test process dies without stop(), do not leave nginx running
      const killOnExit = (): void => { child.kill('SIGKILL') }
      process.once('exit', killOnExit)
      let stopped: Promise<void> | undefined
      return {
        url: `http://127.0.0.1:${port}`,
        port,
        prefix,
        stop: async () => {
          stopped ??= (async () => {
            process.off('exit', killOnExit)
            try { await killAndWait(child) } finally { await rm(prefix, { recursive: true, force: true }) }
          })()
          await stopped
        }
      }
    }
  } catch (err) {
    await rm(prefix, { recursive: true, force: true })
    throw err
  }
}
