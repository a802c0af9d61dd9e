import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { describeReport, summaryOf } from '../../../../node/cli/pull.ts'
import type { PullReport } from '../../../../node/pull/index.ts'

const REPORT: PullReport = {
  image: 'win10', version: 2, path: '/d/images/win10/2.img', sha256: 'cd'.repeat(32), totalBytes: 1000,
  bytesFromPeers: 700, bytesFromOrigin: 200, bytesFromLocal: 100, bytesFromLocalSources: { seed: 40 }, deltaBytesFromOrigin: 0, decodedBytesFromDeltas: 0, deltas: { indexEntries: 0, chunks: 0, refused: 0, fallbacks: 0 }, decodedBytesFromPeers: 700, decodedBytesFromOrigin: 200,
  originBytesByReason: { assigned: 150, policy: 0, 'no-peer': 50, 'bad-piece': 0, 'peers-slow': 0, waited: 0, 'chunk-list': 0, 'on-demand': 0 },
  durationMs: 1234, peersUsed: 3, bannedPeers: [], failures: {} as PullReport['failures']
}

test('--json summary and the human report carry the split, reasons and sha256', () => {
  const s = summaryOf(REPORT)
  for (const k of ['bytesFromPeers', 'bytesFromOrigin', 'bytesFromLocal', 'originBytesByReason', 'durationMs', 'sha256'] as const) assert.equal(s[k], REPORT[k])
  const text = describeReport(REPORT)
  assert.match(text, /peers\s+700 B \(70\.0%\) from 3 peer/)
  assert.match(text, /why: assigned 150 B, no-peer 50 B/)
  assert.match(text, /sha256\s+(cd){32}/)
  assert.match(text, /size\s+1000 B in 00:01 \(1234 ms\)/)
})

test('the --json summary keeps its fields as reports grow', () => {
  const grown = { ...REPORT, internalDetail: 'not for scripts' } as PullReport
  assert.equal(Object.keys(summaryOf(grown)), Object.keys(REPORT))
})

test.run()
