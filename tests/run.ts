// The whole suite: system packages → type check → every uvu suite → one summary line.
// Run through `npm test`, so `node` here is the project's Node 24.
import { spawn } from 'node:child_process'
import { ensureSystemPackages } from './system-packages.ts'


function run (cmd: string, args: string[], capture: boolean): Promise<{ code: number, out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'] })
    let out = ''
    child.stdout?.on('data', (b: Buffer) => { process.stdout.write(b); out += b.toString() })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code: code ?? 1, out }))
  })
}

const major = Number(process.versions.node.split('.')[0])
if (major < 24) {
  console.error(`tests need Node >= 24 (this is ${process.version}); run them with "npm test"`)
  process.exit(1)
}

await ensureSystemPackages()

const filter = process.argv[2] ?? '\\.test\\.ts$'
let failed = 0
let passed = 0

if (process.argv[2] === undefined) {
  // the console's front end is its own project: DOM types and JSX, which the rest must not see
  for (const project of ['tsconfig.json', 'console/tsconfig.json']) {
    const tsc = await run(process.execPath, [new URL('../node_modules/typescript/bin/tsc', import.meta.url).pathname, '-p', project], false)
    if (tsc.code === 0) { passed++; console.log(`typecheck ${project}: ok`) } else { failed++; console.log(`typecheck ${project}: FAILED`) }
  }
}

const uvu = await run(process.execPath, [new URL('../node_modules/uvu/bin.js', import.meta.url).pathname, 'tests', filter], true)
// uvu's summary: "Total: N", "Passed: N", "Skipped: N" (colours stripped).
const plain = uvu.out.replace(/\x1b\[[0-9;]*m/g, '')
const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? 0)
const ok = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? 0)
const skipped = Number(/Skipped:\s+(\d+)/.exec(plain)?.[1] ?? 0)
passed += ok
failed += total - ok - skipped
if (uvu.code !== 0 && total - ok - skipped === 0) failed++ // a suite crashed before counting

// uvu prints each failure beside its suite, often thousands of lines up; repeat them next to the
// summary so that the tail of a CI log names what failed.
if (failed > 0) {
  const lines = plain.split('\n')
  const shown: string[] = []
  lines.forEach((line, i) => {
    if (/\bFAIL\b/.test(line) && shown.length < 200) shown.push(...lines.slice(i, i + 12))
  })
  if (shown.length > 0) console.log(['', 'failures (repeated from above):', ...shown].join('\n'))
}

console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`)
process.exit(failed === 0 ? 0 : 1)
