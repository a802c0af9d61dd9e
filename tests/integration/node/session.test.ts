// VM sessions on real QEMU with no guest (`-machine none`: QMP answers in ~0.1 s): the
// control path — start, lock, unlock, forced stop, crash, re-attach, bad input.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { access, appendFile, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { spawn } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readBackingFile, sessionDir } from '../../../node/session/index.ts'
import { probeHostKey } from '../../../node/session/accelerator.ts'
import { ACCELERATOR_FILE } from '../../../node/constants.ts'
import { rejects } from '../../helpers/rejects.ts'
import { until } from '../../helpers/abuse.ts'
import { withSessions } from './session-fixtures.ts'

const NONE = { machine: 'none' as const }
const exists = async (p: string): Promise<boolean> => await access(p).then(() => true, () => false)
const cmdline = async (pid: number): Promise<string[]> => (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0')

test('start runs QEMU over a qcow2 overlay of the base, reports session.started, stop removes its state', async () => {
  await withSessions(NONE, async ({ runtime, basePath, dataDir, events }) => {
    const s = await runtime.start('ws', { baseImagePath: basePath, mode: 'persistent', version: 3, memoryMb: 64, cpus: 1 })
    assert.is(s.state, 'running')
    assert.is(s.qemuStatus, 'running')
    assert.is(s.accel, 'tcg')
    const args = await cmdline(s.pid!)
    assert.is(args[args.indexOf('-m') + 1], '64', 'memory from the caller')
    assert.is(args[args.indexOf('-smp') + 1], '1', 'vCPUs from the caller (-machine none has only one)')
    assert.is(await readBackingFile(s.overlayPath!), basePath)
    const started = await events.next('session.started')
    assert.equal([started.image, started.version, started.mode], ['ws', 3, 'persistent'])
    assert.type(started.durationMs, 'number')
    await rejects(runtime.start('ws', { baseImagePath: basePath, mode: 'persistent' }), { code: 'ERR_SESSION_RUNNING' })

    const r = await runtime.stop('ws', { timeoutMs: 300 })
    assert.ok(r.forced, 'no guest answers the power button: forced')
    assert.is((await runtime.status('ws')).state, 'stopped')
    assert.not.ok(await exists(join(sessionDir(dataDir, 'ws'), 'session.json')))
    assert.not.ok(await exists(join(sessionDir(dataDir, 'ws'), 'qmp.sock')), 'no stale socket')
    assert.ok(await exists(s.overlayPath!), 'a persistent overlay is kept')
    const stopped = await events.next('session.stopped')
    assert.is(stopped.forced, true)
    await rejects(runtime.stop('ws'), { code: 'ERR_SESSION_NOT_RUNNING' })
  })
})

test('a channel the caller does not allow is absent from the command line and from query-chardev', async () => {
  await withSessions(NONE, async ({ runtime, basePath }) => {
    const s = await runtime.start('ws', { baseImagePath: basePath, mode: 'revertible', channels: { clipboard: true } })
    const args = (await cmdline(s.pid!)).join(' ')
    assert.match(args, /id=ch-clipboard/)
    assert.not.match(args, /ch-files|ch-print/)
    const labels = (await runtime.query<Array<{ label: string }>>('ws', 'query-chardev')).map((c) => c.label)
    assert.ok(labels.includes('ch-clipboard') && labels.includes('qga0'), labels.join(','))
    assert.not.ok(labels.includes('ch-files') || labels.includes('ch-print'), labels.join(','))
    assert.equal(s.channels, { clipboard: true, fileTransfer: false, printing: false })
    await runtime.stop('ws', { timeoutMs: 100 })
  })
})

test('lock pauses the VM and unlock resumes it, each reported once, unlock with how long it was locked', async () => {
  await withSessions(NONE, async ({ runtime, basePath, events }) => {
    await runtime.start('ws', { baseImagePath: basePath, mode: 'revertible' })
    const locked = await runtime.lock('ws', { reason: 'expired' })
    assert.equal([locked.state, locked.qemuStatus], ['locked', 'paused'])
    await runtime.lock('ws') // already locked: nothing more
    assert.equal(await events.next('session.locked'), { image: 'ws', reason: 'expired' })
    const unlocked = await runtime.unlock('ws')
    assert.equal([unlocked.state, unlocked.qemuStatus], ['running', 'running'])
    assert.type((await events.next('session.unlocked')).durationMs, 'number')
    assert.is(events.list.filter((e) => e.type === 'session.locked').length, 1)
    await runtime.stop('ws', { timeoutMs: 100 })
  })
})

test('a stop of a VM that never answers the power button is forced within the timeout', async () => {
  await withSessions(NONE, async ({ runtime, basePath }) => {
    await runtime.start('ws', { baseImagePath: basePath, mode: 'revertible' })
    await runtime.lock('ws') // a locked VM is resumed first, then asked
    const t0 = Date.now()
    const r = await runtime.stop('ws', { timeoutMs: 1_000 })
    const tookMs = Date.now() - t0
    assert.ok(r.forced)
    assert.ok(tookMs >= 1_000 && tookMs < 1_000 + 3_000, `took ${tookMs} ms`)
  })
})

test('a killed QEMU is noticed as a crash: reported, sockets and state removed, revertible overlay replaced', async () => {
  await withSessions(NONE, async ({ runtime, basePath, dataDir, events }) => {
    const s = await runtime.start('ws', { baseImagePath: basePath, mode: 'revertible', channels: { printing: true } })
    const dir = sessionDir(dataDir, 'ws')
    assert.ok(await exists(join(dir, 'qmp.sock')) && await exists(join(dir, 'ch-print.sock')))
    const freshBytes = (await stat(s.overlayPath!)).size
    await appendFile(s.overlayPath!, Buffer.alloc(64 * 1024, 1)) // stands for what the guest wrote
    process.kill(s.pid!, 'SIGKILL')
    const crashed = await events.next('session.crashed')
    assert.equal([crashed.image, crashed.reason, crashed.signal], ['ws', 'qemu-exited', 'SIGKILL'])
    assert.is((await runtime.status('ws')).state, 'stopped')
    for (const f of ['qmp.sock', 'agent.sock', 'ch-print.sock', 'session.json']) assert.not.ok(await exists(join(dir, f)), f)
    assert.is((await stat(s.overlayPath!)).size, freshBytes, 'a fresh overlay replaced the used one')
    // and the image can be started again
    await runtime.start('ws', { baseImagePath: basePath, mode: 'revertible' })
    await runtime.stop('ws', { timeoutMs: 100 })
  })
})

test('a restarted daemon re-attaches to a running VM, and cleans up one that died meanwhile', async () => {
  await withSessions(NONE, async ({ runtime, basePath, dataDir, events, reopen }) => {
    const a = await runtime.start('alive', { baseImagePath: basePath, mode: 'persistent' })
    const d = await runtime.start('dead', { baseImagePath: basePath, mode: 'revertible' })
    await runtime.detach()
    assert.ok((await cmdline(a.pid!)).length > 1, 'detach leaves the VM running')
    process.kill(d.pid!, 'SIGKILL')
    await events.next('session.started')
    await events.next('session.started')

    const again = reopen()
    await again.attach()
    const s = await again.status('alive')
    assert.equal([s.state, s.pid, s.startedAtMs], ['running', a.pid, a.startedAtMs])
    const crashed = await events.next('session.crashed')
    assert.equal([crashed.image, crashed.reason], ['dead', 'died-while-detached'])
    assert.not.ok(await exists(join(sessionDir(dataDir, 'dead'), 'session.json')))
    assert.not.ok(await exists(join(sessionDir(dataDir, 'dead'), 'qmp.sock')))
    await again.lock('alive')
    const r = await again.stop('alive', { timeoutMs: 100 })
    assert.ok(r.forced)
    assert.is(events.list.filter((e) => e.type === 'session.crashed').length, 1, 'the first runtime let go: no crash reported for detach')
  })
})

test('a persistent overlay whose base is gone, or over another base, is refused with a clear code', async () => {
  await withSessions(NONE, async ({ runtime, basePath, dataDir }) => {
    await runtime.start('ws', { baseImagePath: basePath, mode: 'persistent' })
    await runtime.stop('ws', { timeoutMs: 100 })
    const other = join(dataDir, 'other.raw')
    await (await import('node:fs/promises')).copyFile(basePath, other)
    await rejects(runtime.start('ws', { baseImagePath: other, mode: 'persistent' }), { code: 'ERR_OVERLAY_BASE_CHANGED' })
    await rm(basePath)
    const err = await rejects(runtime.start('ws', { baseImagePath: basePath, mode: 'persistent' }), { code: 'ERR_OVERLAY_BASE_GONE' })
    assert.match(err.message, /base\.raw/)
    await rejects(runtime.start('fresh', { baseImagePath: basePath, mode: 'persistent' }), { code: 'ERR_BASE_IMAGE_MISSING' })
    assert.is((await runtime.list()).length, 0)
  })
})

test('missing QEMU binaries: the error names the Debian package to install', async () => {
  await withSessions({ ...NONE, qemuBinary: '/nonexistent/qemu-system-x86_64' }, async ({ runtime, basePath }) => {
    const err = await rejects(runtime.start('ws', { baseImagePath: basePath, mode: 'revertible' }), { code: 'ERR_QEMU_MISSING' })
    assert.match(err.message, /qemu-system-x86\b/)
  })
  await withSessions({ ...NONE, qemuImgBinary: '/nonexistent/qemu-img' }, async ({ runtime, basePath }) => {
    const err = await rejects(runtime.start('ws', { baseImagePath: basePath, mode: 'revertible' }), { code: 'ERR_QEMU_MISSING' })
    assert.match(err.message, /qemu-utils/)
  })
  await withSessions({ accel: 'auto', qemuBinary: '/nonexistent/qemu-system-x86_64' }, async ({ runtime }) => {
    await rejects(runtime.accelerator(), { code: 'ERR_QEMU_MISSING' })
  })
})

test('QEMU that exits at once (bad option) fails start with its own words, leaving nothing behind', async () => {
  await withSessions(NONE, async ({ runtime, basePath, dataDir }) => {
    const err = await rejects(runtime.start('ws', { baseImagePath: basePath, mode: 'revertible', boot: { kernelPath: join(dataDir, 'no-such-kernel') } }), { code: 'ERR_QEMU_START' })
    assert.match(err.message, /kernel|no-such/i)
    assert.not.ok(await exists(join(sessionDir(dataDir, 'ws'), 'session.json')))
    assert.not.ok(await exists(join(sessionDir(dataDir, 'ws'), 'overlay.qcow2')), 'the revertible overlay made for it is gone')
  })
})

test('the accelerator is KVM only when a probe proves it runs guest code; probed once', async () => {
  await withSessions({ accel: 'auto', kvmProbeTimeoutMs: 2_000 }, async ({ runtime, dataDir }) => {
    const t0 = Date.now()
    const accel = await runtime.accelerator()
    assert.ok(accel === 'kvm' || accel === 'tcg')
    assert.ok(Date.now() - t0 < 2_000 + 3_000)
    // where /dev/kvm exists but hangs, the probe must have said tcg
    if (await stat('/dev/kvm').then(() => true, () => false) && accel === 'kvm') console.log('  (KVM works on this host)')
    const t1 = Date.now()
    assert.is(await runtime.accelerator(), accel)
    assert.ok(Date.now() - t1 < 50, 'cached')
    assert.not.ok(await exists(join(dataDir, 'sessions', 'kvm-probe.qmp')))
  })
})

test('the probe\'s answer is kept for the host as it is: a restarted node does not probe again; another host key, or a torn file, probes', async () => {
  await withSessions({ accel: 'auto', kvmProbeTimeoutMs: 2_000 }, async ({ runtime, dataDir, reopen }) => {
    const accel = await runtime.accelerator()
    const kept = join(dataDir, 'sessions', ACCELERATOR_FILE)
    const saved = JSON.parse(await readFile(kept, 'utf8')) as { host: string, accel: string }
    assert.is(saved.accel, accel)
    assert.is(saved.host, await probeHostKey('qemu-system-x86_64'))
    assert.match(saved.host, /kvm:/)
    // the next daemon on this data directory: the kept answer, even one no probe here would give
    const other = accel === 'kvm' ? 'tcg' : 'kvm'
    await writeFile(kept, JSON.stringify({ host: saved.host, accel: other }))
    const t0 = Date.now()
    assert.is(await reopen().accelerator(), other, 'kept, not probed')
    assert.ok(Date.now() - t0 < 1_000)
    // a host key that no longer matches (rebooted, /dev/kvm or QEMU changed): probed again
    await writeFile(kept, JSON.stringify({ host: saved.host + 'x', accel: other }))
    assert.is(await reopen().accelerator(), accel)
    assert.is(JSON.parse(await readFile(kept, 'utf8')).host, saved.host)
    await writeFile(kept, '{"host": "' + saved.host.slice(0, 5))
    assert.is(await reopen().accelerator(), accel, 'a torn file is probed over')
  })
})

test('a node killed during the accelerator probe leaves no QEMU behind', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'branchcast-probe-'))
  try {
    // a process that probes with a 1 s timeout and is SIGKILLed while the probe runs
    const script = `import { probeAccelerator } from ${JSON.stringify(new URL('../../../node/session/accelerator.ts', import.meta.url).href)}
      const logger = { info () {}, warn () {}, forComponent () { return logger } }
      process.stdout.write('probing\\n')
      await probeAccelerator({ qemuBinary: 'qemu-system-x86_64', dir: ${JSON.stringify(dir)}, timeoutMs: 1_000, logger })`
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
    await new Promise<void>((resolve) => child.stdout!.once('data', () => { resolve() }))
    // the probe's QEMU is up (its QMP socket exists), then the node dies
    const qmp = join(dir, 'kvm-probe.qmp')
    await until(async () => await exists(qmp), 10_000, 20, 'the probe\'s QEMU')
    const qemuPids = async (): Promise<string[]> => {
      const found: string[] = []
      for (const pid of await readdir('/proc')) {
        if (!/^\d+$/.test(pid)) continue
        const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
        if (cmd.includes(qmp) && cmd.includes('qemu-system')) found.push(pid)
      }
      return found
    }
    child.kill('SIGKILL')
    await new Promise((resolve) => child.once('exit', resolve))
    // on a host where KVM answers, the probe may have ended already; where it hangs, `timeout` ends it
    await until(async () => (await qemuPids()).length === 0, 10_000, 100, 'the probe\'s QEMU gone')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
