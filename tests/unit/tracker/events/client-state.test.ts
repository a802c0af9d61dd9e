// A node's workspace state as its session events tell it, event by event.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { randomUUID } from 'node:crypto'
import { clientStateFromEvents } from '../../../../tracker/events/client-state.ts'
import type { ClientEvent } from '../../../../protocol/index.ts'

const ev = (type: string, at: number, payload: Record<string, unknown>): ClientEvent => ({ id: randomUUID(), type, at, payload })

test('each session event moves the workspace to its state; a crash leaves it stopped; app launches change nothing', () => {
  const cases: Array<[string[], string]> = [
    [['session.started'], 'running'],
    [['session.started', 'session.locked'], 'locked'],
    [['session.started', 'session.locked', 'session.unlocked'], 'running'],
    [['session.started', 'session.crashed'], 'stopped'],
    [['session.started', 'session.stopped'], 'stopped'],
    [['session.started', 'app.launched'], 'running']
  ]
  for (const [types, state] of cases) {
    const events = types.map((t, i) => ev(t, 1_000 + i, { image: 'ws', version: 2, ...(t === 'session.locked' ? { reason: 'idle' } : {}) }))
    const out = clientStateFromEvents(events.reverse(), undefined)
    assert.equal(out.workspace?.ws?.state, state, types.join(' → '))
    assert.is(out.workspace?.ws?.sinceMs, 1_000 + types.filter((t) => t !== 'app.launched').length - 1, 'since the last state change, whatever the batch order')
  }
})

test.run()
