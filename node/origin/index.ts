/**
 * The origin as a chunk source: fetching one chunk over HTTP from the tracker's built-in
 * origin or a static server (nginx, IIS) serving a chunk store, verified against its id;
 * and the delta chunks beside it (a version's signed delta index, one delta by entry).
 * What the tracker hands out to reach it (`OriginAccess`) is in protocol/api/origin.ts.
 */
export { fetchChunkFromOrigin, fetchOriginFile, originChunkUrl, originFileUrl } from './origin-client.ts'
export type { FetchChunkOptions, FetchFileOptions, OriginEndpoint } from './origin-client.ts'
export { fetchDeltaFromOrigin, fetchDeltaIndex } from './delta-client.ts'
export type { FetchDeltaOptions } from './delta-client.ts'
export { fetchBootProfile } from './boot-profile-client.ts'
export type { FetchBootProfileOptions } from './boot-profile-client.ts'
