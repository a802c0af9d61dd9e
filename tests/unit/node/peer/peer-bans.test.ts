import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { PeerBans, banReasonFor } from '../../../../node/peer/peer-bans.ts'
import { ChunkCorruptError } from '../../../../protocol/errors.ts'
import { ChunkProtocolError } from '../../../../protocol/wire/chunk-protocol.ts'
import { PeerRefusedError, PeerUnavailableError } from '../../../../node/peer/errors.ts'

test('a ban holds until it expires, then is forgotten', () => {
  const bans = new PeerBans({ banMs: 1000 })
  bans.ban('peerA', 'corrupt-chunk', 0)
  assert.ok(bans.isBanned('peerA', 999))
  assert.equal(bans.get('peerA', 500), { peerId: 'peerA', reason: 'corrupt-chunk', untilMs: 1000 })
  assert.not.ok(bans.isBanned('peerA', 1000))
  assert.equal(bans.list(1000), [])
  assert.not.ok(bans.isBanned('peerB', 0))
})

test('a running ban is only ever lengthened', () => {
  const bans = new PeerBans({ banMs: 1000 })
  bans.ban('p', 'corrupt-chunk', 0, 5000)
  bans.ban('p', 'protocol-violation', 100)
  assert.is(bans.get('p', 200)!.untilMs, 5000)
  assert.is(bans.get('p', 200)!.reason, 'corrupt-chunk')
  bans.ban('p', 'protocol-violation', 4900)
  assert.is(bans.get('p', 5000)!.untilMs, 5900)
})

test('unban and list', () => {
  const bans = new PeerBans()
  bans.ban('a', 'corrupt-chunk', 0)
  bans.ban('b', 'protocol-violation', 0)
  assert.equal(bans.list(1).map(b => b.peerId), ['a', 'b'])
  assert.ok(bans.unban('a'))
  assert.not.ok(bans.unban('a'))
  assert.equal(bans.list(1).map(b => b.peerId), ['b'])
})

test('which errors are ban reasons', () => {
  const table: Array<[unknown, string | undefined]> = [
    [new ChunkCorruptError('bad'), 'corrupt-chunk'],
    [new ChunkProtocolError('truncated'), 'protocol-violation'],
    [new ChunkCorruptError('our disk', { peerFault: false }), undefined],
    [new PeerRefusedError('p', 'busy', ''), undefined],
    [new PeerRefusedError('p', 'invalid-token', ''), undefined],
    [new PeerUnavailableError('p', 'gone'), undefined],
    [new Error('abort'), undefined],
    [null, undefined]
  ]
  for (const [err, reason] of table) assert.is(banReasonFor(err), reason)
})

test('bad arguments are TypeErrors', () => {
  assert.throws(() => new PeerBans({ banMs: 0 }), TypeError)
  assert.throws(() => new PeerBans().ban('', 'corrupt-chunk', 0), TypeError)
})

test.run()
