/**
 * The origin component: who may fetch which chunk, how a chunk file is answered over
 * HTTP, and the nginx configuration + signed URLs for serving the same store statically.
 * The routes live in `../routes/origin.ts`.
 */
export { grantOriginAccess, issueOriginAccess, BUILTIN_ORIGIN_PATH } from './access.ts'
export type { IssueOriginAccessInput } from './access.ts'
export { chunkResponse } from './chunk-response.ts'
export type { ChunkResponseInit } from './chunk-response.ts'
export { createOriginPacer } from './pacer.ts'
export type { OriginPacer, OriginPacerInit, PaceDecision } from './pacer.ts'
export { createMembershipCheck } from './membership.ts'
export type { MembershipCheck, MembershipCheckInit } from './membership.ts'
export { decideRange } from './range.ts'
export type { RangeDecision } from './range.ts'
export { signOriginLink, originLinkSignature } from './secure-link.ts'
export type { OriginLinkInput, OriginLinkQuery } from './secure-link.ts'
export { renderNginxServerBlock, renderNginxConfig } from './nginx.ts'
export type { NginxServerInit, NginxStandaloneInit } from './nginx.ts'
export {
  IMMUTABLE_CACHE_CONTROL, MAX_ORIGIN_TOKEN_BODY_BYTES, MAX_RANGE_HEADER_CHARS,
  MEMBERSHIP_CACHE_ENTRIES, MEMBERSHIP_CACHE_TTL_MS, ORIGIN_PACE_MAX_KEYS, ORIGIN_PACE_MAX_WAIT_MS, ORIGIN_READ_BYTES
} from './constants.ts'
