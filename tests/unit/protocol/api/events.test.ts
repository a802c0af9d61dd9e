import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { EventBatchSchema, EventSchema, KNOWN_EVENT_TYPES, MAX_EVENT_PAYLOAD_BYTES, eventTimeMs } from '../../../../protocol/api/events.ts'

const ID = '0b7c6f2e-3d1a-4c5b-9e8f-a1b2c3d4e5f6'

test('known types check their payload; extensions need a namespace', () => {
  assert.ok(KNOWN_EVENT_TYPES.includes('pull.completed') && KNOWN_EVENT_TYPES.includes('peer.banned'))
  const ok = EventSchema.safeParse({ id: ID, type: 'pull.completed', at: 1, payload: { image: 'w', version: 1, bytesFromPeers: 1, bytesFromOrigin: 2, bytesFromLocal: 3, durationMs: 4, extra: true } })
  assert.ok(ok.success, 'extra fields are kept for newer nodes')
  assert.not.ok(EventSchema.safeParse({ id: ID, type: 'pull.completed', at: 1, payload: { image: 'w' } }).success)
  assert.ok(EventSchema.safeParse({ id: ID, type: 'acme.anything', at: '2026-01-01T00:00:00Z', payload: { x: 1 } }).success)
  for (const type of ['pull', 'Pull.Completed', 'a..b', '.a', 'a.' + 'b'.repeat(70)]) {
    assert.not.ok(EventSchema.safeParse({ id: ID, type, at: 1, payload: {} }).success, type)
  }
})

test('ids are UUIDs, payloads are capped objects, times are ms or ISO', () => {
  assert.not.ok(EventSchema.safeParse({ id: 'x', type: 'a.b', at: 1, payload: {} }).success)
  assert.not.ok(EventSchema.safeParse({ id: ID, type: 'a.b', at: 1, payload: 'x' }).success)
  assert.not.ok(EventSchema.safeParse({ id: ID, type: 'a.b', at: 1, payload: { s: 'x'.repeat(MAX_EVENT_PAYLOAD_BYTES) } }).success)
  assert.not.ok(EventSchema.safeParse({ id: ID, type: 'a.b', at: 'later', payload: {} }).success)
  assert.is(eventTimeMs('1970-01-01T00:00:01.5Z'), 1500)
  assert.is(eventTimeMs(42), 42)
  assert.not.ok(EventBatchSchema.safeParse({ events: [] }).success)
})

test('an event type named like an Object.prototype member is refused, not thrown on', () => {
  for (const type of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
    const r = EventBatchSchema.safeParse({ events: [{ id: ID, type, at: 1, payload: {} }] })
    assert.not.ok(r.success, type)
  }
})

test.run()
