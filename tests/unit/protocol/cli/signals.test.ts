import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { abortOnSignals } from '../../../../protocol/cli/signals.ts'

// process.emit runs the listeners as a delivered signal would, without signalling the process.
const SIGNAL = 'SIGUSR2'

test('the first signal aborts with "interrupted" and stops listening, so a second one gets the default', () => {
  const before = process.listenerCount(SIGNAL)
  const { signal } = abortOnSignals([SIGNAL])
  assert.is(process.listenerCount(SIGNAL), before + 1)
  assert.is(signal.aborted, false)
  process.emit(SIGNAL, SIGNAL)
  assert.is(signal.aborted, true)
  assert.is((signal.reason as Error).message, 'interrupted')
  assert.is(process.listenerCount(SIGNAL), before)
})

test('dispose stops listening to every signal without aborting', () => {
  const before = [process.listenerCount(SIGNAL), process.listenerCount('SIGWINCH')]
  const { signal, dispose } = abortOnSignals([SIGNAL, 'SIGWINCH'])
  dispose()
  assert.equal([process.listenerCount(SIGNAL), process.listenerCount('SIGWINCH')], before)
  assert.is(signal.aborted, false)
})

test.run()
