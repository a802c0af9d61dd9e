/**
 * The origin as a chunk source: fetching one chunk over HTTP from the tracker's built-in
 * origin or a static server (nginx, IIS) serving a chunk store, verified against its id.
 * What the tracker hands out to reach it (`OriginAccess`) is in protocol/api/origin.ts.
 */
export { fetchChunkFromOrigin, originChunkUrl } from './origin-client.ts'
export type { FetchChunkOptions, OriginEndpoint } from './origin-client.ts'
export { fetchBootProfile } from './boot-profile-client.ts'
export type { FetchBootProfileOptions } from './boot-profile-client.ts'
