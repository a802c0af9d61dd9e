// The severity table: one row per rule, known types and extension suffixes.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ERROR_LOG_TYPES, classifyEvent, offloadDelta, offloadRatio } from '../../../../tracker/reports/index.ts'

const CASES: Array<[string, Record<string, unknown>, string, string, string]> = [
  ['pull.completed', { image: 'w', version: 2, bytesFromOrigin: 1024, bytesFromPeers: 0, bytesFromLocal: 2048 }, 'info', 'transfer', 'pulled w v2: 1.0 KiB from origin, 0 B from peers, 2.0 KiB reused'],
  ['pull.failed', { image: 'w', code: 'ERR_X' }, 'error', 'transfer', 'pull of w failed: ERR_X'],
  ['peer.banned', { peerId: 'Qm', reason: 'corrupt' }, 'warning', 'security', 'banned peer Qm: corrupt'],
  ['session.started', { image: 'w' }, 'info', 'session', 'started w'],
  ['session.stopped', { image: 'w', exitCode: 0 }, 'info', 'session', 'stopped w (exit 0)'],
  ['session.locked', { image: 'w', reason: 'expired' }, 'warning', 'policy', 'locked w: expired'],
  ['policy.blocked', { image: 'w', rule: 'window' }, 'warning', 'policy', 'blocked w: window'],
  ['session.unlocked', { image: 'w', version: 3, durationMs: 5 }, 'info', 'session', 'unlocked w v3'],
  ['session.crashed', { image: 'w', reason: 'guest-panicked' }, 'error', 'session', 'w crashed: guest-panicked'],
  ['app.launched', { image: 'w', version: 3, app: 'Ledger' }, 'info', 'session', 'launched Ledger in w v3'],
  ['acme.sync.failed', { message: 'disk' }, 'error', 'acme', 'acme.sync.failed: disk'],
  ['acme.thing.error', {}, 'error', 'acme', 'acme.thing.error'],
  ['acme.disk.warning', {}, 'warning', 'acme', 'acme.disk.warning'],
  ['acme.disk.warn', {}, 'warning', 'acme', 'acme.disk.warn'],
  ['acme.heartbeat', {}, 'info', 'acme', 'acme.heartbeat']
]

for (const [type, payload, severity, category, description] of CASES) {
  test(`${type} → ${severity} / ${category}`, () => {
    assert.equal(classifyEvent(type, payload), { severity, category, description })
  })
}

test('the error log asks for exactly the types above info', () => {
  assert.equal(ERROR_LOG_TYPES.typeIn.sort(), ['peer.banned', 'policy.blocked', 'pull.failed', 'session.crashed', 'session.locked'])
  assert.equal(ERROR_LOG_TYPES.typeSuffixes, ['.failed', '.error', '.warning', '.warn'])
})

test('offload: only pull.completed counts; decoded defaults to wire; bad counts are 0; the ratio', () => {
  assert.is(offloadDelta({ type: 'pull.failed', atMs: 0, payload: {} }, 's'), undefined)
  assert.equal(offloadDelta({ type: 'pull.completed', atMs: 86_400_000 + 5, payload: { image: 'w', bytesFromOrigin: 10, bytesFromPeers: 30, bytesFromLocal: -1, originBytesByReason: { share: 10, bad: 'x' } } }, 's'), {
    dayMs: 86_400_000, site: 's', image: 'w', originBytes: 10, peerBytes: 30, localBytes: 0, decodedOriginBytes: 10, decodedPeerBytes: 30, originBytesByReason: { share: 10 }
  })
  assert.is(offloadRatio({ originBytes: 0, peerBytes: 0, localBytes: 0 }), 0)
  assert.is(offloadRatio({ originBytes: 25, peerBytes: 50, localBytes: 25 }), 0.75)
})

test.run()
