// Every fuzz target for a fixed number of inputs from a fixed seed, so the suite sees the
// same inputs on every run (longer runs: `npm run fuzz -- TARGET --seconds N`). The stored
// corpus (regressions of fixed findings) is replayed first. Findings are printed with their
// input in hex and saved under tests/fuzz/findings/.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fuzz, summary } from './fuzz.ts'
import { TARGETS } from './targets/index.ts'

/** ~0.2-1.5 s per target here; enough to pass every seed's first checks many times over. */
const ITERATIONS = 10_000
const SEED = 20260101

for (const target of TARGETS) {
  test(`fuzz ${target.name}: ${ITERATIONS} inputs, no finding`, async () => {
    const { stats, findings } = await fuzz(target.name, { seed: SEED, iterations: ITERATIONS })
    assert.is(findings.length, 0, `${findings.length} findings (${findings.map((f) => f.signature).join('; ')}); ${summary(stats)}`)
    assert.ok(stats.inputs >= ITERATIONS, summary(stats))
  })
}

test.run()
