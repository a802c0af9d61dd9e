/**
 * What the session suites share: a session runtime over a temp data directory with a raw
 * base disk, an event sink that checks every payload against protocol/'s schemas and lets
 * a test wait for an event, and a clean-up that kills whatever VM a failed test left.
 */
import { randomUUID } from 'node:crypto'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { EventSchema } from '../../../protocol/index.ts'
import type { ClientEvent } from '../../../protocol/index.ts'
import { createLogger } from '../../../protocol/logger.ts'
import { createSessionRuntime } from '../../../node/session/index.ts'
import type { SessionRuntime, SessionRuntimeInit } from '../../../node/session/index.ts'
import { makeTmpDir } from '../../helpers/tmp-dir.ts'

/** The first bytes of every test base disk, so a guest can show it sees the disk. */
export const DISK_MARK = 'BRANCHCAST-TEST-DISK'

export interface RecordedEvents {
  readonly list: ClientEvent[]
  report: (type: string, payload: Record<string, unknown>) => Promise<ClientEvent>
  /** the next event of `type` not yet taken by `next`, bounded by `timeoutMs` */
  next: (type: string, timeoutMs?: number) => Promise<Record<string, unknown>>
}

export function recordEvents (): RecordedEvents {
  const list: ClientEvent[] = []
  const taken = new Set<ClientEvent>()
  const wake = new Set<() => void>()
  return {
    list,
    async report (type, payload) {
      const e = EventSchema.parse({ id: randomUUID(), type, at: Date.now(), payload })
      list.push(e)
      for (const w of [...wake]) w()
      return e
    },
    async next (type, timeoutMs = 10_000) {
      const signal = AbortSignal.timeout(timeoutMs)
      for (;;) {
        const e = list.find((x) => x.type === type && !taken.has(x))
        if (e !== undefined) { taken.add(e); return e.payload }
        await new Promise<void>((resolve, reject) => {
          const done = (): void => { wake.delete(done); signal.removeEventListener('abort', fail); resolve() }
          const fail = (): void => { wake.delete(done); reject(new Error(`no ${type} event within ${timeoutMs} ms (got ${list.map((x) => x.type).join(', ')})`)) }
          wake.add(done)
          signal.addEventListener('abort', fail, { once: true })
        })
      }
    }
  }
}

export interface SessionFixture {
  dataDir: string
  basePath: string
  events: RecordedEvents
  runtime: SessionRuntime
  /** another runtime over the same data directory: a restarted daemon */
  reopen: (init?: Partial<SessionRuntimeInit>) => SessionRuntime
}

/** A runtime over a fresh data dir with a base disk of `diskBytes`; every VM it started is killed afterwards. */
export async function withSessions (init: Partial<SessionRuntimeInit>, fn: (f: SessionFixture) => Promise<void>, diskBytes = 4 * 1024 * 1024): Promise<void> {
  const dataDir = await makeTmpDir('branchcast-session-')
  const basePath = join(dataDir, 'base.raw')
  const disk = Buffer.alloc(diskBytes)
  disk.write(DISK_MARK, 0, 'latin1')
  await writeFile(basePath, disk)
  const events = recordEvents()
  const runtimes: SessionRuntime[] = []
  const make = (extra: Partial<SessionRuntimeInit> = {}): SessionRuntime => {
    const r = createSessionRuntime({ dataDir, accel: 'tcg', ...init, ...extra }, { events, logger: createLogger({ level: 'silent' }), now: Date.now })
    runtimes.push(r)
    return r
  }
  const runtime = make()
  try {
    await fn({ dataDir, basePath, events, runtime, reopen: make })
  } finally {
    for (const r of runtimes) {
      for (const s of await r.list().catch(() => [])) if (s.pid !== undefined) { try { process.kill(s.pid, 'SIGKILL') } catch {} }
      await r.detach()
    }
    await rm(dataDir, { recursive: true, force: true })
  }
}
