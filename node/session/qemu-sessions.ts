/**
 * The QEMU implementation of SessionRuntime: one detached QEMU per running image, driven
 * over QMP, its guest reached through the guest agent, its state in
 * `<dataDir>/sessions/<image>/`. Operations on one image run one at a time.
 */
import { mkdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import type { Logger } from '../../protocol/index.ts'
import {
  AUTO_LOCK_CHECK_MS, BOOT_AGENT_WAIT_MS, DEFAULT_POWERDOWN_TIMEOUT_MS, DEFAULT_SESSION_CPUS, DEFAULT_SESSION_MEMORY_MB, KVM_PROBE_TIMEOUT_MS,
  ACCELERATOR_FILE, MAX_SESSION_CPUS, MAX_SESSION_MEMORY_MB, NBD_RECONNECT_DELAY_S, POWERDOWN_REPEAT_MS, QEMU_EXIT_WAIT_MS, QMP_READY_TIMEOUT_MS
} from '../constants.ts'
import { readJsonFile, writeJsonFile } from '../state-file.ts'
import { probeAccelerator, probeHostKey } from './accelerator.ts'
import type { Accelerator } from './accelerator.ts'
import { SYSTEM_CLOCK, autoLockDecisions, logindIdleSource, sleptMs } from './auto-lock.ts'
import type { AutoLockDecision, ClockReading, IdleSource, SessionClock } from './auto-lock.ts'
import { SessionError } from './errors.ts'
import { GuestAgent } from './guest-agent.ts'
import type { GuestExecResult } from './guest-agent.ts'
import { ensureOverlay, removeOverlay } from './overlay.ts'
import { CHANNEL_PORTS, qemuArgs } from './qemu-args.ts'
import type { ChannelName, SessionChannels } from './qemu-args.ts'
import { QmpClient, abortable } from './qmp-client.ts'
import { isOurQemu, logTail, setProcessNice, spawnQemu } from './qemu-process.ts'
import type { QemuChild } from './qemu-process.ts'
import { readRecords, removeRecord, removeSockets, sessionDir, socketDir, writeRecord } from './session-record.ts'
import type { SessionRecord } from './session-record.ts'
import type {
  AppLaunchResult, SessionRuntime, SessionRuntimeComponents, SessionRuntimeInit, SessionStartOptions, SessionStatus, SessionStopResult
} from './index.ts'

/** A session whose QEMU we hold a monitor connection to. */
interface LiveSession {
  record: SessionRecord
  qmp: QmpClient
  /** set when this daemon spawned it: exit code and signal are then known */
  child?: QemuChild
  agent?: Promise<GuestAgent>
  agentAnswered: boolean
  /** how the guest runs a command line, asked of the agent once */
  shell?: Promise<[string, string]>
  /** stop() is under way: the monitor closing is expected */
  stopping: boolean
  /** detach(): the monitor closing is ours */
  detached: boolean
  panicked: boolean
  guestShutdown: boolean
  /** set while QEMU holds the guest paused on a failed disk read (`rerror=stop`) */
  ioPausedAtMs?: number
  /** ends the wait for the chunks that pause waits for (the session went away) */
  flowWait?: AbortController
  /** resolves once the monitor closed and, for our child, the process ended */
  gone: Promise<{ exitCode?: number, signal?: string }>
}

function validateStart (o: SessionStartOptions): void {
  if (typeof o.baseImagePath !== 'string' || o.baseImagePath === '') throw new TypeError('baseImagePath is required')
  if (o.mode !== 'persistent' && o.mode !== 'revertible') throw new TypeError('mode must be "persistent" or "revertible"')
  if (o.memoryMb !== undefined && (!Number.isInteger(o.memoryMb) || o.memoryMb < 16 || o.memoryMb > MAX_SESSION_MEMORY_MB)) throw new TypeError(`memoryMb must be an integer from 16 to ${MAX_SESSION_MEMORY_MB}`)
  if (o.cpus !== undefined && (!Number.isInteger(o.cpus) || o.cpus < 1 || o.cpus > MAX_SESSION_CPUS)) throw new TypeError(`cpus must be an integer from 1 to ${MAX_SESSION_CPUS}`)
}

export class QemuSessions implements SessionRuntime {
  readonly #init: SessionRuntimeInit
  readonly #components: SessionRuntimeComponents
  readonly #log: Logger
  readonly #qemu: string
  readonly #live = new Map<string, LiveSession>()
  readonly #queues = new Map<string, Promise<unknown>>()
  #accel: Promise<Accelerator> | undefined
  /** ends a probe still running when the runtime lets go (the node stopping) */
  readonly #detaching = new AbortController()
  readonly #clock: SessionClock
  readonly #idle: IdleSource
  /** runs checkAutoLock while any session is live */
  #autoLockTimer: NodeJS.Timeout | undefined
  #lastReading: ClockReading | undefined
  #idleUnknownLogged = false

  constructor (init: SessionRuntimeInit, components: SessionRuntimeComponents) {
    this.#init = init
    this.#components = components
    this.#log = components.logger.forComponent('node:session')
    this.#qemu = init.qemuBinary ?? 'qemu-system-x86_64'
    this.#clock = components.clock ?? SYSTEM_CLOCK
    this.#idle = components.idle ?? logindIdleSource()
  }

  /** Runs `fn` after every earlier operation on `image`. */
  async #serial<T> (image: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.#queues.get(image) ?? Promise.resolve()).then(fn, fn)
    const tail = run.catch(() => {})
    this.#queues.set(image, tail)
    try {
      return await run
    } finally {
      if (this.#queues.get(image) === tail) this.#queues.delete(image)
    }
  }

  #report (type: string, payload: Record<string, unknown>): void {
    this.#components.events.report(type, payload).catch((err) => { this.#log.error('cannot queue an event', { type, err }) })
  }

  #require (image: string): LiveSession {
    const live = this.#live.get(image)
    if (live === undefined) throw new SessionError('ERR_SESSION_NOT_RUNNING', `no session of ${image} is running`)
    return live
  }

  async accelerator (options: { signal?: AbortSignal } = {}): Promise<Accelerator> {
    const forced = this.#init.accel ?? 'auto'
    if (forced !== 'auto') return forced
    this.#accel ??= (async () => {
      const dir = socketDir(join(this.#init.dataDir, 'sessions'))
      await mkdir(dir, { recursive: true, mode: 0o700 })
      // the answer of an earlier probe on this host, as it is now (accelerator.ts: probeHostKey)
      const keptPath = join(this.#init.dataDir, 'sessions', ACCELERATOR_FILE)
      const host = await probeHostKey(this.#qemu)
      const kept = await readJsonFile<{ host?: unknown, accel?: unknown }>(keptPath).catch(() => undefined)
      if (host !== undefined && kept?.host === host && (kept.accel === 'kvm' || kept.accel === 'tcg')) {
        this.#log.info('VM accelerator chosen', { accel: kept.accel, probed: 'earlier' })
        return kept.accel
      }
      this.#detaching.signal.throwIfAborted()
      const accel = await probeAccelerator({ qemuBinary: this.#qemu, dir, timeoutMs: this.#init.kvmProbeTimeoutMs ?? KVM_PROBE_TIMEOUT_MS, logger: this.#log, signal: this.#detaching.signal })
      this.#log.info('VM accelerator chosen', { accel })
      if (host !== undefined) await writeJsonFile(keptPath, { host, accel }).catch((err: unknown) => { this.#log.warn('cannot keep the accelerator probe\'s answer', { err }) })
      return accel
    })()
    // a failed probe (QEMU missing) is tried again next time
    this.#accel.catch(() => { this.#accel = undefined })
    return await abortable(this.#accel, options.signal)
  }

  async start (image: string, options: SessionStartOptions): Promise<SessionStatus> {
    validateStart(options)
    options.signal?.throwIfAborted()
    await this.#serial(image, async () => { await this.#start(image, options) })
    if (options.waitForAgent === true) await this.waitForAgent(image, options)
    return await this.status(image, options)
  }

  async #start (image: string, o: SessionStartOptions): Promise<void> {
    if (this.#live.has(image)) throw new SessionError('ERR_SESSION_RUNNING', `a session of ${image} is already running`)
    const t0 = this.#components.now()
    const giveUp = new AbortController()
    const signal = AbortSignal.any([AbortSignal.timeout(QMP_READY_TIMEOUT_MS), giveUp.signal, ...(o.signal === undefined ? [] : [o.signal])])
    const { record, created } = await this.#prepare(image, o, t0, signal)
    const boot = record.lazy === undefined ? undefined : this.#components.lazyDisks?.recordBoot?.(record.lazy.exportName)
    let launched: { qmp: QmpClient, child: QemuChild }
    try {
      launched = await this.#launch(record, { created, signal, giveUp, callerSignal: o.signal })
    } catch (err) {
      boot?.cancel()
      throw err
    }
    const { qmp, child } = launched
    const live = this.#watch(record, qmp, child)
    if (boot !== undefined) this.#watchBoot(live, boot)
    const durationMs = this.#components.now() - t0
    this.#log.info('session started', { image, pid: child.pid, accel: record.accel, mode: o.mode, durationMs })
    this.#report('session.started', { image, ...this.#versionOf(record), mode: o.mode, accel: record.accel, durationMs })
  }

  /** The accelerator, the session's directories, its overlay, and the record of what is about to run. */
  async #prepare (image: string, o: SessionStartOptions, t0: number, signal: AbortSignal): Promise<{ record: SessionRecord, created: boolean }> {
    const accel = await this.accelerator({ signal })
    const dir = sessionDir(this.#init.dataDir, image)
    const sockets = socketDir(dir)
    await mkdir(dir, { recursive: true, mode: 0o700 })
    await mkdir(sockets, { recursive: true, mode: 0o700 })
    const overlayPath = join(dir, 'overlay.qcow2')
    const { created } = await ensureOverlay({ overlayPath, basePath: o.baseImagePath, qemuImgBinary: this.#init.qemuImgBinary ?? 'qemu-img', lazySizeBytes: o.lazy?.sizeBytes, signal })
    const channels: SessionChannels = { clipboard: o.channels?.clipboard === true, fileTransfer: o.channels?.fileTransfer === true, printing: o.channels?.printing === true }
    const channelSockets: Partial<Record<ChannelName, string>> = {}
    for (const c of Object.keys(CHANNEL_PORTS) as ChannelName[]) if (channels[c]) channelSockets[c] = join(sockets, `${CHANNEL_PORTS[c].id}.sock`)
    const record: SessionRecord = {
      image, version: o.version, mode: o.mode, pid: 0, startedAtMs: t0, accel,
      machine: this.#init.machine ?? 'pc', memoryMb: o.memoryMb ?? DEFAULT_SESSION_MEMORY_MB, cpus: o.cpus ?? DEFAULT_SESSION_CPUS,
      channels, network: o.network ?? 'nat', boot: o.boot, baseImagePath: o.baseImagePath, overlayPath,
      qmpSocket: join(sockets, 'qmp.sock'), agentSocket: join(sockets, 'agent.sock'), channelSockets,
      ...(o.guestChannels === undefined ? {} : { guestChannels: o.guestChannels }),
      idleLockMinutes: o.idleLockMinutes ?? null, lockOnSuspend: o.lockOnSuspend === true,
      ...(o.lazy === undefined ? {} : { lazy: { ...o.lazy, reconnectDelayS: o.lazy.reconnectDelayS ?? NBD_RECONNECT_DELAY_S } })
    }
    return { record, created }
  }

  /**
   * Spawns QEMU and connects to its monitor, writing the record meanwhile. On failure
   * QEMU is killed and nothing is left: record, sockets, an overlay made for this start.
   */
  async #launch (record: SessionRecord, s: { created: boolean, signal: AbortSignal, giveUp: AbortController, callerSignal?: AbortSignal }): Promise<{ qmp: QmpClient, child: QemuChild }> {
    const dir = sessionDir(this.#init.dataDir, record.image)
    const logPath = join(dir, 'qemu.log')
    await removeSockets(record)
    await rm(logPath, { force: true })
    const child = await spawnQemu(this.#qemu, qemuArgs({ ...record, serialLogPath: join(dir, 'serial.log') }), logPath)
    record.pid = child.pid
    this.#renice(record)
    let written: Promise<void> | undefined
    try {
      const exited = child.exited.then(async (e) => { throw new SessionError('ERR_QEMU_START', `QEMU exited (${e.signal ?? `status ${String(e.code)}`}) before its monitor answered: ${await logTail(logPath)}`) })
      // the record is fsynced while QEMU starts, not after
      written = writeRecord(this.#init.dataDir, record)
      const [qmp] = await Promise.all([Promise.race([QmpClient.connect(record.qmpSocket, { signal: s.signal }), exited]), written])
      // again, for the threads QEMU made before the first call reached them
      this.#renice(record)
      return { qmp, child }
    } catch (err) {
      await written?.catch(() => {})
      await removeRecord(this.#init.dataDir, record.image)
      s.giveUp.abort(err)
      child.child.kill('SIGKILL')
      await child.exited
      await removeSockets(record)
      if (s.created && record.mode === 'revertible') await removeOverlay(record.overlayPath)
      if ((err as { code?: string }).code === 'ERR_QEMU_START' || (s.callerSignal?.aborted ?? false)) throw err
      const why = err instanceof DOMException && err.name === 'TimeoutError' ? `its monitor did not answer within ${QMP_READY_TIMEOUT_MS} ms` : (err as Error).message
      throw new SessionError('ERR_QEMU_START', `QEMU did not start (${why}): ${await logTail(logPath)}`, { cause: err })
    }
  }

  /**
   * A lazy boot being recorded: the guest is up once its agent answers (asked in the
   * background for at most BOOT_AGENT_WAIT_MS); a VM gone before that drops the recording.
   */
  #watchBoot (live: LiveSession, boot: { up: () => void, cancel: () => void }): void {
    const ended = new AbortController()
    void live.gone.then(() => { ended.abort() })
    this.#agentPing(live, AbortSignal.any([ended.signal, AbortSignal.timeout(BOOT_AGENT_WAIT_MS)])).then(() => { boot.up() }, () => {
      if (ended.signal.aborted) boot.cancel()
    })
  }

  /**
   * QEMU inherits the daemon's CPU priority; a daemon that runs below normal sets its VMs
   * back to `qemuNice` (a VM that cannot be is logged and runs on, below normal).
   */
  #renice (record: SessionRecord): void {
    if (this.#init.qemuNice === undefined) return
    try {
      setProcessNice(record.pid, this.#init.qemuNice)
    } catch (err) {
      this.#log.warn('cannot set the VM back to normal CPU priority: it runs at the node\'s lower one', { image: record.image, pid: record.pid, nice: this.#init.qemuNice, err })
    }
  }

  /** Registers a live session and notices when its QEMU goes away. */
  #watch (record: SessionRecord, qmp: QmpClient, child?: QemuChild): LiveSession {
    const gone = (async () => {
      await qmp.closed
      if (child === undefined) return {}
      const e = await child.exited
      return { ...(e.code === null ? {} : { exitCode: e.code }), ...(e.signal === null ? {} : { signal: e.signal }) }
    })()
    const live: LiveSession = { record, qmp, child, agentAnswered: false, stopping: false, detached: false, panicked: false, guestShutdown: false, gone }
    qmp.onEvent((e) => {
      if (e.event === 'GUEST_PANICKED') live.panicked = true
      if (e.event === 'SHUTDOWN' && e.data?.guest === true) live.guestShutdown = true
      if (e.event === 'BLOCK_IO_ERROR' && e.data?.action === 'stop') this.#ioPaused(live)
    })
    this.#live.set(record.image, live)
    this.#armAutoLock()
    void gone.then(async (how) => {
      if (live.stopping || live.detached) return
      await this.#serial(record.image, async () => { await this.#ended(live, how) })
    })
    return live
  }

  /**
   * QEMU paused the guest on a failed disk read or write (`rerror/werror=stop`, lazy bases
   * only). On a lazy base that is a read that waited too long for its chunks (or the node's
   * socket that closed): reported, and resumed once the node says the chunks are in.
   */
  #ioPaused (live: LiveSession): void {
    if (live.ioPausedAtMs !== undefined) return
    const { record } = live
    live.ioPausedAtMs = this.#components.now()
    const reason = record.lazy === undefined ? 'disk-io-error' : 'chunks-stalled'
    this.#log.warn('the guest is paused: its disk did not answer', { image: record.image, reason })
    this.#report('session.paused', { image: record.image, ...this.#versionOf(record), reason })
    const flowing = this.#components.lazyDisks
    if (record.lazy === undefined || flowing === undefined) return
    const wait = new AbortController()
    live.flowWait = wait
    flowing.whenFlowing(record.image, { signal: wait.signal })
      .then(async () => { await this.#serial(record.image, async () => { await this.#resumeIo(live) }) })
      .catch((err: unknown) => {
        if (!wait.signal.aborted) this.#log.warn('cannot resume the paused guest: it stays paused until stopped', { image: record.image, err })
      })
  }

  /** The chunks a paused guest's reads waited for are in: `cont` (QEMU retries the reads). */
  async #resumeIo (live: LiveSession): Promise<void> {
    const pausedAtMs = live.ioPausedAtMs
    if (this.#live.get(live.record.image) !== live || live.stopping || pausedAtMs === undefined) return
    live.ioPausedAtMs = undefined
    live.flowWait = undefined
    // a lock taken meanwhile holds the guest: unlock resumes it
    if (live.record.lockedAtMs !== undefined) return
    await live.qmp.execute('cont')
    this.#log.info('the guest goes on: its chunks arrived', { image: live.record.image, pausedMs: this.#components.now() - pausedAtMs })
    this.#report('session.resumed', { image: live.record.image, ...this.#versionOf(live.record), reason: 'chunks-arrived', durationMs: this.#components.now() - pausedAtMs })
  }

  /** QEMU went away without stop(): the guest powered itself off, or it crashed. */
  async #ended (live: LiveSession, how: { exitCode?: number, signal?: string }): Promise<void> {
    const { record } = live
    if (this.#live.get(record.image) !== live || live.stopping) return // a stop queued before us has dealt with it
    const durationMs = this.#components.now() - record.startedAtMs
    await this.#cleanUp(live)
    if (live.guestShutdown && !live.panicked) {
      this.#log.info('session ended: the guest powered off', { image: record.image })
      this.#report('session.stopped', { image: record.image, ...this.#versionOf(record), durationMs, forced: false, initiator: 'guest', ...how })
      return
    }
    const reason = live.panicked ? 'guest-panicked' : 'qemu-exited'
    this.#log.warn('session crashed', { image: record.image, reason, ...how })
    this.#report('session.crashed', { image: record.image, ...this.#versionOf(record), reason, durationMs, ...how })
  }

  #versionOf (r: SessionRecord): { version?: number } {
    return r.version === undefined ? {} : { version: r.version }
  }

  /** Forgets a session whose QEMU is gone: record and stale sockets; a revertible overlay is reset. */
  async #cleanUp (live: LiveSession): Promise<void> {
    live.flowWait?.abort()
    live.qmp.close()
    void live.agent?.then((a) => a.close(), () => {})
    this.#live.delete(live.record.image)
    this.#armAutoLock()
    await removeSockets(live.record)
    await this.#resetOverlay(live.record)
    await removeRecord(this.#init.dataDir, live.record.image)
  }

  /**
   * A revertible workspace's overlay is replaced by an empty one as soon as its VM is gone,
   * so the next start does not wait for qemu-img. When that fails (the base went away) the
   * overlay is just deleted, and the next start says why.
   */
  async #resetOverlay (record: SessionRecord): Promise<void> {
    if (record.mode !== 'revertible') return
    await removeOverlay(record.overlayPath)
    // a lazy base not yet whole: the next start makes the overlay (lazily again, or over the file)
    if (record.lazy !== undefined && !await stat(record.baseImagePath).then(() => true, () => false)) return
    try {
      await ensureOverlay({ overlayPath: record.overlayPath, basePath: record.baseImagePath, qemuImgBinary: this.#init.qemuImgBinary ?? 'qemu-img' })
    } catch (err) {
      this.#log.warn('cannot make a fresh overlay for the next start', { image: record.image, err })
    }
  }

  async stop (image: string, options: { timeoutMs?: number, signal?: AbortSignal } = {}): Promise<SessionStopResult> {
    options.signal?.throwIfAborted()
    return await this.#serial(image, async () => await this.#stop(this.#require(image), options.timeoutMs ?? this.#init.powerdownTimeoutMs ?? DEFAULT_POWERDOWN_TIMEOUT_MS))
  }

  async #stop (live: LiveSession, timeoutMs: number): Promise<SessionStopResult> {
    live.stopping = true
    const { record, qmp } = live
    const t0 = this.#components.now()
    let forced = false
    const isGone = (ms: number): Promise<boolean> => abortable(live.gone.then(() => true), AbortSignal.timeout(ms)).catch(() => false)
    try {
      live.flowWait?.abort()
      if (record.lockedAtMs !== undefined || live.ioPausedAtMs !== undefined) await qmp.execute('cont').catch(() => {})
      if (!await this.#powerDown(live, timeoutMs)) {
        forced = true
        this.#log.warn('the guest did not power down in time: forcing', { image: record.image, timeoutMs })
        await qmp.execute('quit').catch(() => {})
        if (!await isGone(QEMU_EXIT_WAIT_MS)) {
          this.#kill(record.pid, 'SIGTERM')
          if (!await isGone(QEMU_EXIT_WAIT_MS)) {
            this.#kill(record.pid, 'SIGKILL')
            if (!await isGone(QEMU_EXIT_WAIT_MS)) throw new SessionError('ERR_QMP', `QEMU (pid ${record.pid}) did not exit after SIGKILL`)
          }
        }
      }
    } catch (err) {
      live.stopping = false
      throw err
    }
    const how = await live.gone
    await this.#cleanUp(live)
    const durationMs = this.#components.now() - record.startedAtMs
    this.#log.info('session stopped', { image: record.image, forced, stopMs: this.#components.now() - t0 })
    this.#report('session.stopped', { image: record.image, ...this.#versionOf(record), durationMs, forced, initiator: 'node', ...how })
    return { image: record.image, durationMs, forced, ...(how.exitCode === undefined ? {} : { exitCode: how.exitCode }) }
  }

  /**
   * Presses the power button, again every POWERDOWN_REPEAT_MS until the guest agent has
   * answered (a press before the guest's ACPI daemon runs is lost); true when QEMU ended
   * within `timeoutMs`.
   */
  async #powerDown (live: LiveSession, timeoutMs: number): Promise<boolean> {
    const deadline = AbortSignal.timeout(timeoutMs)
    const agentUp = live.agentAnswered
      ? Promise.resolve()
      : this.#agentPing(live, deadline).then(() => { live.agentAnswered = true }, () => new Promise<never>(() => {}))
    const gone = live.gone.then(() => true as const)
    let agentSettled = live.agentAnswered
    while (!deadline.aborted) {
      await live.qmp.execute('system_powerdown', undefined, { signal: deadline }).catch(() => {})
      const waits: Array<Promise<true | 'agent' | 'again'>> = [gone]
      if (!agentSettled) waits.push(agentUp.then(() => 'agent' as const), delay(POWERDOWN_REPEAT_MS, 'again' as const, { signal: deadline }))
      const r = await abortable(Promise.race(waits), deadline).catch(() => false as const)
      if (r === true) return true
      if (r === false) break
      // 'agent': press once more, now that the guest surely listens, then only wait
      if (r === 'agent') agentSettled = true
    }
    return await abortable(gone, AbortSignal.timeout(0)).catch(() => false)
  }

  #kill (pid: number, signal: NodeJS.Signals): void {
    try { process.kill(pid, signal) } catch {}
  }

  async restart (image: string, options: { timeoutMs?: number, signal?: AbortSignal } = {}): Promise<SessionStatus> {
    const record = this.#require(image).record
    await this.stop(image, options)
    return await this.start(image, {
      baseImagePath: record.baseImagePath, version: record.version, mode: record.mode, memoryMb: record.memoryMb,
      cpus: record.cpus, channels: record.channels, network: record.network, boot: record.boot, signal: options.signal,
      guestChannels: record.guestChannels, idleLockMinutes: record.idleLockMinutes, lockOnSuspend: record.lockOnSuspend,
      // still arriving: on the export again; whole: on the file
      ...(record.lazy !== undefined && !await stat(record.baseImagePath).then(() => true, () => false) ? { lazy: record.lazy } : {})
    })
  }

  async lock (image: string, options: { reason?: string, signal?: AbortSignal } = {}): Promise<SessionStatus> {
    await this.#serial(image, async () => {
      const live = this.#require(image)
      if (live.record.lockedAtMs !== undefined) return
      await live.qmp.execute('stop', undefined, options)
      const reason = options.reason ?? 'user'
      live.record = { ...live.record, lockedAtMs: this.#components.now(), lockReason: reason }
      await writeRecord(this.#init.dataDir, live.record)
      this.#report('session.locked', { image, ...this.#versionOf(live.record), reason })
    })
    return await this.status(image, options)
  }

  async unlock (image: string, options: { signal?: AbortSignal } = {}): Promise<SessionStatus> {
    await this.#serial(image, async () => {
      const live = this.#require(image)
      const lockedAtMs = live.record.lockedAtMs
      await live.qmp.execute('cont', undefined, options)
      if (lockedAtMs === undefined) return
      const { lockedAtMs: _at, lockReason: _why, ...rest } = live.record
      live.record = rest
      await writeRecord(this.#init.dataDir, live.record)
      this.#report('session.unlocked', { image, ...this.#versionOf(live.record), durationMs: this.#components.now() - lockedAtMs })
    })
    return await this.status(image, options)
  }

  async status (image: string, options: { signal?: AbortSignal } = {}): Promise<SessionStatus> {
    const live = this.#live.get(image)
    if (live === undefined) return { image, state: 'stopped' }
    const r = live.record
    const q = await live.qmp.execute<{ status?: string }>('query-status', undefined, options).catch(() => ({ status: undefined }))
    return {
      image,
      state: r.lockedAtMs !== undefined || q.status === 'paused' ? 'locked' : 'running',
      ...this.#versionOf(r),
      mode: r.mode, pid: r.pid, accel: r.accel, memoryMb: r.memoryMb, cpus: r.cpus, channels: r.channels,
      overlayPath: r.overlayPath, startedAtMs: r.startedAtMs, uptimeMs: this.#components.now() - r.startedAtMs,
      ...(r.lockedAtMs === undefined ? {} : { lockedAtMs: r.lockedAtMs, lockReason: r.lockReason }),
      idleLockMinutes: r.idleLockMinutes ?? null,
      lockOnSuspend: r.lockOnSuspend === true,
      ...(r.guestChannels === undefined ? {} : { guestChannels: r.guestChannels }),
      ...(q.status === undefined ? {} : { qemuStatus: q.status }),
      agent: live.agentAnswered,
      ...(r.lazy === undefined ? {} : { lazy: true })
    }
  }

  async list (options: { signal?: AbortSignal } = {}): Promise<SessionStatus[]> {
    return await Promise.all([...this.#live.keys()].sort().map(async (image) => await this.status(image, options)))
  }

  async query<T = unknown> (image: string, command: `query-${string}`, options: { signal?: AbortSignal } = {}): Promise<T> {
    if (!/^query-[a-z0-9-]+$/.test(command)) throw new TypeError('only query-* commands')
    return await this.#require(image).qmp.execute<T>(command, undefined, options)
  }

  #agent (live: LiveSession): Promise<GuestAgent> {
    live.agent ??= GuestAgent.connect(live.record.agentSocket)
    live.agent.catch(() => { live.agent = undefined })
    return live.agent
  }

  async #agentPing (live: LiveSession, signal: AbortSignal | undefined): Promise<void> {
    await (await this.#agent(live)).ping({ signal })
    live.agentAnswered = true
  }

  async waitForAgent (image: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.#agentPing(this.#require(image), options.signal)
  }

  async guestExec (image: string, path: string, args: string[] = [], options: { signal?: AbortSignal, input?: Uint8Array } = {}): Promise<GuestExecResult> {
    const live = this.#require(image)
    const result = await (await this.#agent(live)).exec(path, args, options)
    live.agentAnswered = true
    return result
  }

  async launchApp (image: string, app: { name: string, command: string }, options: { wait?: boolean, requestedAtMs?: number, signal?: AbortSignal } = {}): Promise<AppLaunchResult> {
    const t0 = options.requestedAtMs ?? this.#components.now()
    const live = this.#require(image)
    // a paused guest cannot answer: say so rather than wait for the timeout
    if (live.record.lockedAtMs !== undefined) throw new SessionError('ERR_SESSION_LOCKED', `${image} is locked: unlock it before launching ${app.name}`)
    const agent = await this.#agent(live)
    const [shell, flag] = await this.#shell(live, agent, options.signal)
    const pid = await agent.spawn(shell, [flag, app.command], { captureOutput: options.wait === true, signal: options.signal })
    live.agentAnswered = true
    const durationMs = this.#components.now() - t0
    this.#log.info('application launched', { image, app: app.name, pid, durationMs })
    this.#report('app.launched', { image, ...this.#versionOf(live.record), app: app.name, pid, durationMs })
    if (options.wait !== true) return { image, app: app.name, pid, durationMs }
    const r = await agent.wait(pid, { signal: options.signal })
    return { image, app: app.name, pid, durationMs, exitCode: r.exitCode, stdout: Buffer.from(r.stdout).toString('utf8'), stderr: Buffer.from(r.stderr).toString('utf8') }
  }

  /** `cmd.exe /c` in a Windows guest, `/bin/sh -c` in any other (and when the agent cannot say). */
  #shell (live: LiveSession, agent: GuestAgent, signal: AbortSignal | undefined): Promise<[string, string]> {
    live.shell ??= agent.execute<{ id?: string }>('guest-get-osinfo', undefined, { signal })
      .then((os): [string, string] => os?.id === 'mswindows' ? ['cmd.exe', '/c'] : ['/bin/sh', '-c'], (err: unknown): [string, string] => {
        // an agent without the command answers with an error: a POSIX guest. Given up on (timeout): ask again next time
        if ((err as { code?: string }).code === 'ERR_GUEST_AGENT' && !(signal?.aborted ?? false)) return ['/bin/sh', '-c']
        live.shell = undefined
        throw err
      })
    return live.shell
  }

  async checkAutoLock (options: { signal?: AbortSignal } = {}): Promise<AutoLockDecision[]> {
    const reading = { wallMs: this.#clock.wallMs(), monoMs: this.#clock.monoMs() }
    const slept = this.#lastReading === undefined ? 0 : sleptMs(this.#lastReading, reading)
    this.#lastReading = reading
    const sessions = [...this.#live.values()].map(({ record: r }) => ({
      image: r.image, state: r.lockedAtMs === undefined ? 'running' as const : 'locked' as const, idleLockMinutes: r.idleLockMinutes, lockOnSuspend: r.lockOnSuspend
    }))
    let idleMs: number | undefined
    if (sessions.some((s) => s.state === 'running' && s.idleLockMinutes != null)) {
      idleMs = await this.#idle.idleMs(options).catch(() => undefined)
      if (idleMs === undefined && !this.#idleUnknownLogged) {
        this.#idleUnknownLogged = true
        this.#log.warn('the host session\'s idle time is unknown (no answer from systemd-logind): the idle lock cannot fire')
      }
    }
    if (slept > 0) this.#log.info('the host slept', { sleptMs: slept })
    const decisions = autoLockDecisions(sessions, { idleMs, sleptMs: slept })
    const done: AutoLockDecision[] = []
    for (const d of decisions) {
      try {
        await this.lock(d.image, { reason: d.reason, signal: options.signal })
        done.push(d)
      } catch (err) {
        this.#log.warn('cannot lock a session', { image: d.image, reason: d.reason, err })
      }
    }
    return done
  }

  /** Runs checkAutoLock every AUTO_LOCK_CHECK_MS while a session is live (the timer does not hold the process open). */
  #armAutoLock (): void {
    if (this.#live.size > 0 && this.#autoLockTimer === undefined) {
      this.#lastReading = { wallMs: this.#clock.wallMs(), monoMs: this.#clock.monoMs() }
      this.#autoLockTimer = setInterval(() => { void this.checkAutoLock().catch((err) => this.#log.warn('auto-lock check failed', { err })) }, AUTO_LOCK_CHECK_MS)
      this.#autoLockTimer.unref()
    } else if (this.#live.size === 0 && this.#autoLockTimer !== undefined) {
      clearInterval(this.#autoLockTimer)
      this.#autoLockTimer = undefined
    }
  }

  async attach (): Promise<void> {
    const { records, bad } = await readRecords(this.#init.dataDir)
    for (const path of bad) this.#log.warn('ignoring an unreadable session record', { path })
    for (const record of records) {
      if (this.#live.has(record.image)) continue
      await this.#serial(record.image, async () => { await this.#reattach(record) })
    }
  }

  async #reattach (record: SessionRecord): Promise<void> {
    if (await isOurQemu(record.pid, record.qmpSocket)) {
      try {
        const qmp = await QmpClient.connect(record.qmpSocket, { signal: AbortSignal.timeout(QMP_READY_TIMEOUT_MS) })
        this.#watch(record, qmp)
        this.#log.info('re-attached to a running session', { image: record.image, pid: record.pid })
        // paused on its lazy base's reads while no node served them: resumed once they can be
        const q = await qmp.execute<{ status?: string }>('query-status').catch(() => ({ status: undefined }))
        const live = this.#live.get(record.image)
        if (q.status === 'io-error' && live !== undefined) this.#ioPaused(live)
        return
      } catch (err) {
        this.#log.warn('a recorded QEMU runs but its monitor does not answer: ending it', { image: record.image, pid: record.pid, err })
        this.#kill(record.pid, 'SIGKILL')
      }
    }
    const durationMs = this.#components.now() - record.startedAtMs
    await removeSockets(record)
    await this.#resetOverlay(record)
    await removeRecord(this.#init.dataDir, record.image)
    this.#log.warn('a session died while the node was down; cleaned up', { image: record.image, pid: record.pid })
    this.#report('session.crashed', { image: record.image, ...this.#versionOf(record), reason: 'died-while-detached', durationMs })
  }

  async detach (): Promise<void> {
    this.#detaching.abort(new Error('the session runtime is detaching'))
    await this.#accel?.catch(() => {})
    for (const live of this.#live.values()) {
      live.detached = true
      live.flowWait?.abort()
      live.child?.child.unref()
      live.qmp.close()
      void live.agent?.then((a) => a.close(), () => {})
    }
    await Promise.all([...this.#live.values()].map(async (l) => await l.qmp.closed))
    this.#live.clear()
    this.#armAutoLock()
  }
}
