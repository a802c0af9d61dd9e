/**
 * The swarm API: nodes announce what they hold of an image version and get back peers
 * (same site first), a peer capability bound to their libp2p peer id, their share of the
 * site's origin work, origin access and the transfer limits of their policy. The rules
 * are the swarm service's (`../swarm/`); this file parses, calls it and answers.
 *
 * Who may call: any authenticated user, for an image they may access (`requireImageAccess`;
 * admins for any image). A peer id belongs to the first user who announced it: another
 * user announcing or leaving with it gets 403, so nobody can overwrite someone else's
 * addresses or drop them from the swarm.
 */
import { createRoute } from '@hono/zod-openapi'
import type { OpenAPIHono } from '@hono/zod-openapi'
import { bodyLimit } from 'hono/body-limit'
import { AnnounceAnswerSchema, AnnounceBodySchema, LeaveAnswerSchema, LeaveBodySchema, MAX_ANNOUNCE_BODY_BYTES, MAX_LEAVE_BODY_BYTES } from '../../protocol/index.ts'
import { errorResponse, newRouter } from './router.ts'
import type { TrackerComponents, TrackerEnv } from '../env.ts'
import { payloadTooLarge } from '../errors.ts'

const errors = {
  400: errorResponse('malformed body'),
  401: errorResponse('no valid API token'),
  403: errorResponse('image not assigned to the caller, or the peer id belongs to another user')
}

/**
 * 413 before the body is read: the rest of it is still on the wire, so the connection is
 * closed rather than reused (a keep-alive client would otherwise see its next request fail).
 */
const capped = bodyLimit({ maxSize: MAX_ANNOUNCE_BODY_BYTES, onError: () => { throw payloadTooLarge(`announce body is over ${MAX_ANNOUNCE_BODY_BYTES} bytes`) } })

const announceRoute = createRoute({
  method: 'post',
  path: '/announce',
  summary: 'Announce held chunks of an image version; get peers, capability and origin share',
  middleware: [capped] as const,
  request: { body: { content: { 'application/json': { schema: AnnounceBodySchema } }, required: true } },
  responses: {
    200: { description: 'peers, capabilities and origin share', content: { 'application/json': { schema: AnnounceAnswerSchema } } },
    ...errors,
    404: errorResponse('no such image version'),
    409: errorResponse('the version is not published'),
    413: errorResponse('body too large')
  }
})

const leaveRoute = createRoute({
  method: 'post',
  path: '/leave',
  summary: 'Leave the swarm of an image version',
  middleware: [bodyLimit({ maxSize: MAX_LEAVE_BODY_BYTES, onError: () => { throw payloadTooLarge(`leave body is over ${MAX_LEAVE_BODY_BYTES} bytes`) } })] as const,
  request: { body: { content: { 'application/json': { schema: LeaveBodySchema } }, required: true } },
  responses: {
    200: { description: 'whether a membership was removed', content: { 'application/json': { schema: LeaveAnswerSchema } } },
    ...errors
  }
})

export function swarmRoutes ({ swarm }: Pick<TrackerComponents, 'swarm'>): OpenAPIHono<TrackerEnv> {
  const app = newRouter()
  app.openapi(announceRoute, async (c) => c.json(await swarm.announce(c.get('principal'), c.req.valid('json')), 200))
  app.openapi(leaveRoute, async (c) => c.json({ removed: await swarm.leave(c.get('principal'), c.req.valid('json')) }, 200))
  return app
}
