/**
 * Origin access: what the tracker hands a node for fetching an image's chunks over HTTP
 * (`POST /api/v1/images/{name}/origin-token`, and inside every swarm announce answer).
 * The built-in origin takes the token as a bearer; an external static origin (nginx, IIS)
 * takes the signed-URL query instead.
 */
import { z } from 'zod'

/** An origin token names its node: libp2p peer ids are ~52 characters; the id is bound into the token. */
export const MAX_ORIGIN_CLIENT_ID_CHARS = 128

/** The node an origin token is bound to: its client id or libp2p peer id. */
export const OriginTokenBodySchema = z.object({
  clientId: z.string().min(1).max(MAX_ORIGIN_CLIENT_ID_CHARS).regex(/^[A-Za-z0-9._:@+=-]+$/, 'client id: letters, digits and ._:@+=- only')
    .meta({ description: 'the node the token is bound to (client id or libp2p peer id)', example: '12D3KooWExample' })
}).strict()
export type OriginTokenBody = z.infer<typeof OriginTokenBodySchema>

export const OriginAccessSchema = z.object({
  token: z.string().meta({ description: 'origin capability token (aud "origin", bound to the client and the image); send as Authorization: Bearer to the built-in origin' }),
  expiresAtMs: z.number().int(),
  originUrl: z.string().meta({ description: 'base URL: a chunk is at {originUrl}/chunks/{2 hex}/{64 hex}' }),
  kind: z.enum(['builtin', 'nginx']),
  query: z.record(z.string(), z.string()).optional().meta({ description: 'signed-URL query parameters for an external static origin; when present they replace the token' })
}).meta({ id: 'OriginAccess' })
/** What the tracker hands a node for fetching an image's chunks from an origin. */
export type OriginAccess = z.infer<typeof OriginAccessSchema>
