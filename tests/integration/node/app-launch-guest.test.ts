// Published applications with the tiny real guest (tests/helpers/guest.ts): `branchcast app`
// starts the stopped VM, waits for its agent and runs the application's command in the
// guest; the desktop entry the start wrote, launched by GLib's own launcher, runs its
// command in the guest too; each launch is one app.launched event, and revocation takes
// the entries away.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFile } from 'node:child_process'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createLogger } from '../../../protocol/logger.ts'
import { createControlServer } from '../../../node/control/index.ts'
import type { NodeStatus } from '../../../node/control/index.ts'
import { createPublishedApps } from '../../../node/desktop/index.ts'
import { staticPolicySource } from '../../../node/session/index.ts'
import { BRANCHCAST_BIN, runCli } from '../../helpers/cli.ts'
import { tinyGuest } from '../../helpers/guest.ts'
import { testPolicy } from '../../helpers/policy.ts'
import { withSessions } from './session-fixtures.ts'

const run = promisify(execFile)
const logger = createLogger({ level: 'silent' })
/** A cold boot under TCG on a loaded 2-core host, agent included. */
const BOOT_TIMEOUT_MS = 90_000

const NOTE = 'Note "$x" `y` 100%'

test('an app starts its VM and runs in the guest; its desktop entry runs it too; revocation removes the entries', async () => {
  const guest = await tinyGuest()
  await withSessions({ powerdownTimeoutMs: 20_000 }, async (f) => {
    const size = (await stat(f.basePath)).size
    const apps = createPublishedApps({ applicationsDir: join(f.dataDir, 'applications'), command: [process.execPath, BRANCHCAST_BIN], dataDir: f.dataDir }, { logger })
    const policy = testPolicy({
      vmMemoryMb: 256, vmCpus: 1, workspaceMode: 'revertible',
      publishedApps: [
        { name: 'Answer', command: 'echo answer-$((6*7)); echo oops >&2; exit 3' },
        { name: NOTE, command: 'echo "touched by $0" > /tmp/note', icon: 'accessories-text-editor' }
      ]
    })
    const server = createControlServer({ dataDir: f.dataDir }, {
      pull: async () => { throw new Error('no pulls here') },
      images: async () => [{ image: 'ws', version: 4, path: f.basePath, sizeBytes: size }],
      status: async () => ({}) as NodeStatus,
      sessions: f.runtime,
      sessionPolicy: staticPolicySource([policy]),
      publishedApps: apps,
      logger
    })
    await server.start()
    try {
      const answer = await runCli(['app', '--wait', '--kernel', guest.kernelPath, '--initrd', guest.initrdPath, '--append', guest.append, '--timeout', `${BOOT_TIMEOUT_MS}ms`, '--data', f.dataDir, '--', 'ws', 'Answer'], { timeoutMs: BOOT_TIMEOUT_MS + 30_000 })
      assert.is(answer.code, 1, `the command's status 3 makes the CLI fail: ${answer.stderr}`)
      assert.match(answer.stdout, /^answer-42$/m, 'the command ran in the guest\'s shell')
      assert.match(answer.stdout, /stderr: oops/)
      assert.match(answer.stdout, /ws: Answer exited with status 3/)
      const s = await f.runtime.status('ws')
      assert.equal([s.state, s.agent, s.mode, s.memoryMb, s.version], ['running', true, 'revertible', 256, 4], 'the launch started the VM as the policy says')

      const entries = await apps.list('ws')
      assert.is(entries.length, 2, 'the start wrote the workspace\'s entries')
      const noteEntry = join(apps.folder('ws'), entries.find((e) => e.startsWith('note-'))!)
      assert.match(await readFile(noteEntry, 'utf8'), /\nName=Note "\$x" `y` 100%\n/)
      await run('gio', ['launch', noteEntry], { timeout: 20_000 })
      const deadline = Date.now() + 60_000
      let note = ''
      while (!note.startsWith('touched')) {
        if (Date.now() > deadline) assert.unreachable('the desktop entry\'s launch did not run the command in the guest')
        const r = await f.runtime.guestExec('ws', '/bin/sh', ['-c', 'cat /tmp/note 2>/dev/null'], { signal: AbortSignal.timeout(10_000) })
        note = Buffer.from(r.stdout).toString()
        if (!note.startsWith('touched')) await new Promise((resolve) => setTimeout(resolve, 200))
      }
      assert.is(note.trim(), 'touched by /bin/sh')

      const launched = [await f.events.next('app.launched'), await f.events.next('app.launched')]
      assert.equal(launched.map((e) => [e.image, e.version, e.app]).sort(), [['ws', 4, 'Answer'], ['ws', 4, NOTE]].sort())
      for (const e of launched) assert.ok(typeof e.durationMs === 'number' && typeof e.pid === 'number', JSON.stringify(e))
      assert.ok((launched.find((e) => e.app === 'Answer')!.durationMs as number) >= ((await f.events.next('session.started')).durationMs as number), 'the first launch\'s duration includes the VM start')
      assert.is(f.events.list.filter((e) => e.type === 'session.started').length, 1, 'one VM for both launches')

      const unknown = await runCli(['app', '--data', f.dataDir, '--', 'ws', 'Nope'])
      assert.match(unknown.stderr, /ERR_APP_UNKNOWN/)
      await f.runtime.lock('ws')
      assert.match((await runCli(['app', '--data', f.dataDir, '--', 'ws', 'Answer'])).stderr, /ERR_SESSION_LOCKED/)
      await f.runtime.unlock('ws')

      await apps.syncPublishedApps('ws', [])
      assert.equal(await apps.list('ws'), [], 'revoked: the entries are gone')
      assert.not.ok((await f.runtime.stop('ws')).forced)
      assert.is(f.events.list.filter((e) => e.type === 'app.launched').length, 2, 'each launch reported once')
    } finally {
      await server.stop()
    }
  })
})

test.run()
