/**
 * Chunks a reader is waiting for during a pull (instant start: the guest boots from the image
 * while it arrives). The block source says `want(units)`; the pull's transfer, once running,
 * has the scheduler fetch those first. Wants made before the transfer starts are kept for it.
 */

export interface PullDemand {
  /** Asks for these units (of the version being pulled) ahead of the rest. */
  want: (units: readonly number[]) => void
  /** The transfer's side: `onWant` sees every want, earlier ones first; returns the detach. */
  attach: (onWant: (units: readonly number[]) => void) => () => void
}

/** A bound on the wants kept before a transfer attaches (a reader cannot grow it without end). */
const MAX_PENDING_UNITS = 65_536

export function createPullDemand (): PullDemand {
  let pending: number[] = []
  let listener: ((units: readonly number[]) => void) | undefined
  return {
    want (units) {
      if (listener !== undefined) { listener(units); return }
      for (const u of units) if (pending.length < MAX_PENDING_UNITS) pending.push(u)
    },
    attach (onWant) {
      listener = onWant
      if (pending.length > 0) { const early = pending; pending = []; onWant(early) }
      return () => { if (listener === onWant) listener = undefined }
    }
  }
}
