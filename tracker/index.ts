/**
 * The tracker component's front door: start a tracker, or compose its app.
 */
export { startTracker } from './server.ts'
export type { RunningTracker, StartTrackerOptions } from './server.ts'
export { createApp, API_PREFIX } from './app.ts'
export type { TrackerApp } from './app.ts'
export { loadTrackerConfig, DEFAULT_DATA_DIR } from './config.ts'
export type { TrackerConfig, ConfigSources } from './config.ts'
export { openStore } from './db/index.ts'
export type { TrackerStore } from './db/store.ts'
export { bootstrapAdminToken, hashApiToken, mintApiToken, INITIAL_ADMIN_TOKEN_FILE } from './identity/index.ts'
export type { TrackerComponents, Principal } from './env.ts'
