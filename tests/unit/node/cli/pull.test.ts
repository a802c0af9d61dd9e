import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { describeDryRun, describeReport, summaryOf } from '../../../../node/cli/pull.ts'
import type { DryRunReport, PullReport } from '../../../../node/pull/index.ts'

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

test('the report shows delta bytes and refusals only when there were some', () => {
  assert.not.match(describeReport(REPORT), /deltas/)
  const text = describeReport({ ...REPORT, deltaBytesFromOrigin: 30, decodedBytesFromDeltas: 3000, deltas: { indexEntries: 9, chunks: 4, refused: 1, fallbacks: 0 } })
  assert.match(text, /deltas\s+30 B of the origin's rebuilt 4 chunk\(s\), 2\.9 KiB \(1 bad delta\(s\) refused\)/)
})

test('a dry run says where each part would come from, in 80 columns', () => {
  const dry: DryRunReport = {
    image: 'win10', version: 3, totalBytes: 5_000_000, chunks: 80, held: { chunks: 0, bytes: 0 }, copies: { chunks: 60, bytes: 4_000_000 },
    localSources: { seed: { chunks: 5, bytes: 300_000 } }, network: { chunks: 15, bytes: 700_000 },
    deltas: { indexEntries: 12, chunks: 10, wireBytes: 2_000, bytes: 500_000 }, whole: { chunks: 5, bytes: 200_000 }, listWireBytes: 1_500, deltaIndex: 'used'
  }
  const text = describeDryRun(dry)
  for (const line of text.split('\n')) assert.ok(line.length <= 80, line)
  // the byte column lines up
  assert.is(new Set(text.split('\n').slice(1).map((l) => /B  /.exec(l)?.index)).size, 1, text)
  assert.match(text, /older versions\s+3\.8 MiB\s+60 chunk/)
  assert.match(text, /local: seed\s+293 KiB\s+5 chunk/)
  assert.match(text, /peers or origin\s+684 KiB\s+15 chunk/)
  assert.match(text, /as deltas\s+2\.0 KiB\s+from the origin for 10 chunk/)
  assert.match(text, /whole\s+195 KiB\s+5 chunk/)
  assert.match(text, /delta index: 12 entries/)
})

test.run()
