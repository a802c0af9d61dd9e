// `npm run fuzz -- TARGET|all [--seconds N] [--iterations N] [--seed N]`: runs fuzz targets
// one at a time (default 60 s each), prints findings with their input in hex as they come
// and a summary line per target; exits 1 when anything was found.
import { parseArgs } from 'node:util'
import { fuzz, summary } from './fuzz.ts'
import { targetNamed } from './target.ts'
import { TARGETS } from './targets/index.ts'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { seconds: { type: 'string' }, iterations: { type: 'string' }, seed: { type: 'string' } }
})
const number = (name: string, text: string | undefined): number | undefined => {
  if (text === undefined) return undefined
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`--${name} takes a non-negative integer, not ${JSON.stringify(text)}`)
  return n
}

if (positionals.length !== 1) {
  process.stderr.write(`usage: npm run fuzz -- TARGET|all [--seconds N] [--iterations N] [--seed N]\ntargets: ${TARGETS.map((t) => t.name).join(', ')}\n`)
  process.exit(2)
}
const names = positionals[0] === 'all' ? TARGETS.map((t) => t.name) : [targetNamed(TARGETS, positionals[0]!).name]
const iterations = number('iterations', values.iterations)
const seconds = number('seconds', values.seconds) ?? (iterations === undefined ? 60 : undefined)
const seed = number('seed', values.seed) ?? Date.now() % 2 ** 31

let found = 0
for (const name of names) {
  const { stats, findings } = await fuzz(name, { seconds, iterations, seed })
  process.stdout.write(`${summary(stats)}\n`)
  found += findings.length
}
process.exit(found === 0 ? 0 : 1)
