// `npm run crash -- --n 100`: the kill -9 suites with N kills each (CRASH_N), one process per
// suite, then the totals each printed. `npm test` runs them with CRASH_N (default 3).
import { spawn } from 'node:child_process'
import { readdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { n: { type: 'string', default: process.env.CRASH_N ?? '3' } } })
const n = Number(values.n)
if (!Number.isSafeInteger(n) || n < 1) throw new TypeError('--n must be a positive integer')
const dir = fileURLToPath(new URL('.', import.meta.url))
let failed = 0
for (const file of (await readdir(dir)).filter((f) => f.endsWith('.test.ts')).sort()) {
  const code = await new Promise<number>((resolve) => {
    spawn(process.execPath, [`${dir}${file}`], { stdio: 'inherit', env: { ...process.env, CRASH_N: String(n) } }).once('exit', (c) => resolve(c ?? 1))
  })
  if (code !== 0) failed++
}
console.log(failed === 0 ? `crash: all suites passed with ${n} kills each` : `crash: ${failed} suite(s) failed`)
process.exit(failed === 0 ? 0 : 1)
