import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** The `branchcast` entry the CLI tests run, as a user would. */
export const BRANCHCAST_BIN = fileURLToPath(new URL('../../bin/branchcast.ts', import.meta.url))

export interface CliResult { code: number, stdout: string, stderr: string }

/**
 * Runs `branchcast ...args` to its end and collects both streams; killed (SIGKILL) after
 * `timeoutMs`, so a hung command fails its test instead of the suite.
 */
export async function runCli (args: string[], opts: { env?: NodeJS.ProcessEnv, timeoutMs?: number } = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [BRANCHCAST_BIN, ...args], { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (b: Buffer) => { stdout += b.toString() })
  child.stderr.on('data', (b: Buffer) => { stderr += b.toString() })
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000)
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)))
  clearTimeout(timer)
  return { code, stdout, stderr }
}
