// VM sessions run as their workspace policy says, on real QEMU through the control API and
// the CLI: memory and CPUs from the policy (QEMU's own answer over QMP), a channel the
// policy forbids absent from the VM, no asking for more, the policy gate on start and
// unlock, the desktop entries synced at start; and the auto-lock on host idle and
// suspend with injected clocks.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Policy } from '../../../protocol/index.ts'
import { createLogger } from '../../../protocol/logger.ts'
import { createControlServer } from '../../../node/control/index.ts'
import type { NodeStatus } from '../../../node/control/index.ts'
import { createPublishedApps } from '../../../node/desktop/index.ts'
import { autoStartSessions, createSessionRuntime, staticPolicySource } from '../../../node/session/index.ts'
import type { SessionPolicySource } from '../../../node/session/index.ts'
import { runCli } from '../../helpers/cli.ts'
import { testPolicy } from '../../helpers/policy.ts'
import { rejects } from '../../helpers/rejects.ts'
import { recordEvents, withSessions } from './session-fixtures.ts'
import type { SessionFixture } from './session-fixtures.ts'

const logger = createLogger({ level: 'silent' })

interface Desk {
  f: SessionFixture
  cli: (...args: string[]) => ReturnType<typeof runCli>
  /** the policies the gate answers from: change them and the next check sees it */
  policies: Policy[]
  applications: string
}

/** A control API over a real runtime (a PC with no guest: QMP, CPUs and memory are real), gated by `policies`. */
async function withDesk (policies: Policy[], fn: (d: Desk) => Promise<void>): Promise<void> {
  await withSessions({ machine: 'pc', powerdownTimeoutMs: 200 }, async (f) => {
    const size = (await stat(f.basePath)).size
    const applications = join(f.dataDir, 'xdg', 'applications')
    const server = createControlServer({ dataDir: f.dataDir }, {
      pull: async () => { throw new Error('no pulls here') },
      images: async () => [{ image: 'ws', version: 2, path: f.basePath, sizeBytes: size }, { image: 'ws', version: 1, path: join(f.dataDir, 'gone.raw'), sizeBytes: size }],
      status: async () => ({}) as NodeStatus,
      sessions: f.runtime,
      sessionPolicy: staticPolicySource(() => policies),
      publishedApps: createPublishedApps({ applicationsDir: applications, command: ['/usr/bin/branchcast'], dataDir: f.dataDir }, { logger }),
      logger
    })
    await server.start()
    try {
      await fn({ f, policies, applications, cli: async (...args) => await runCli([...args, '--data', f.dataDir], { timeoutMs: 60_000 }) })
    } finally {
      await server.stop()
    }
  })
}

test('start takes memory, CPUs, mode and channels from the policy: QMP shows them, a forbidden channel is absent', async () => {
  const policy = testPolicy({
    vmMemoryMb: 160, vmCpus: 2, workspaceMode: 'revertible', idleLockMinutes: 9, lockOnSuspend: true,
    guestChannels: { clipboard: 'host-to-guest', fileTransfer: { direction: 'off', extensions: ['pdf'] }, printing: false },
    publishedApps: [{ name: 'Ledger', command: 'ledger' }]
  })
  await withDesk([policy], async ({ f, cli, applications }) => {
    const r = await cli('start', 'ws', '--json')
    assert.is(r.code, 0, r.stderr)
    const s = JSON.parse(r.stdout)
    assert.equal([s.mode, s.memoryMb, s.cpus, s.version, s.idleLockMinutes, s.lockOnSuspend], ['revertible', 160, 2, 2, 9, true])
    const mem = await f.runtime.query<{ 'base-memory': number }>('ws', 'query-memory-size-summary')
    assert.is(mem['base-memory'], 160 * 1024 * 1024, 'QEMU has the policy\'s memory')
    assert.is((await f.runtime.query<unknown[]>('ws', 'query-cpus-fast')).length, 2, 'and its CPUs')
    const labels = (await f.runtime.query<Array<{ label: string }>>('ws', 'query-chardev')).map((c) => c.label)
    assert.ok(labels.includes('ch-clipboard'), labels.join(','))
    assert.not.ok(labels.includes('ch-files') || labels.includes('ch-print'), `file transfer and printing are off: ${labels.join(',')}`)
    assert.equal(s.guestChannels, policy.guestChannels, 'the directions and allow-list are kept for the channels\' host end')
    const entries = await (await import('node:fs/promises')).readdir(join(applications, 'branchcast', 'ws'))
    assert.is(entries.length, 1, 'the start synced the workspace\'s desktop entries')
    assert.match((await cli('status', 'ws')).stdout, /locks +after 9 min idle, on host suspend/)
    await f.runtime.stop('ws', { timeoutMs: 200 })
  })
})

