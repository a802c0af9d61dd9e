import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createRecentRefusals, credentialKey } from '../../../../tracker/events/recent-refusals.ts'

test('a refusal is remembered until its time, then forgotten', () => {
  const r = createRecentRefusals(10)
  r.note('a', 5_000)
  assert.is(r.retryAfterSeconds('a', 1_000), 4)
  assert.is(r.retryAfterSeconds('b', 1_000), undefined)
  assert.is(r.retryAfterSeconds('a', 5_000), undefined)
  assert.is(r.retryAfterSeconds('a', 1_000), undefined, 'the expired entry was dropped')
})

test('bounded: beyond maxEntries the oldest goes, a renewed entry is the newest', () => {
  const r = createRecentRefusals(2)
  r.note('a', 10_000)
  r.note('b', 10_000)
  r.note('a', 20_000)
  r.note('c', 10_000)
  assert.is(r.retryAfterSeconds('b', 0), undefined)
  assert.is(r.retryAfterSeconds('a', 0), 20)
  assert.is(r.retryAfterSeconds('c', 0), 10)
  assert.throws(() => createRecentRefusals(0), /positive integer/)
})

test('the credential key is a fixed-size hash of the whole header', () => {
  assert.is(credentialKey('Bearer x'), credentialKey('Bearer x'))
  assert.is.not(credentialKey('Bearer x'), credentialKey('Bearer y'))
  assert.is(credentialKey(`Bearer ${'x'.repeat(10_000)}`).length, 43)
})

test.run()
