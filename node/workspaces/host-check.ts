/**
 * The host verification command: a program an operator names (argv, no shell) that must
 * exit 0 before a workspace starts or unlocks — "is the disk encrypted", "is the
 * antivirus running". It runs with a bounded time and output; the image name reaches it
 * only as the environment variable BRANCHCAST_IMAGE, never through a shell.
 */
import { execFile } from 'node:child_process'
import { HOST_CHECK_MAX_OUTPUT_BYTES } from './constants.ts'

export interface HostCheckResult { ok: boolean, message: string }

export async function runHostCheck (argv: readonly string[], image: string, options: { timeoutMs: number, signal?: AbortSignal }): Promise<HostCheckResult> {
  if (argv.length === 0 || argv[0] === '') throw new TypeError('the host check needs a program')
  const [file, ...args] = argv as [string, ...string[]]
  return await new Promise((resolve) => {
    execFile(file, args, {
      shell: false,
      timeout: options.timeoutMs,
      killSignal: 'SIGKILL',
      maxBuffer: HOST_CHECK_MAX_OUTPUT_BYTES,
      signal: options.signal,
      env: { ...process.env, BRANCHCAST_IMAGE: image },
      windowsHide: true
    }, (err, _stdout, stderr) => {
      if (err === null) { resolve({ ok: true, message: 'host check passed' }); return }
      const e = err as NodeJS.ErrnoException & { killed?: boolean, code?: unknown, signal?: string | null }
      const tail = String(stderr).trim().split('\n').at(-1)?.slice(0, 200) ?? ''
      if (e.killed === true || e.signal === 'SIGKILL') resolve({ ok: false, message: `host check "${file}" did not finish within ${options.timeoutMs} ms` })
      else if (typeof e.code === 'string') resolve({ ok: false, message: `host check "${file}" cannot run: ${e.code}` })
      else resolve({ ok: false, message: `host check "${file}" failed (exit ${String(e.code)})${tail === '' ? '' : `: ${tail}`}` })
    })
  })
}
