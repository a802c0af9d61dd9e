import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createOriginPacer } from '../../../../tracker/origin/pacer.ts'

const KiB = 1024

test('one second of rate goes at once, then each request waits its bytes / rate', () => {
  const p = createOriginPacer({ maxWaitMs: 5_000, maxKeys: 10 })
  const rate = 100 * KiB
  // at t = 10 s with nothing booked: 100 KiB of burst
  assert.equal(p.book('a', 50 * KiB, rate, 10_000), { ok: true, waitMs: 0 })
  assert.equal(p.book('a', 50 * KiB, rate, 10_000), { ok: true, waitMs: 0 })
  assert.equal(p.book('a', 50 * KiB, rate, 10_000), { ok: true, waitMs: 0 }, 'the clock stands at now: this one starts the next second')
  assert.equal(p.book('a', 50 * KiB, rate, 10_000), { ok: true, waitMs: 500 })
  assert.equal(p.book('b', 50 * KiB, rate, 10_000), { ok: true, waitMs: 0 }, 'keys are apart')
  // time passing pays the debt off
  assert.equal(p.book('a', 50 * KiB, rate, 11_000), { ok: true, waitMs: 0 })
})

test('a request that would wait past maxWaitMs is refused, and books nothing', () => {
  const p = createOriginPacer({ maxWaitMs: 1_000, maxKeys: 10 })
  const rate = 10 * KiB
  for (let i = 0; i < 2; i++) assert.ok(p.book('a', 10 * KiB, rate, 0).ok)
  assert.equal(p.book('a', 10 * KiB, rate, 0), { ok: true, waitMs: 1_000 })
  assert.equal(p.book('a', 10 * KiB, rate, 0), { ok: false, retryAfterSeconds: 1 })
  assert.equal(p.book('a', 10 * KiB, rate, 0), { ok: false, retryAfterSeconds: 1 }, 'the refusal did not move the clock')
  assert.equal(p.book('a', 10 * KiB, rate, 1_000), { ok: true, waitMs: 1_000 })
})

test('bounded: the least recently used clock goes', () => {
  const p = createOriginPacer({ maxWaitMs: 60_000, maxKeys: 2 })
  for (const k of ['a', 'b']) for (let i = 0; i < 3; i++) p.book(k, 1_000, 1_000, 0)
  p.book('c', 1_000, 1_000, 0)
  assert.equal(p.book('a', 1_000, 1_000, 0), { ok: true, waitMs: 0 }, 'a was dropped: starts afresh')
  assert.equal(p.book('c', 1_000, 1_000, 0), { ok: true, waitMs: 0 })
  assert.throws(() => createOriginPacer({ maxWaitMs: -1, maxKeys: 1 }), /pacer needs/)
})

test.run()
