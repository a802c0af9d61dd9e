/**
 * In-process coordination between publishes and GC over single chunk ids.
 *
 * A publish pins a chunk id before it writes (or finds) the chunk and unpins it once the
 * draft's reference to it is in the database; GC skips pinned ids and marks the ids it is
 * deleting. Both steps are synchronous checks on one event loop, so either the publish
 * pins first (GC skips the id) or GC marks first (the publish waits for the delete, then
 * writes the chunk again). Across processes the lease horizon and mtime refresh in
 * publish.ts give the same guarantee.
 */
export class ChunkPins {
  private readonly pinned = new Map<string, number>()
  private readonly deleting = new Map<string, Promise<unknown>>()

  pin (id: string): void {
    this.pinned.set(id, (this.pinned.get(id) ?? 0) + 1)
  }

  unpin (id: string): void {
    const n = (this.pinned.get(id) ?? 1) - 1
    if (n <= 0) this.pinned.delete(id)
    else this.pinned.set(id, n)
  }

  isPinned (id: string): boolean {
    return this.pinned.has(id)
  }

  /** Resolves when no GC delete of `id` is in flight (call after `pin`). */
  async settled (id: string): Promise<void> {
    const pending = this.deleting.get(id)
    if (pending !== undefined) await pending.catch(() => {})
  }

  /** Runs `del` unless `id` is pinned; returns undefined when skipped. */
  async deleteUnpinned<T> (id: string, del: () => Promise<T>): Promise<T | undefined> {
    if (this.pinned.has(id) || this.deleting.has(id)) return undefined
    const pending = del()
    this.deleting.set(id, pending)
    try {
      return await pending
    } finally {
      this.deleting.delete(id)
    }
  }
}
