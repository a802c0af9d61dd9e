import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fuzz } from './fuzz.ts'
import type { FuzzOptions } from './fuzz.ts'
import type { FindingKind } from './campaign.ts'

const FAULTY = new URL('./faulty-targets.ts', import.meta.url)

// Each guard of the harness, shown to work: the fault → the one finding it must produce.
const CASES: Array<[string, FindingKind | undefined, FuzzOptions?]> = [
  ['refuses-cleanly', undefined],
  ['throws-range-error', 'error'],
  ['throws-internal-type-error', 'error'],
  ['breaks-its-oracle', 'oracle'],
  ['hangs', 'hang', { hangMs: 500 }],
  ['never-settles', 'hang', { hangMs: 500 }],
  ['burns-cpu', 'slow'],
  ['allocates-128-mib', 'memory', { cpuBudgetMs: 10_000 }] // filling 128 MiB also takes ~50 ms of CPU
]
for (const [target, kind, options] of CASES) {
  test(`harness: ${target} → ${kind ?? 'no finding'}`, async () => {
    const { findings } = await fuzz(target, { targets: FAULTY, iterations: 0, save: false, log: () => {}, ...options })
    assert.equal(findings.map((f) => f.kind), kind === undefined ? [] : [kind], findings.map((f) => f.detail).join('\n'))
    for (const f of findings) assert.equal(f.input, Uint8Array.of(1, 2, 3), 'the finding names its input')
  })
}

test.run()