test('a start may ask for less but never for more than the policy gives, nor boot another disk', async () => {
  await withDesk([testPolicy({ vmMemoryMb: 160, vmCpus: 2, guestChannels: { clipboard: 'both', fileTransfer: { direction: 'off', extensions: [] }, printing: false } })], async ({ f, cli }) => {
    for (const [args, what] of [
      [['--memory', '161'], /161 MiB of memory \(the policy gives 160\)/],
      [['--cpus', '3'], /3 CPUs/],
      [['--mode', 'revertible'], /mode revertible \(the policy says persistent\)/],
      [['--printing'], /printing channel/],
      [['--disk', f.basePath], /managed workspace/]
    ] as Array<[string[], RegExp]>) {
      const r = await cli('start', 'ws', ...args)
      assert.is(r.code, 1, args.join(' '))
      assert.match(r.stderr, /ERR_POLICY_LIMIT/)
      assert.match(r.stderr, what)
    }
    assert.is((await f.runtime.list()).length, 0, 'nothing started')
    const r = await cli('start', 'ws', '--memory', '96', '--cpus', '1', '--json')
    assert.is(r.code, 0, r.stderr)
    const s = JSON.parse(r.stdout)
    assert.equal([s.memoryMb, s.cpus, s.channels], [96, 1, { clipboard: true, fileTransfer: false, printing: false }])
    await f.runtime.stop('ws', { timeoutMs: 200 })
  })
})

test('the policy gate: no policy or an expired one refuses start; unlock only while the policy is valid', async () => {
  await withDesk([], async ({ f, cli, policies }) => {
    const none = await cli('start', 'ws')
    assert.match(none.stderr, /ERR_POLICY_DENIED.*no policy assigns ws/)
    policies.push(testPolicy({ pinnedVersion: 3, channel: 'pinned' }))
    assert.match((await cli('start', 'ws')).stderr, /ERR_IMAGE_NOT_READY.*version 3/, 'the pinned version must be the one held')
    policies[0] = testPolicy({ pinnedVersion: 1, channel: 'pinned' })
    assert.match((await cli('start', 'ws')).stderr, /ERR_BASE_IMAGE_MISSING.*gone\.raw/, 'the pinned version, not the newest, is booted')
    policies[0] = testPolicy()
    assert.is((await cli('start', 'ws')).code, 0)
    assert.is(JSON.parse((await cli('lock', 'ws', '--json')).stdout).state, 'locked')
    policies[0] = testPolicy({ expiresAtMs: Date.now() - 1000, expiresAt: new Date(Date.now() - 1000).toISOString() })
    const refused = await cli('unlock', 'ws')
    assert.is(refused.code, 1)
    assert.match(refused.stderr, /ERR_POLICY_DENIED.*expired/)
    assert.is((await f.runtime.status('ws')).qemuStatus, 'paused', 'still locked')
    assert.match((await cli('restart', 'ws')).stderr, /ERR_POLICY_DENIED/)
    policies[0] = testPolicy({ expiresAtMs: Date.now() + 86_400_000 })
    const unlocked = await cli('unlock', 'ws', '--json')
    assert.is(unlocked.code, 0, unlocked.stderr)
    assert.is(JSON.parse(unlocked.stdout).qemuStatus, 'running', 'the admin extended it: unlocked')
    assert.is((await cli('stop', 'ws', '--timeout', '200ms')).code, 0, 'a stop needs no permission')
    policies.length = 0
    await rm(join(f.dataDir, 'sessions', 'ws', 'overlay.qcow2'))
  })
})

