// The bad input for VM sessions, as a user meets it: an overlay whose base is gone
// (a clear error and the user's changes kept byte for byte), a missing QEMU binary through
// the CLI (the error names the Debian package), and a real guest that never answers the
// power button (forced after the timeout, its revertible overlay still reset).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { appendFile, readFile, rename, stat } from 'node:fs/promises'
import { createLogger } from '../../../protocol/logger.ts'
import { createControlServer } from '../../../node/control/index.ts'
import type { NodeStatus } from '../../../node/control/index.ts'
import { runCli } from '../../helpers/cli.ts'
import { tinyGuest } from '../../helpers/guest.ts'
import { rejects } from '../../helpers/rejects.ts'
import { withSessions } from './session-fixtures.ts'
import type { SessionFixture } from './session-fixtures.ts'

const logger = createLogger({ level: 'silent' })

async function withControl (f: SessionFixture, fn: () => Promise<void>): Promise<void> {
  const size = (await stat(f.basePath)).size
  const server = createControlServer({ dataDir: f.dataDir }, {
    pull: async () => { throw new Error('no pulls here') },
    images: async () => [{ image: 'ws', version: 1, path: f.basePath, sizeBytes: size }],
    status: async () => ({}) as NodeStatus,
    sessions: f.runtime,
    logger
  })
  await server.start()
  try { await fn() } finally { await server.stop() }
}

test('an overlay whose base is gone: a clear error through the CLI, and the user\'s changes are not touched', async () => {
  await withSessions({ machine: 'none', powerdownTimeoutMs: 100 }, async (f) => {
    await withControl(f, async () => {
      const s = await f.runtime.start('ws', { baseImagePath: f.basePath, mode: 'persistent' })
      await f.runtime.stop('ws')
      await appendFile(s.overlayPath!, Buffer.alloc(4096, 0x5a)) // stands for the user's work
      const before = await readFile(s.overlayPath!)
      await rename(f.basePath, `${f.basePath}.moved`)
      const r = await runCli(['start', 'ws', '--data', f.dataDir])
      assert.is(r.code, 1)
      assert.match(r.stderr, /ERR_OVERLAY_BASE_GONE/)
      assert.match(r.stderr, /base\.raw, which is gone: its changes cannot be used/)
      assert.equal(await readFile(s.overlayPath!), before, 'the overlay is kept byte for byte')
      assert.is((await f.runtime.list()).length, 0)
      await rename(`${f.basePath}.moved`, f.basePath)
      assert.is((await runCli(['start', 'ws', '--data', f.dataDir])).code, 0, 'with its base back, the workspace starts again')
      await f.runtime.stop('ws')
    })
  })
})

test('a missing QEMU binary: the CLI\'s error names the Debian package', async () => {
  await withSessions({ machine: 'none', qemuBinary: '/nonexistent/qemu-system-x86_64' }, async (f) => {
    await withControl(f, async () => {
      const r = await runCli(['start', 'ws', '--data', f.dataDir])
      assert.is(r.code, 1)
      assert.match(r.stderr, /ERR_QEMU_MISSING/)
      assert.match(r.stderr, /apt-get install qemu-system-x86/)
    })
  })
})

test('a real guest that never answers the power button is forced after the timeout; its revertible overlay is reset', async () => {
  const guest = await tinyGuest()
  await withSessions({}, async ({ runtime, basePath, events }) => {
    const s = await runtime.start('ws', {
      baseImagePath: basePath, mode: 'revertible', memoryMb: 256, network: 'none',
      boot: { kernelPath: guest.kernelPath, initrdPath: guest.initrdPath, append: guest.append },
      waitForAgent: true, signal: AbortSignal.timeout(90_000)
    })
    const fresh = (await stat(s.overlayPath!)).size
    // the guest's ACPI daemon is what powers it off: without it the button does nothing
    const killed = await runtime.guestExec('ws', '/bin/sh', ['-c', 'killall acpid && dd if=/dev/zero of=/dev/vda bs=64k count=4 conv=fsync 2>/dev/null; echo done'], { signal: AbortSignal.timeout(10_000) })
    assert.match(Buffer.from(killed.stdout).toString(), /done/)
    assert.ok((await stat(s.overlayPath!)).size > fresh, 'the guest wrote to its overlay')
    const r = await runtime.stop('ws', { timeoutMs: 3_000 })
    assert.is(r.forced, true)
    assert.is((await events.next('session.stopped')).forced, true)
    assert.is((await runtime.status('ws')).state, 'stopped')
    assert.is((await stat(s.overlayPath!)).size, fresh, 'a fresh overlay: the guest\'s writes are gone')
    await rejects(runtime.stop('ws'), { code: 'ERR_SESSION_NOT_RUNNING' })
  })
})

test.run()
