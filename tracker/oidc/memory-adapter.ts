/**
 * The embedded provider's storage: sessions, grants, codes and tokens in this process's
 * memory, each dropped at its expiry, at most `maxEntries` in all (the oldest go first), so
 * a flood of abandoned logins cannot grow the heap without bound. A restart forgets them —
 * acceptable for a development provider, and said in tracker/README.md.
 */
import type { Adapter, AdapterFactory, AdapterPayload } from 'oidc-provider'

interface Entry { payload: AdapterPayload, expiresAtMs: number }

export function memoryAdapter (options: { maxEntries: number, now: () => number }): AdapterFactory {
  const entries = new Map<string, Entry>()
  const index = new Map<string, string>() // `userCode:…`, `uid:…` → key
  const grants = new Map<string, Set<string>>()

  function live (key: string | undefined): AdapterPayload | undefined {
    if (key === undefined) return undefined
    const entry = entries.get(key)
    if (entry === undefined) return undefined
    if (entry.expiresAtMs <= options.now()) { entries.delete(key); return undefined }
    return entry.payload
  }

  return (name: string): Adapter => {
    const key = (id: string): string => `${name}:${id}`
    return {
      async upsert (id, payload, expiresIn) {
        entries.delete(key(id)) // re-inserted last: Map order is age order
        while (entries.size >= options.maxEntries) entries.delete(entries.keys().next().value!)
        entries.set(key(id), { payload, expiresAtMs: expiresIn === undefined ? Number.POSITIVE_INFINITY : options.now() + expiresIn * 1000 })
        if (payload.userCode !== undefined) index.set(`userCode:${payload.userCode}`, key(id))
        if (payload.uid !== undefined) index.set(`uid:${payload.uid}`, key(id))
        if (payload.grantId !== undefined) {
          const set = grants.get(payload.grantId) ?? new Set()
          grants.set(payload.grantId, set.add(key(id)))
        }
      },
      async find (id) { return live(key(id)) },
      async findByUserCode (userCode) { return live(index.get(`userCode:${userCode}`)) },
      async findByUid (uid) { return live(index.get(`uid:${uid}`)) },
      async consume (id) {
        const entry = entries.get(key(id))
        if (entry !== undefined) entry.payload.consumed = Math.floor(options.now() / 1000)
      },
      async destroy (id) { entries.delete(key(id)) },
      async revokeByGrantId (grantId) {
        for (const k of grants.get(grantId) ?? []) entries.delete(k)
        grants.delete(grantId)
      }
    }
  }
}
