/**
 * The durable event queue: one file per event under `<dataDir>/events/`, written to a temp
 * name, fsynced, renamed, and the directory fsynced, so an event `append` resolved for
 * survives a kill or a power cut. File names sort by creation time, so batches go out in
 * order. A file is deleted only after the tracker acknowledged its event.
 */
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { ClientEvent } from '../../protocol/index.ts'

const EVENT_FILE_RE = /^\d{15}-\d{6}-[0-9a-f-]{36}\.json$/
const REJECTED_DIR = 'rejected'

export interface QueuedEvent {
  file: string
  event: ClientEvent
  bytes: number
}

export class EventQueue {
  readonly dir: string
  #seq = 0

  constructor (dir: string) {
    this.dir = dir
  }

  async open (): Promise<void> {
    await mkdir(join(this.dir, REJECTED_DIR), { recursive: true, mode: 0o700 })
    // temp files of a write that was killed before its rename hold no acknowledged promise
    for (const name of await readdir(this.dir)) {
      if (name.endsWith('.tmp')) await unlink(join(this.dir, name)).catch(() => {})
    }
  }

  async append (event: ClientEvent, atMs: number): Promise<void> {
    this.#seq = (this.#seq + 1) % 1_000_000
    const name = `${String(atMs).padStart(15, '0')}-${String(this.#seq).padStart(6, '0')}-${event.id}.json`
    const tmp = join(this.dir, `${name}.${randomBytes(4).toString('hex')}.tmp`)
    const fh = await open(tmp, 'wx', 0o600)
    try {
      await fh.writeFile(JSON.stringify(event))
      await fh.sync()
    } finally {
      await fh.close()
    }
    await rename(tmp, join(this.dir, name))
    await this.#syncDir()
  }

  /** Up to `maxEvents` oldest events whose JSON totals at most `maxBytes` (at least one). */
  async peek (maxEvents: number, maxBytes: number): Promise<QueuedEvent[]> {
    const names = (await readdir(this.dir)).filter((n) => EVENT_FILE_RE.test(n)).sort()
    const out: QueuedEvent[] = []
    let total = 0
    for (const file of names) {
      if (out.length >= maxEvents) break
      let text: string
      try {
        text = await readFile(join(this.dir, file), 'utf8')
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue
        throw err
      }
      let event: ClientEvent
      try {
        event = JSON.parse(text) as ClientEvent
      } catch {
        // cannot happen for files we renamed into place after fsync; keep it for a human
        await this.reject(file)
        continue
      }
      const bytes = Buffer.byteLength(text) + 1
      if (out.length > 0 && total + bytes > maxBytes) break
      total += bytes
      out.push({ file, event, bytes })
    }
    return out
  }

  async count (): Promise<number> {
    return (await readdir(this.dir)).filter((n) => EVENT_FILE_RE.test(n)).length
  }

  async remove (files: readonly string[]): Promise<void> {
    for (const f of files) await unlink(join(this.dir, f)).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'ENOENT') throw err })
    await this.#syncDir()
  }

  /** Moves an event the tracker refuses for good aside, so it does not block the rest. */
  async reject (file: string): Promise<void> {
    await rename(join(this.dir, file), join(this.dir, REJECTED_DIR, file)).catch(() => {})
  }

  async #syncDir (): Promise<void> {
    const dh = await open(this.dir, 'r')
    try { await dh.sync() } catch {} finally { await dh.close() }
  }
}
