// `branchcast start|stop|restart|lock|unlock|status` as a user runs them, against the
// control API's /sessions routes over a real session runtime (QEMU with -machine none).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { stat } from 'node:fs/promises'
import { createLogger } from '../../../protocol/logger.ts'
import { createControlServer } from '../../../node/control/index.ts'
import type { NodeStatus } from '../../../node/control/index.ts'
import { runCli } from '../../helpers/cli.ts'
import { withSessions } from './session-fixtures.ts'
import type { SessionFixture } from './session-fixtures.ts'

async function withNode (fn: (f: SessionFixture, cli: (...args: string[]) => ReturnType<typeof runCli>) => Promise<void>): Promise<void> {
  await withSessions({ machine: 'none', powerdownTimeoutMs: 200 }, async (f) => {
    const size = (await stat(f.basePath)).size
    const server = createControlServer({ dataDir: f.dataDir }, {
      pull: async () => { throw new Error('no pulls here') },
      images: async () => [{ image: 'ws', version: 2, path: f.basePath, sizeBytes: size }],
      status: async () => ({}) as NodeStatus,
      sessions: f.runtime,
      logger: createLogger({ level: 'silent' })
    })
    await server.start()
    try {
      await fn(f, async (...args) => await runCli([...args, '--data', f.dataDir], { timeoutMs: 30_000 }))
    } finally {
      await server.stop()
    }
  })
}

test('start, status, lock, unlock, restart, stop through the CLI, with --json', async () => {
  await withNode(async (f, cli) => {
    const started = await cli('start', 'ws', '--mode', 'revertible', '--memory', '64', '--printing', '--json')
    assert.is(started.code, 0, started.stderr)
    const s = JSON.parse(started.stdout)
    assert.equal([s.state, s.version, s.mode, s.memoryMb, s.channels.printing, s.channels.clipboard], ['running', 2, 'revertible', 64, true, false])

    const one = await cli('status', 'ws')
    assert.match(one.stdout, /ws v2: running \(revertible, pid \d+, tcg, 64 MiB, 1 vCPU\)/)
    assert.match(one.stdout, /channels printing/)
    assert.match((await cli('status')).stdout, /^IMAGE +STATE +MODE/m)

    assert.is(JSON.parse((await cli('lock', 'ws', '--reason', 'expired', '--json')).stdout).state, 'locked')
    assert.equal(await f.events.next('session.locked'), { image: 'ws', version: 2, reason: 'expired' })
    assert.is(JSON.parse((await cli('unlock', 'ws', '--json')).stdout).state, 'running')

    const restarted = JSON.parse((await cli('restart', 'ws', '--timeout', '200ms', '--json')).stdout)
    assert.is(restarted.state, 'running')
    assert.is.not(restarted.pid, s.pid)
    assert.is(restarted.mode, 'revertible', 'restart keeps the options')

    const stopped = await cli('stop', 'ws', '--timeout', '200ms')
    assert.is(stopped.code, 0, stopped.stderr)
    assert.match(stopped.stdout, /ws: stopped after .* \(the guest did not power down in time: forced\)/)
    assert.match((await cli('status')).stdout, /no VM session is running/)
  })
})

test('errors keep their codes: no ready image, not running, already running, bad flags', async () => {
  await withNode(async (f, cli) => {
    const none = await cli('start', 'nothing-here')
    assert.is(none.code, 1)
    assert.match(none.stderr, /ERR_IMAGE_NOT_READY/)
    assert.match((await cli('stop', 'ws')).stderr, /ERR_SESSION_NOT_RUNNING/)
    assert.is((await cli('start', 'other', '--disk', f.basePath)).code, 0)
    const twice = await cli('start', 'other', '--disk', f.basePath, '--json')
    assert.is(twice.code, 1)
    assert.match(twice.stderr, /ERR_SESSION_RUNNING/)
    assert.match((await cli('start', 'ws', '--mode', 'sometimes')).stderr, /--mode/)
    assert.match((await cli('lock')).stderr, /needs one IMAGE/)
    await f.runtime.stop('other', { timeoutMs: 100 })
  })
})

test.run()
