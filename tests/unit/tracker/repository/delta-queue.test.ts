// The tracker's queue of delta computations: one job at a time in upload order, a bounded
// wait list that drops the oldest, idle() as the signal to wait on, and a stop that aborts
// the running job and drops the rest.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createLogger } from '../../../../protocol/logger.ts'
import { DeltaQueue } from '../../../../tracker/repository/delta-queue.ts'

const log = createLogger({ level: 'silent' })

/** A job that runs until released (or aborted), recording what happened. */
function gated (label: string, trace: string[]): { job: { label: string, run: (s: AbortSignal) => Promise<void> }, release: () => void, started: Promise<void> } {
  let release!: () => void
  let started!: () => void
  const gate = new Promise<void>((resolve) => { release = resolve })
  const startedP = new Promise<void>((resolve) => { started = resolve })
  return {
    release,
    started: startedP,
    job: {
      label,
      run: async (signal) => {
        trace.push(`start ${label}`)
        started()
        await Promise.race([gate, new Promise<void>((_resolve, reject) => { signal.addEventListener('abort', () => { reject(signal.reason) }, { once: true }) })])
        trace.push(`end ${label}`)
      }
    }
  }
}

test('one job at a time, in order; idle() resolves when the last is done', async () => {
  const trace: string[] = []
  const q = new DeltaQueue({ maxWaiting: 8, log, signal: new AbortController().signal })
  const a = gated('a', trace)
  const b = gated('b', trace)
  q.push(a.job)
  q.push(b.job)
  await a.started
  assert.equal(trace, ['start a'], 'b waits for a')
  a.release()
  await b.started
  b.release()
  await q.idle()
  assert.equal(trace, ['start a', 'end a', 'start b', 'end b'])
  await q.idle() // idle when nothing runs: resolves at once
})

test('a failing job is logged and the next one still runs', async () => {
  const trace: string[] = []
  const q = new DeltaQueue({ maxWaiting: 8, log, signal: new AbortController().signal })
  q.push({ label: 'bad', run: async () => { throw new Error('store read failed') } })
  q.push({ label: 'good', run: async () => { trace.push('good') } })
  await q.idle()
  assert.equal(trace, ['good'])
})

test('beyond the bound the oldest waiting job is skipped', async () => {
  const trace: string[] = []
  const q = new DeltaQueue({ maxWaiting: 2, log, signal: new AbortController().signal })
  const running = gated('running', trace)
  q.push(running.job)
  await running.started
  for (const l of ['w1', 'w2', 'w3']) q.push({ label: l, run: async () => { trace.push(l) } })
  running.release()
  await q.idle()
  assert.equal(trace, ['start running', 'end running', 'w2', 'w3'])
})

test('stopping aborts the running job, drops the waiting ones, and idle() resolves', async () => {
  const trace: string[] = []
  const stop = new AbortController()
  const q = new DeltaQueue({ maxWaiting: 8, log, signal: stop.signal })
  const a = gated('a', trace)
  q.push(a.job)
  q.push({ label: 'later', run: async () => { trace.push('later') } })
  await a.started
  stop.abort(new Error('tracker stopping'))
  await q.idle()
  assert.equal(trace, ['start a'], 'a was aborted, later never ran')
  q.push({ label: 'after stop', run: async () => { trace.push('after stop') } })
  await q.idle()
  assert.equal(trace, ['start a'], 'nothing runs after stop')
})

test.run()
