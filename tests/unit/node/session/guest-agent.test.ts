import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { GuestAgent } from '../../../../node/session/index.ts'
import { rejects } from '../../../helpers/rejects.ts'
import { answerSync, fakePeer, send } from './fake-monitor.ts'

test('replies left over from abandoned requests are dropped until the sync id comes back', async () => {
  const peer = await fakePeer(() => {}, (s, line) => {
    if (line.execute === 'guest-sync-delimited') {
      const id = (line.arguments as { id: number }).id
      // a stale answer, half a line cut by the delimiter, then the real sync reply
      send(s, { return: 12345 })
      s.write('{"return": "torn')
      s.write(Buffer.concat([Buffer.from([0xff]), Buffer.from(JSON.stringify({ return: id }) + '\n')]))
      return
    }
    send(s, { return: { version: '7.2' } })
  })
  const agent = await GuestAgent.connect(peer.path)
  assert.equal(await agent.execute('guest-info', undefined, { signal: AbortSignal.timeout(5_000) }), { version: '7.2' })
  agent.close()
  await peer.close()
})

test('guest-exec waits for guest-exec-status to say exited and decodes the output', async () => {
  let polls = 0
  const peer = await fakePeer(() => {}, (s, line) => {
    if (answerSync(s, line)) return
    if (line.execute === 'guest-exec') { assert.equal(line.arguments, { path: '/bin/sh', arg: ['-c', 'x'], 'capture-output': true }); send(s, { return: { pid: 7 } }); return }
    polls++
    send(s, { return: polls < 3 ? { exited: false } : { exited: true, exitcode: 3, 'out-data': Buffer.from('out').toString('base64'), 'err-data': Buffer.from('err').toString('base64') } })
  })
  const agent = await GuestAgent.connect(peer.path)
  const r = await agent.exec('/bin/sh', ['-c', 'x'], { signal: AbortSignal.timeout(5_000) })
  assert.equal([r.exitCode, Buffer.from(r.stdout).toString(), Buffer.from(r.stderr).toString(), polls], [3, 'out', 'err', 3])
  agent.close()
  await peer.close()
})

test('an error answer is ERR_GUEST_AGENT; a closed channel too; a silent agent is bounded by the signal', async () => {
  const peer = await fakePeer(() => {}, (s, line) => {
    if (answerSync(s, line)) return
    if (line.execute === 'bad') send(s, { error: { class: 'CommandNotFound', desc: 'no' } })
    else s.destroy()
  })
  const agent = await GuestAgent.connect(peer.path)
  await rejects(agent.execute('bad'), { code: 'ERR_GUEST_AGENT', message: /CommandNotFound/ })
  await rejects(agent.execute('bye'), { code: 'ERR_GUEST_AGENT' })
  await peer.close()
  const silent = await fakePeer(() => {}, () => {})
  const quiet = await GuestAgent.connect(silent.path)
  await rejects(quiet.ping({ signal: AbortSignal.timeout(200) }), { name: 'TimeoutError' })
  quiet.close()
  await silent.close()
})

test.run()
