import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createRateLimiter } from '../../../../tracker/events/rate-limit.ts'

test('a burst, then refusals with a retry time, then refill at the rate', () => {
  const l = createRateLimiter({ burst: 3, perSec: 2, maxKeys: 10 })
  for (let i = 0; i < 3; i++) assert.equal(l.take('a', 0), { ok: true })
  const no = l.take('a', 0)
  assert.ok(!no.ok && Math.abs(no.retryAfterSeconds - 0.5) < 1e-9)
  assert.equal(l.take('b', 0), { ok: true }, 'keys are independent')
  assert.equal(l.take('a', 500), { ok: true }, 'one token after 1/perSec')
  assert.ok(!l.take('a', 500).ok)
  assert.equal(l.take('a', 100_000), { ok: true })
  for (let i = 0; i < 2; i++) assert.equal(l.take('a', 100_000), { ok: true }, 'refill stops at the burst')
  assert.ok(!l.take('a', 100_000).ok)
})

test('a clock stepping back refills nothing; old keys are forgotten beyond maxKeys', () => {
  const l = createRateLimiter({ burst: 1, perSec: 1, maxKeys: 2 })
  assert.ok(l.take('a', 10_000).ok)
  assert.ok(!l.take('a', 0).ok)
  l.take('b', 0)
  l.take('c', 0) // evicts a (least recently used)
  assert.ok(l.take('a', 0).ok, 'a starts over with a full bucket')
  assert.throws(() => createRateLimiter({ burst: 0, perSec: 1, maxKeys: 1 }), TypeError)
})

test.run()
