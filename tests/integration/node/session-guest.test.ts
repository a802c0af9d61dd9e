// VM sessions booting the tiny Linux guest (tests/helpers/guest.ts) under TCG: the guest
// agent answers, guest-exec sees the workspace disk, lock/unlock, power-down by the ACPI
// button, and what a revertible and a persistent workspace keep across a stop.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { tinyGuest } from '../../helpers/guest.ts'
import type { TinyGuest } from '../../helpers/guest.ts'
import type { SessionMode, SessionRuntime } from '../../../node/session/index.ts'
import { DISK_MARK, withSessions } from './session-fixtures.ts'

/** Boot, agent included: 4–6 s here, more when the machine is loaded. */
const BOOT_TIMEOUT_MS = 45_000
/** The guest powers off ~0.1 s after the button; generous for a loaded host. */
const POWERDOWN_TIMEOUT_MS = 20_000
const MARK_BYTES = DISK_MARK.length

let guest: TinyGuest
test.before(async () => { guest = await tinyGuest() })

async function boot (runtime: SessionRuntime, basePath: string, mode: SessionMode): Promise<void> {
  await runtime.start('ws', {
    baseImagePath: basePath, mode, memoryMb: 256, network: 'none',
    boot: { kernelPath: guest.kernelPath, initrdPath: guest.initrdPath, append: guest.append },
    waitForAgent: true, signal: AbortSignal.timeout(BOOT_TIMEOUT_MS)
  })
}

/** The first bytes of the guest's /dev/vda, read in the guest. */
async function diskHead (runtime: SessionRuntime): Promise<string> {
  const r = await runtime.guestExec('ws', '/bin/sh', ['-c', `head -c ${MARK_BYTES} /dev/vda`], { signal: AbortSignal.timeout(10_000) })
  assert.is(r.exitCode, 0, Buffer.from(r.stderr).toString())
  return Buffer.from(r.stdout).toString('latin1')
}

async function writeDisk (runtime: SessionRuntime, text: string): Promise<void> {
  const r = await runtime.guestExec('ws', '/bin/sh', ['-c', `printf %s "$1" | dd of=/dev/vda bs=${MARK_BYTES} count=1 conv=notrunc,fsync 2>&1`, 'sh', text], { signal: AbortSignal.timeout(10_000) })
  assert.is(r.exitCode, 0, Buffer.from(r.stdout).toString())
}

test('a revertible workspace: agent, guest-exec on the disk, lock/unlock, power-down, then reset to the base', async () => {
  await withSessions({ powerdownTimeoutMs: POWERDOWN_TIMEOUT_MS }, async ({ runtime, basePath, events }) => {
    await boot(runtime, basePath, 'revertible')
    assert.is((await runtime.status('ws')).agent, true)
    assert.is(await diskHead(runtime), DISK_MARK, 'the guest sees the workspace image as /dev/vda')
    await writeDisk(runtime, 'X'.repeat(MARK_BYTES))
    assert.is(await diskHead(runtime), 'X'.repeat(MARK_BYTES))

    assert.is((await runtime.lock('ws')).qemuStatus, 'paused')
    assert.is((await runtime.unlock('ws')).qemuStatus, 'running')
    assert.is(await diskHead(runtime), 'X'.repeat(MARK_BYTES), 'the guest goes on after unlock')

    const stopped = await runtime.stop('ws')
    assert.is(stopped.forced, false, 'the guest powered itself down')
    assert.is(stopped.exitCode, 0)
    assert.is((await events.next('session.stopped')).forced, false)

    await boot(runtime, basePath, 'revertible')
    assert.is(await diskHead(runtime), DISK_MARK, 'what the guest wrote is gone')
    assert.not.ok((await runtime.stop('ws')).forced)
  })
})

test('a persistent workspace keeps what the guest wrote across a stop; the base is untouched', async () => {
  await withSessions({ powerdownTimeoutMs: POWERDOWN_TIMEOUT_MS }, async ({ runtime, basePath }) => {
    await boot(runtime, basePath, 'persistent')
    await writeDisk(runtime, 'Y'.repeat(MARK_BYTES))
    assert.not.ok((await runtime.stop('ws')).forced)
    await boot(runtime, basePath, 'persistent')
    assert.is(await diskHead(runtime), 'Y'.repeat(MARK_BYTES))
    assert.not.ok((await runtime.stop('ws')).forced)
    const { readFile } = await import('node:fs/promises')
    assert.is((await readFile(basePath)).subarray(0, MARK_BYTES).toString('latin1'), DISK_MARK)
  })
})

test('a guest that ends itself is reported stopped by the guest, not crashed', async () => {
  await withSessions({ powerdownTimeoutMs: POWERDOWN_TIMEOUT_MS }, async ({ runtime, basePath, events }) => {
    await boot(runtime, basePath, 'revertible')
    // the agent's guest-shutdown runs our /sbin/shutdown, which powers off at once (no reply comes)
    await runtime.guestExec('ws', '/bin/sh', ['-c', '(sleep 0.2; /sbin/shutdown) >/dev/null 2>&1 &'], { signal: AbortSignal.timeout(10_000) })
    const stopped = await events.next('session.stopped', POWERDOWN_TIMEOUT_MS)
    assert.is(stopped.initiator, 'guest')
    assert.is((await runtime.status('ws')).state, 'stopped')
    assert.is(events.list.filter((e) => e.type === 'session.crashed').length, 0)
  })
})

test('a guest kernel panic is noticed through pvpanic: session.crashed, reason guest-panicked', async () => {
  await withSessions({ powerdownTimeoutMs: POWERDOWN_TIMEOUT_MS }, async ({ runtime, basePath, events }) => {
    await boot(runtime, basePath, 'revertible')
    await runtime.guestExec('ws', '/bin/sh', ['-c', '(sleep 0.2; echo c > /proc/sysrq-trigger) >/dev/null 2>&1 &'], { signal: AbortSignal.timeout(10_000) })
    const crashed = await events.next('session.crashed', POWERDOWN_TIMEOUT_MS)
    assert.equal([crashed.reason, crashed.exitCode], ['guest-panicked', 1])
    assert.is((await runtime.status('ws')).state, 'stopped')
  })
})

test.run()
