import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { decideRange } from '../../../../tracker/origin/range.ts'

const test = suite('origin: single byte ranges')

const table: Array<[string | undefined, number, ReturnType<typeof decideRange>]> = [
  [undefined, 100, { kind: 'full' }],
  ['bytes=0-9', 100, { kind: 'partial', start: 0, end: 9 }],
  ['bytes=90-', 100, { kind: 'partial', start: 90, end: 99 }],
  ['bytes=90-500', 100, { kind: 'partial', start: 90, end: 99 }],
  ['bytes=-10', 100, { kind: 'partial', start: 90, end: 99 }],
  ['bytes=-500', 100, { kind: 'partial', start: 0, end: 99 }],
  ['bytes=99-99', 100, { kind: 'partial', start: 99, end: 99 }],
  ['bytes=100-', 100, { kind: 'unsatisfiable' }],
  ['bytes=100-200', 100, { kind: 'unsatisfiable' }],
  ['bytes=-0', 100, { kind: 'unsatisfiable' }],
  ['bytes=0-', 0, { kind: 'unsatisfiable' }],
  ['bytes=9-0', 100, { kind: 'full' }],
  ['bytes=0-1,5-6', 100, { kind: 'full' }],
  ['bytes=-', 100, { kind: 'full' }],
  ['items=0-1', 100, { kind: 'full' }],
  ['bytes=a-b', 100, { kind: 'full' }],
  [`bytes=${'9'.repeat(200)}-`, 100, { kind: 'full' }],
  ['bytes=99999999999999999999-', 100, { kind: 'unsatisfiable' }]
]
for (const [header, size, want] of table) {
  test(`${String(header)} over ${size} bytes → ${want.kind}`, () => {
    assert.equal(decideRange(header, size), want)
  })
}

test.run()
