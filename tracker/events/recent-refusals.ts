/**
 * Credentials whose event batches were just refused for their rate, quota or in-flight
 * limit, until the `retry-after` they were given. The HTTP guard asks here before a request
 * reaches the app, so a client that ignores `retry-after` gets the same 429 again for the cost
 * of one hash — not of an HTTP request through routing, token lookup and the limits. Under a
 * flood of 2,000 refused requests a second that cost is what kept `/healthz` waiting.
 *
 * Keyed on a hash of the whole `authorization` header, and only ever filled after that
 * credential was verified and refused: a caller cannot put another user's credential here.
 * Bounded: beyond `maxEntries` the oldest entry goes.
 */
import { createHash } from 'node:crypto'

export interface RecentRefusals {
  /** Remembers that `key` was refused until `untilMs`. */
  note: (key: string, untilMs: number) => void
  /** Seconds until `key` may try again, or undefined when it was not refused or that time has passed. */
  retryAfterSeconds: (key: string, nowMs: number) => number | undefined
}

/** The key of a credential: a SHA-256 of the `authorization` header as sent. */
export function credentialKey (authorization: string): string {
  return createHash('sha256').update(authorization).digest('base64url')
}

export function createRecentRefusals (maxEntries: number): RecentRefusals {
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new TypeError('maxEntries must be a positive integer')
  const until = new Map<string, number>()
  return {
    note (key, untilMs) {
      until.delete(key)
      until.set(key, untilMs)
      if (until.size > maxEntries) until.delete(until.keys().next().value as string)
    },
    retryAfterSeconds (key, nowMs) {
      const t = until.get(key)
      if (t === undefined) return undefined
      if (t <= nowMs) {
        until.delete(key)
        return undefined
      }
      return (t - nowMs) / 1000
    }
  }
}