test('start-up mode auto: such workspaces start without anyone asking, once, as their policy says; others wait', async () => {
  await withSessions({ machine: 'none', powerdownTimeoutMs: 100 }, async ({ runtime, basePath, events }) => {
    const held = ['auto-ws', 'manual-ws', 'expired-ws', 'unassigned-ws'].map((image) => ({ image, version: 1, path: basePath, sizeBytes: 0 }))
    const gate = staticPolicySource([
      testPolicy({ image: 'auto-ws', vmCpus: 1, vmMemoryMb: 96, workspaceMode: 'revertible', startup: { mode: 'auto' } }),
      testPolicy({ image: 'manual-ws', vmCpus: 1, startup: { mode: 'manual' } }),
      testPolicy({ image: 'expired-ws', vmCpus: 1, startup: { mode: 'auto' }, expiresAtMs: Date.now() - 1 })
    ])
    // the gate is told the check is for an automatic start (the node's gate then skips the
    // host check, and its violation report, for workspaces not started automatically)
    const asked: Array<boolean | undefined> = []
    const policy: SessionPolicySource = { check: async (image, options) => { asked.push(options?.autoStart); return await gate.check(image, options) } }
    const o = { runtime, policy, images: async () => held, logger }
    assert.equal(await autoStartSessions(o), ['auto-ws'])
    assert.equal(asked, held.map(() => true), 'every check of the pass says it is for an automatic start')
    const s = await runtime.status('auto-ws')
    assert.equal([s.state, s.memoryMb, s.mode], ['running', 96, 'revertible'])
    assert.equal((await runtime.list()).map((x) => x.image), ['auto-ws'])
    assert.equal(await autoStartSessions(o), [], 'already running: not started twice')
    assert.is(events.list.filter((e) => e.type === 'session.started').length, 1)
    await runtime.stop('auto-ws')
  })
})

test('auto-lock: after the policy\'s idle minutes and when the host suspends (injected clocks), each reported with its reason', async () => {
  await withSessions({ machine: 'none' }, async ({ dataDir, basePath }) => {
    const events = recordEvents()
    let wall = Date.UTC(2026, 10, 28, 9)
    let mono = 1_000
    let idleMs: number | undefined = 0
    const runtime = createSessionRuntime({ dataDir, accel: 'tcg', machine: 'none', powerdownTimeoutMs: 100 }, {
      events, logger, now: Date.now, clock: { wallMs: () => wall, monoMs: () => mono }, idle: { idleMs: async () => idleMs }
    })
    try {
      await runtime.start('idle', { baseImagePath: basePath, mode: 'revertible', idleLockMinutes: 5, lockOnSuspend: false })
      await runtime.start('sleepy', { baseImagePath: basePath, mode: 'revertible', idleLockMinutes: null, lockOnSuspend: true })
      await runtime.start('never', { baseImagePath: basePath, mode: 'revertible' })
      assert.equal(await runtime.checkAutoLock(), [])

      wall += 4 * 60_000; mono += 4 * 60_000; idleMs = 4 * 60_000
      assert.equal(await runtime.checkAutoLock(), [], 'four minutes idle: not yet')
      wall += 60_000; mono += 60_000; idleMs = 5 * 60_000
      assert.equal(await runtime.checkAutoLock(), [{ image: 'idle', reason: 'idle' }])
      const idle = await runtime.status('idle')
      assert.equal([idle.state, idle.qemuStatus, idle.lockReason], ['locked', 'paused', 'idle'])
      assert.equal(await events.next('session.locked'), { image: 'idle', reason: 'idle' })

      idleMs = undefined // logind gives no answer: no idle lock, whatever the time
      await runtime.unlock('idle')
      wall += 3_600_000; mono += 1_000 // an hour asleep
      assert.equal(await runtime.checkAutoLock(), [{ image: 'sleepy', reason: 'suspend' }])
      assert.equal(await events.next('session.locked'), { image: 'sleepy', reason: 'suspend' })
      assert.is((await runtime.status('sleepy')).qemuStatus, 'paused')
      assert.is((await runtime.status('idle')).state, 'running', 'its policy does not lock on suspend')
      assert.is((await runtime.status('never')).state, 'running')
      wall += 2_000; mono += 2_000
      assert.equal(await runtime.checkAutoLock(), [], 'one suspend, one lock')
      assert.is(events.list.filter((e) => e.type === 'session.locked').length, 2)
      for (const image of ['idle', 'sleepy', 'never']) await runtime.stop(image, { timeoutMs: 100 })
      await rejects(runtime.lock('never'), { code: 'ERR_SESSION_NOT_RUNNING' })
    } finally {
      for (const s of await runtime.list().catch(() => [])) if (s.pid !== undefined) { try { process.kill(s.pid, 'SIGKILL') } catch {} }
      await runtime.detach()
    }
  })
})

test.run()
