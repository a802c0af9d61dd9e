import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { formatBytes, formatDuration, parseBytes } from '../../../node/cli/units.ts'
import { createRateMeter, formatProgress } from '../../../node/cli/progress-bar.ts'
import { describeReport, summaryOf } from '../../../node/cli/pull.ts'
import type { PullReport } from '../../../node/pull/index.ts'

test('parseBytes reads plain, decimal and binary sizes and rates', () => {
  const table: Array<[string, number]> = [['1048576', 1048576], ['64MiB', 64 * 1024 ** 2], ['2GB', 2e9], ['1.5KiB', 1536], ['10MiB/s', 10 * 1024 ** 2], ['3 k', 3000]]
  for (const [text, want] of table) assert.is(parseBytes(text, '--x'), want, text)
  assert.is(parseBytes(undefined, '--x'), undefined)
  for (const bad of ['', 'x', '-1', '0', '5 parsecs', '1e3']) assert.throws(() => parseBytes(bad, '--size'), /--size/, bad)
})

test('formatBytes and formatDuration', () => {
  assert.is(formatBytes(0), '0 B')
  assert.is(formatBytes(1536), '1.5 KiB')
  assert.is(formatBytes(64 * 1024 ** 2), '64.0 MiB')
  assert.is(formatBytes(300 * 1024 ** 3), '300 GiB')
  assert.is(formatDuration(61_000), '01:01')
  assert.is(formatDuration(3_723_000), '1:02:03')
  assert.is(formatDuration(Number.NaN), '--:--')
})

test('the progress line shows bytes, rate, ETA and the peers/origin/local split', () => {
  const line = formatProgress({ phase: 'transfer', totalBytes: 100 * 1024 ** 2, doneBytes: 50 * 1024 ** 2, bytesFromPeers: 30 * 1024 ** 2, bytesFromOrigin: 10 * 1024 ** 2, bytesFromLocal: 10 * 1024 ** 2 }, 10 * 1024 ** 2, 200)
  assert.match(line, /50%/)
  assert.match(line, /50\.0 MiB\/100 MiB/)
  assert.match(line, /10\.0 MiB\/s/)
  assert.match(line, /ETA 00:05/)
  assert.match(line, /peers 60% origin 20% local 20%/)
  assert.ok(formatProgress({ phase: 'manifest', totalBytes: 0, doneBytes: 0, bytesFromPeers: 0, bytesFromOrigin: 0, bytesFromLocal: 0 }, Number.NaN, 40).length <= 40)
})

test('the rate meter smooths samples and ignores bursts under 100 ms', () => {
  const m = createRateMeter()
  assert.ok(Number.isNaN(m.sample(0, 0)))
  assert.ok(Number.isNaN(m.sample(1000, 50)))
  assert.is(m.sample(1_000_000, 1000), 1_000_000)
  const r = m.sample(3_000_000, 2000)
  assert.ok(r > 1_000_000 && r < 2_000_000, String(r))
})

test('--json summary and the human report carry the split, reasons and sha256', () => {
  const r: PullReport = {
    image: 'win10', version: 2, path: '/d/images/win10/2.img', sha256: 'cd'.repeat(32), totalBytes: 1000,
    bytesFromPeers: 700, bytesFromOrigin: 200, bytesFromLocal: 100, decodedBytesFromPeers: 700, decodedBytesFromOrigin: 200,
    originBytesByReason: { assigned: 150, policy: 0, 'no-peer': 50, 'bad-piece': 0, 'peers-slow': 0, waited: 0 },
    durationMs: 1234, peersUsed: 3, bannedPeers: [], failures: {} as PullReport['failures']
  }
  const s = summaryOf(r)
  for (const k of ['bytesFromPeers', 'bytesFromOrigin', 'bytesFromLocal', 'originBytesByReason', 'durationMs', 'sha256'] as const) assert.equal(s[k], r[k])
  const text = describeReport(r)
  assert.match(text, /peers\s+700 B \(70\.0%\) from 3 peer/)
  assert.match(text, /why: assigned 150 B, no-peer 50 B/)
  assert.match(text, /sha256\s+(cd){32}/)
})

test.run()
