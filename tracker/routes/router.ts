/**
 * A sub-app for one API area. Validation failures from route schemas answer 400 with
 * the first issue named; every route file builds its app with this, and `app.ts` mounts
 * them (the arrow points one way: the app imports routes, never the reverse).
 */
import { OpenAPIHono } from '@hono/zod-openapi'
import type { TrackerEnv } from '../env.ts'
import { badRequest } from '../errors.ts'
import { ErrorBodySchema } from '../../protocol/index.ts'

/** The first issue of a failed validation as one line: `path: message`. */
export function firstIssue (issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>, message: string }>): string {
  const issue = issues[0]
  const where = issue?.path.map(String).join('.') ?? ''
  return `${where === '' ? '' : `${where}: `}${issue?.message ?? 'invalid request'}`
}

export function newRouter (): OpenAPIHono<TrackerEnv> {
  return new OpenAPIHono<TrackerEnv>({
    defaultHook: (result) => {
      if (!result.success) throw badRequest(firstIssue(result.error.issues))
    }
  })
}

/** An error answer in a route's OpenAPI description: the one error body, documented. */
export function errorResponse (description: string): { description: string, content: { 'application/json': { schema: typeof ErrorBodySchema } } } {
  return { description, content: { 'application/json': { schema: ErrorBodySchema } } }
}
