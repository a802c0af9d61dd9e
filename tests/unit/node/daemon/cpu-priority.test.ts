// The daemon's CPU priority plan: below its VMs only where it can set them back to normal.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { planPriority } from '../../../../node/daemon/index.ts'
import type { PriorityPlan, PriorityRights } from '../../../../node/daemon/index.ts'

const cases: Array<[string, number, PriorityRights, PriorityPlan]> = [
  ['root or CAP_SYS_NICE: lowered, VMs back at the start value', 10, { baseNice: 0, floorNice: -20 }, { lower: true, daemonNice: 10, qemuNice: 0 }],
  ['an RLIMIT_NICE that reaches the start value is enough', 10, { baseNice: 0, floorNice: 0 }, { lower: true, daemonNice: 10, qemuNice: 0 }],
  ['started niced already: relative to that, capped at 19', 10, { baseNice: 15, floorNice: 15 }, { lower: true, daemonNice: 19, qemuNice: 15 }],
  ['no right to raise a priority: kept, VMs would inherit it', 10, { baseNice: 0, floorNice: 20 }, { lower: false, reason: 'cannot-restore', baseNice: 0 }],
  ['rights unknown (not Linux): kept', 10, { baseNice: 0 }, { lower: false, reason: 'cannot-restore', baseNice: 0 }],
  ['cpuNice 0: kept', 0, { baseNice: 0, floorNice: -20 }, { lower: false, reason: 'off', baseNice: 0 }],
  ['already at 19: nothing to lower', 5, { baseNice: 19, floorNice: -20 }, { lower: false, reason: 'off', baseNice: 19 }]
]

for (const [name, cpuNice, rights, want] of cases) {
  test(name, () => { assert.equal(planPriority(cpuNice, rights), want) })
}

test('cpuNice outside 0–19 is a caller mistake', () => {
  for (const bad of [-1, 20, 1.5, Number.NaN]) assert.throws(() => planPriority(bad, { baseNice: 0, floorNice: 0 }), TypeError)
})

test.run()
