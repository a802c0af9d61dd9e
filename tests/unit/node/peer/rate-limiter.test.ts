import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createTokenBucket } from '../../../../node/peer/rate-limiter.ts'

test('the burst goes out at once, then bytes wait rate-long', () => {
  const b = createTokenBucket({ rateBytesPerSec: 1000, burstBytes: 500, nowMs: 0 })
  assert.is(b.reserve(500, 0), 0)
  assert.is(b.reserve(100, 0), 100)
  // queued senders wait behind each other
  assert.is(b.reserve(100, 0), 200)
})

test('tokens refill with time, capped at the burst', () => {
  const b = createTokenBucket({ rateBytesPerSec: 1000, burstBytes: 500, nowMs: 0 })
  b.reserve(500, 0)
  assert.is(b.available(250), 250)
  assert.is(b.available(10_000), 500)
  assert.is(b.reserve(500, 10_000), 0)
})

test('a long run averages the rate', () => {
  const rate = 64 * 1024
  const b = createTokenBucket({ rateBytesPerSec: rate, burstBytes: 16 * 1024, nowMs: 0 })
  let now = 0
  let sent = 0
  for (let i = 0; i < 1000; i++) {
    now += b.reserve(4096, now)
    sent += 4096
  }
  const expectedMs = (sent - 16 * 1024) / rate * 1000
  assert.ok(Math.abs(now - expectedMs) <= 1000 * 1, `${now} vs ${expectedMs}`)
})

test('a clock that steps back mints no tokens', () => {
  const b = createTokenBucket({ rateBytesPerSec: 1000, burstBytes: 100, nowMs: 1000 })
  b.reserve(100, 1000)
  assert.is(b.available(0), 0)
  assert.is(b.available(1050), 50)
})

test('bad options and arguments are TypeErrors', () => {
  for (const init of [{ rateBytesPerSec: 0, burstBytes: 1 }, { rateBytesPerSec: -1, burstBytes: 1 }, { rateBytesPerSec: 1, burstBytes: 0 }, { rateBytesPerSec: Number.NaN, burstBytes: 1 }]) {
    assert.throws(() => createTokenBucket({ ...init, nowMs: 0 }), TypeError)
  }
  const b = createTokenBucket({ rateBytesPerSec: 1, burstBytes: 1, nowMs: 0 })
  assert.throws(() => b.reserve(-1, 0), TypeError)
})

test.run()
