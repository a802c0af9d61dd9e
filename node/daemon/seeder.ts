/**
 * Keeps the node findable for what it holds: the puller announces while it pulls, but swarm
 * membership lapses without announces, so the daemon re-announces every ready image (full
 * bitfield, from its stored manifest, re-verified against the pinned key) at the interval
 * the tracker asks for, and leaves those swarms when it stops. An expired manifest is not
 * seeded. A chunk found damaged on disk since is no longer announced (`have`).
 */
import { readFile } from 'node:fs/promises'
import { encodeHave, fullBitfield, verifyManifest } from '../../protocol/index.ts'
import type { Logger } from '../../protocol/index.ts'
import type { ReadyImage } from '../control/index.ts'
import type { PeerNode } from '../peer/index.ts'
import { imagePaths } from '../pull/index.ts'
import type { TrackerClient } from '../tracker-client.ts'
import type { Trust } from '../trust.ts'
import { SEED_ANNOUNCE_DEFAULT_MS, SEED_ANNOUNCE_MIN_MS } from '../constants.ts'

export interface SeederComponents {
  tracker: Pick<TrackerClient, 'announce' | 'leave'>
  trust: Trust
  peer: PeerNode
  dataDir: string
  site: string
  images: () => Promise<ReadyImage[]>
  /** what a version holds, over manifest indexes (default: all of it) */
  have?: (image: string, version: number) => Promise<{ bits: Uint8Array, count: number } | undefined>
  logger: Logger
  now: () => number
}

export class Seeder {
  readonly #c: SeederComponents
  readonly #log: Logger
  readonly #fixedIntervalMs: number | undefined
  #timer: NodeJS.Timeout | undefined
  #running = false
  #round: Promise<number> | undefined
  readonly #seeded = new Map<string, { image: string, version: number }>()
  #rounds = 0

  constructor (components: SeederComponents, init: { intervalMs?: number } = {}) {
    this.#c = components
    this.#log = components.logger.forComponent('node:seeder')
    this.#fixedIntervalMs = init.intervalMs
  }

  get rounds (): number { return this.#rounds }

  start (): void {
    if (this.#running) return
    this.#running = true
    this.#schedule(0)
  }

  #schedule (ms: number): void {
    if (!this.#running) return
    this.#timer = setTimeout(() => {
      void this.announceAll().then((nextMs) => this.#schedule(nextMs))
    }, ms)
    this.#timer.unref()
  }

  /** Announces every ready image now; resolves to the delay until the next round. */
  async announceAll (): Promise<number> {
    this.#round ??= this.#announceAll().finally(() => { this.#round = undefined })
    return await this.#round
  }

  async #announceAll (): Promise<number> {
    let nextMs = this.#fixedIntervalMs ?? SEED_ANNOUNCE_DEFAULT_MS
    let images: ReadyImage[] = []
    try { images = await this.#c.images() } catch (err) { this.#log.warn('cannot list ready images', { err }) }
    for (const img of images) {
      const key = `${img.image}@${img.version}`
      try {
        const root = new Uint8Array(await readFile(imagePaths(this.#c.dataDir, img.image, img.version).manifest))
        const manifest = verifyManifest(root, { publicKey: this.#c.trust.repositoryKey, nowMs: this.#c.now(), image: img.image })
        const have = await this.#c.have?.(img.image, manifest.version) ?? { bits: fullBitfield(manifest.chunkCount), count: manifest.chunkCount }
        const answer = await this.#c.tracker.announce({
          image: img.image,
          version: manifest.version,
          peerId: this.#c.peer.peerId,
          site: this.#c.site,
          addrs: this.#c.peer.multiaddrs,
          have: encodeHave(have.bits),
          haveCount: have.count
        }, { signal: AbortSignal.timeout(30_000) })
        this.#seeded.set(key, { image: img.image, version: manifest.version })
        if (this.#fixedIntervalMs === undefined && Number.isFinite(answer.announceIntervalMs)) nextMs = Math.min(nextMs, Math.max(SEED_ANNOUNCE_MIN_MS, answer.announceIntervalMs))
      } catch (err) {
        this.#seeded.delete(key)
        this.#log.warn('not seeding an image', { image: img.image, version: img.version, error: (err as Error).message })
      }
    }
    this.#rounds++
    return nextMs
  }

  /** Stops announcing and leaves the swarms it announced into (best effort, bounded). */
  async stop (): Promise<void> {
    this.#running = false
    clearTimeout(this.#timer)
    await this.#round?.catch(() => {})
    await Promise.allSettled([...this.#seeded.values()].map(async (s) => {
      await this.#c.tracker.leave({ image: s.image, version: s.version, peerId: this.#c.peer.peerId }, { signal: AbortSignal.timeout(2_000) })
    }))
    this.#seeded.clear()
  }
}
