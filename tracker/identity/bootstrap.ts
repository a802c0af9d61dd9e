/**
 * First start: a tracker with no API token at all mints one admin token and writes it to
 * `<dataDir>/initial-admin-token` (mode 0600), so whoever runs the tracker can log in —
 * without the token ever reaching a log line or the terminal's scrollback.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { TrackerStore } from '../db/store.ts'
import { mintApiToken } from './api-token.ts'

export const INITIAL_ADMIN_TOKEN_FILE = 'initial-admin-token'

/** Returns the file's path when a token was minted, undefined when tokens already exist. */
export async function bootstrapAdminToken (store: Pick<TrackerStore, 'listTokens' | 'createToken'>, dataDir: string, nowMs: number): Promise<string | undefined> {
  if ((await store.listTokens()).length > 0) return undefined
  const path = join(dataDir, INITIAL_ADMIN_TOKEN_FILE)
  await mintApiToken(store, { user: 'admin', groups: [], isAdmin: true, kind: 'user', label: 'initial admin (first start)', nowMs }, {
    // Written before the row exists: if we die in between, the next start mints again.
    beforeStore: async (token) => { await writeFile(path, token + '\n', { mode: 0o600, flag: 'w' }) }
  })
  return path
}
