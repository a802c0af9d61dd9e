import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createMetrics } from '../../../../tracker/metrics.ts'
import { createSiteWireMetrics } from '../../../../tracker/events/site-wire-metrics.ts'

const completed = (payload: Record<string, unknown>) => ({ type: 'pull.completed', payload: { image: 'w', version: 1, durationMs: 1, bytesFromLocal: 0, ...payload } })

/** The series `/metrics` shows for a name, as { 'labels': value }. */
function series (text: string, name: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}\\{(.*)\\} (\\d+)$`).exec(line)
    if (m !== null) out[m[1]!] = Number(m[2])
  }
  return out
}

test('per-site wire bytes by source and origin reason, decoded bytes beside them', () => {
  const metrics = createMetrics()
  const w = createSiteWireMetrics(metrics, { maxSites: 8 })
  w.record('paris', [
    completed({ bytesFromOrigin: 100, bytesFromPeers: 900, bytesFromLocal: 50, decodedBytesFromOrigin: 400, originBytesByReason: { 'no-peer': 60, assigned: 40, 'made-up': 0 } }),
    { type: 'pull.failed', payload: { image: 'w', code: 'ERR_X', bytesFromOrigin: 5 } }
  ])
  w.record('paris', [completed({ bytesFromOrigin: 0, bytesFromPeers: 1000 })])
  const text = metrics.render()
  assert.equal(series(text, 'branchcast_site_wire_bytes_total'), {
    'site="paris",source="origin"': 100, 'site="paris",source="peers"': 1900, 'site="paris",source="local"': 50
  })
  assert.equal(series(text, 'branchcast_site_decoded_bytes_total'), { 'site="paris",source="origin"': 400 })
  assert.equal(series(text, 'branchcast_site_origin_wire_bytes_total'), { 'reason="no-peer",site="paris"': 60, 'reason="assigned",site="paris"': 40 })
  assert.equal(series(text, 'branchcast_site_pulls_total'), { 'site="paris"': 2 })
})

test('label values are bounded: sites past the cap count as other, unknown reasons as other, no site as unknown', () => {
  const metrics = createMetrics()
  const w = createSiteWireMetrics(metrics, { maxSites: 2 })
  for (const site of ['a', 'b', 'c', 'd', 'a']) w.record(site, [completed({ bytesFromOrigin: 1, bytesFromPeers: 0, originBytesByReason: { 'something-new': 1 } })])
  w.record(undefined, [completed({ bytesFromOrigin: 1, bytesFromPeers: 0 })])
  const pulls = series(metrics.render(), 'branchcast_site_pulls_total')
  assert.equal(pulls, { 'site="a"': 2, 'site="b"': 1, 'site="other"': 3 })
  assert.equal(Object.keys(series(metrics.render(), 'branchcast_site_origin_wire_bytes_total')).sort(), ['reason="other",site="a"', 'reason="other",site="b"', 'reason="other",site="other"'])
  assert.throws(() => createSiteWireMetrics(createMetrics(), { maxSites: 0 }), TypeError)
})

test.run()
