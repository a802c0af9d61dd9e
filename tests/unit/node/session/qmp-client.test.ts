import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { QmpClient } from '../../../../node/session/index.ts'
import type { QmpEvent } from '../../../../node/session/index.ts'
import { MAX_QMP_LINE_BYTES } from '../../../../node/constants.ts'
import { rejects } from '../../../helpers/rejects.ts'
import { fakePeer, send } from './fake-monitor.ts'

const GREETING = { QMP: { version: { qemu: { major: 7, minor: 2, micro: 0 } }, capabilities: [] } }
const soon = (): AbortSignal => AbortSignal.timeout(5_000)

test('greeting, capabilities, then answers matched by id even out of order, events to listeners', async () => {
  const seen: string[] = []
  let held: { id: unknown } | undefined
  const peer = await fakePeer((s) => send(s, GREETING), (s, line) => {
    seen.push(String(line.execute))
    if (line.execute === 'slow') { held = { id: line.id }; return }
    send(s, { event: 'STOP', data: { x: 1 } })
    send(s, { return: { for: line.execute }, id: line.id })
    if (held !== undefined) { send(s, { return: 'slow-done', id: held.id }); held = undefined }
  })
  const qmp = await QmpClient.connect(peer.path, { signal: soon() })
  const events: QmpEvent[] = []
  qmp.onEvent((e) => events.push(e))
  const slow = qmp.execute('slow')
  assert.equal(await qmp.execute('query-status'), { for: 'query-status' })
  assert.is(await slow, 'slow-done')
  assert.equal(seen, ['qmp_capabilities', 'slow', 'query-status'])
  assert.equal(events[0], { event: 'STOP', data: { x: 1 } })
  qmp.close()
  assert.is(await qmp.closed, undefined)
  await peer.close()
})

test('an error answer and a closing monitor both reject with ERR_QMP', async () => {
  const peer = await fakePeer((s) => send(s, GREETING), (s, line) => {
    if (line.execute === 'qmp_capabilities') send(s, { return: {}, id: line.id })
    else if (line.execute === 'bad') send(s, { error: { class: 'GenericError', desc: 'nope' }, id: line.id })
    else s.destroy()
  })
  const qmp = await QmpClient.connect(peer.path, { signal: soon() })
  const err = await rejects(qmp.execute('bad'), { code: 'ERR_QMP' })
  assert.match(err.message, /GenericError: nope/)
  await rejects(qmp.execute('hang-up'), { code: 'ERR_QMP' })
  await rejects(qmp.execute('after'), { code: 'ERR_QMP' })
  await peer.close()
})

test('a line over the cap closes the monitor instead of buffering it', async () => {
  const peer = await fakePeer((s) => send(s, GREETING), (s, line) => {
    if (line.execute === 'qmp_capabilities') { send(s, { return: {}, id: line.id }); return }
    const chunk = 'x'.repeat(64 * 1024)
    for (let n = 0; n <= MAX_QMP_LINE_BYTES / chunk.length + 1; n++) s.write(chunk)
  })
  const qmp = await QmpClient.connect(peer.path, { signal: soon() })
  await rejects(qmp.execute('flood'), { code: 'ERR_QMP' })
  const why = await qmp.closed
  assert.match(String(why?.message), /longer than/)
  await peer.close()
})

test('no greeting, or not JSON, fails connect; a silent monitor is bounded by the signal', async () => {
  const garbage = await fakePeer((s) => s.write('hello\n'), () => {})
  await rejects(QmpClient.connect(garbage.path, { signal: soon() }), { code: 'ERR_QMP' })
  await garbage.close()
  const silent = await fakePeer(() => {}, () => {})
  await rejects(QmpClient.connect(silent.path, { signal: AbortSignal.timeout(200) }), { name: 'TimeoutError' })
  await silent.close()
})

test.run()
