import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { formatBytes, formatClock, formatDuration, parseBytes, parseRateBytesPerSec } from '../../../../protocol/units.ts'

const KiB = 1024
const MiB = 1024 ** 2
const GiB = 1024 ** 3

test('sizes and rates share one grammar: what either read before, both read now', () => {
  const cases: Array<[string, number]> = [
    ['1048576', 1048576], ['64MiB', 64 * MiB], ['2GB', 2e9], ['1.5KiB', 1536], ['10MiB/s', 10 * MiB], ['3 k', 3000],
    ['10MB/s', 10_000_000], ['512KiB/s', 512 * KiB], ['1.5GB/s', 1.5e9], ['1gib/s', GiB], [' 20000 ', 20000],
    ['2Ti', 2 * 1024 ** 4], ['1TB', 1e12], ['4ki', 4096], ['7b', 7]
  ]
  for (const [text, want] of cases) {
    assert.is(parseBytes(text), want, `size ${text}`)
    assert.is(parseRateBytesPerSec(text), want, `rate ${text}`)
  }
})

test('sizes and rates: refused with a TypeError that names the kind', () => {
  for (const text of ['', 'x', '-1', '0', '5 parsecs', '1e3', 'MB', '100kbps', '10XB/s', '0.0001', '99999999999TB']) {
    assert.throws(() => parseBytes(text), (err: Error) => err instanceof TypeError && /size/.test(err.message), `size ${text}`)
    assert.throws(() => parseRateBytesPerSec(text), (err: Error) => err instanceof TypeError && /byte rate/.test(err.message), `rate ${text}`)
  }
})

test('formatBytes: binary units, one decimal below 100, never "1024 X"', () => {
  const cases: Array<[number, string]> = [
    [0, '0 B'], [700, '700 B'], [1023, '1023 B'], [1024, '1.0 KiB'], [1536, '1.5 KiB'], [99.94 * KiB, '99.9 KiB'],
    [99.96 * KiB, '100 KiB'], [MiB - 1, '1.0 MiB'], [64 * MiB, '64.0 MiB'], [300 * GiB, '300 GiB'], [5 * 1024 ** 5, '5120 TiB'], [12.4, '12 B']
  ]
  for (const [n, want] of cases) assert.is(formatBytes(n), want, String(n))
})

test('formatBytes round-trips through parseBytes to the precision it shows', () => {
  for (let n = 1; n < 2 ** 50; n = Math.ceil(n * 1.37)) {
    const back = parseBytes(formatBytes(n))
    assert.ok(Math.abs(back - n) / n <= 0.05, `${n} → ${formatBytes(n)} → ${back}`)
    assert.is(formatBytes(back), formatBytes(n), `${n} reads back to the same text`)
  }
})

test('two duration formats, two names: a policy duration and a clock', () => {
  const cases: Array<[number, string, string]> = [
    [61_000, '61s', '01:01'], [3_723_000, '3723s', '1:02:03'], [7 * 86_400_000, '1w', '168:00:00'], [1500, '1500ms', '00:02']
  ]
  for (const [ms, duration, clock] of cases) {
    assert.is(formatDuration(ms), duration, `duration ${ms}`)
    assert.is(formatClock(ms), clock, `clock ${ms}`)
  }
  for (const ms of [Number.NaN, Infinity, -1]) assert.is(formatClock(ms), '--:--', String(ms))
})

test.run()
