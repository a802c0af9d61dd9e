// Session events through the node's durable reporter to a real tracker: started, locked,
// unlocked, stopped and crashed, each with its duration, stored exactly once — also when
// the daemon (runtime and reporter) restarts with events still queued, and when the tracker
// is down while they happen — and each one row of the admin's activity report.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createApiClient } from '../../../protocol/api/client.ts'
import { createLogger } from '../../../protocol/logger.ts'
import { createTrackerClient } from '../../../node/tracker-client.ts'
import { createEventReporter } from '../../../node/events/index.ts'
import type { EventReporter } from '../../../node/events/index.ts'
import { createSessionRuntime } from '../../../node/session/index.ts'
import type { SessionRuntime } from '../../../node/session/index.ts'
import { startTestTracker } from '../../helpers/tracker.ts'
import { withSessions } from './session-fixtures.ts'
import { join } from 'node:path'

const logger = createLogger({ level: 'silent' })
const CLIENT = '12D3KooWSessionEventsClient'

test('session events reach the tracker exactly once, with durations, across a daemon restart and a tracker outage', async () => {
  const t = await startTestTracker()
  await withSessions({ machine: 'none' }, async ({ dataDir, basePath }) => {
    const token = await t.tokenFor('alice')
    const queue = join(dataDir, 'events')
    const daemon = (trackerUrl: string): { reporter: EventReporter, runtime: SessionRuntime } => {
      const tracker = createTrackerClient(createApiClient({ baseUrl: trackerUrl, token }))
      const reporter = createEventReporter({ dir: queue, clientId: CLIENT, retryMinMs: 20, retryMaxMs: 200 }, { tracker, logger, now: Date.now })
      return { reporter, runtime: createSessionRuntime({ dataDir, accel: 'tcg', machine: 'none', powerdownTimeoutMs: 100 }, { events: reporter, logger, now: Date.now }) }
    }
    // the first daemon's tracker URL answers nothing: every event waits on disk
    const first = daemon('http://127.0.0.1:9')
    await first.reporter.start()
    await first.runtime.start('ws', { baseImagePath: basePath, mode: 'persistent', version: 5 })
    await first.runtime.lock('ws', { reason: 'user' })
    await first.runtime.unlock('ws')
    const crashing = await first.runtime.start('crashy', { baseImagePath: basePath, mode: 'revertible' })
    await first.runtime.detach()
    await first.reporter.stop()
    process.kill(crashing.pid!, 'SIGKILL')

    const second = daemon(t.url)
    await second.runtime.attach() // finds ws running and crashy dead
    await second.reporter.start()
    try {
      await second.runtime.stop('ws', { timeoutMs: 100 })
      await second.reporter.flush({ signal: AbortSignal.timeout(20_000) })
      const r = await fetch(`${t.url}/api/v1/events?client=${CLIENT}&limit=1000`, { headers: { authorization: `Bearer ${t.adminToken}` } })
      const events = (await r.json() as { events: Array<{ type: string, payload: Record<string, unknown> }> }).events
      const of = (type: string, image: string): Array<Record<string, unknown>> => events.filter((e) => e.type === type && e.payload.image === image).map((e) => e.payload)
      assert.is(of('session.started', 'ws').length, 1)
      assert.is(of('session.locked', 'ws').length, 1)
      assert.is(of('session.unlocked', 'ws').length, 1)
      assert.is(of('session.stopped', 'ws').length, 1)
      assert.is(of('session.crashed', 'crashy').length, 1)
      assert.is(events.length, 6, events.map((e) => `${e.type} ${String(e.payload.image)}`).join(', '))
      assert.equal([of('session.started', 'ws')[0]!.version, of('session.stopped', 'ws')[0]!.version], [5, 5])
      for (const [type, image] of [['session.started', 'ws'], ['session.unlocked', 'ws'], ['session.stopped', 'ws'], ['session.crashed', 'crashy']]) {
        assert.type(of(type!, image!)[0]!.durationMs, 'number', `${type!} has a duration`)
      }
      assert.ok((of('session.stopped', 'ws')[0]!.durationMs as number) >= 100, 'it ran at least the forced stop\'s 100 ms')
      assert.is(of('session.crashed', 'crashy')[0]!.reason, 'died-while-detached')
      assert.is(await second.reporter.pending(), 0)
      // and the admin's reports: each event one row of the activity log, the crash in the error log
      const report = async (name: string): Promise<Array<{ type: string, severity: string, description: string }>> =>
        (await (await fetch(`${t.url}/api/v1/reports/${name}?limit=1000`, { headers: { authorization: `Bearer ${t.adminToken}` } })).json() as { rows: Array<{ type: string, severity: string, description: string }> }).rows
      const activity = await report('activity')
      assert.equal(activity.map((r) => r.type).sort(), ['session.crashed', 'session.locked', 'session.started', 'session.started', 'session.stopped', 'session.unlocked'])
      assert.equal((await report('errors')).map((r) => [r.type, r.severity]).sort(), [['session.crashed', 'error'], ['session.locked', 'warning']])
    } finally {
      await second.reporter.stop()
      await second.runtime.detach()
    }
  })
  await t.stop()
})

test.run()
