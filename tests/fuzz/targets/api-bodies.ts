/**
 * Request and response bodies of the HTTP API (protocol/api/): the JSON text as a route
 * receives it, parsed, then given to every body schema. `JSON.parse` may refuse it with a
 * SyntaxError (the route answers 400); `safeParse` must never throw, and an event batch it
 * accepts must be within the caps the store relies on.
 */
import type { z } from 'zod'
import { ErrorBodySchema, ImageNameSchema } from '../../../protocol/api/common.ts'
import { EventBatchSchema, EventQuerySchema, KNOWN_EVENT_TYPES, MAX_EVENTS_PER_BATCH, MAX_EVENT_PAYLOAD_BYTES } from '../../../protocol/api/events.ts'
import { CreateImageBodySchema, RollbackBodySchema, UploadQuerySchema } from '../../../protocol/api/images.ts'
import { OriginTokenBodySchema } from '../../../protocol/api/origin.ts'
import { CreatePolicySchema, UpdatePolicySchema, AssignmentTargetSchema } from '../../../protocol/api/policies.ts'
import { AnnounceBodySchema, LeaveBodySchema } from '../../../protocol/api/swarm.ts'
import { CreateTokenSchema } from '../../../protocol/api/tokens.ts'
import { check } from '../target.ts'
import type { FuzzTarget } from '../target.ts'
import { text } from './fixtures.ts'

/** Every body and query a route parses with a protocol/api schema. */
const SCHEMAS: Array<[string, z.ZodType]> = [
  ['events', EventBatchSchema], ['event-query', EventQuerySchema], ['error', ErrorBodySchema], ['image', ImageNameSchema],
  ['create-image', CreateImageBodySchema], ['rollback', RollbackBodySchema], ['upload-query', UploadQuerySchema], ['origin-token', OriginTokenBodySchema],
  ['create-policy', CreatePolicySchema], ['update-policy', UpdatePolicySchema], ['assignment', AssignmentTargetSchema],
  ['announce', AnnounceBodySchema], ['leave', LeaveBodySchema], ['create-token', CreateTokenSchema]
]

const UUID = '0b6f1b9e-3c1d-4c55-9d43-7a1e2f3b4c5d'
const event = (type: string, payload: Record<string, unknown>, at: number | string = 1_767_268_800_000): object => ({ id: UUID, type, at, payload })
const BODIES: unknown[] = [
  { clientId: 'desk-42', events: [event('pull.completed', { image: 'desktop', version: 3, bytesFromPeers: 1, bytesFromOrigin: 2, bytesFromLocal: 3, originBytesByReason: { 'no-peer': 2 }, durationMs: 10 })] },
  { events: [event('pull.failed', { image: 'desktop', code: 'ERR_X', message: 'no' }, '2026-01-01T00:00:00Z'), event('peer.banned', { peerId: '12D3KooW', reason: 'corrupt', untilMs: 5 })] },
  { events: [event('session.stopped', { image: 'i', durationMs: 5, exitCode: -1 }), event('policy.blocked', { image: 'i', rule: 'window' }), event('vendor.thing', { any: [1, { a: null }] })] },
  { error: { code: 'ERR_TOKEN_INVALID', message: 'capability signature does not verify' } },
  'win11-office_2024.1+lts',
  { name: 'desk', image: 'desktop', pinnedVersion: 3, expiresAt: '2027-01-01', offlineGraceSeconds: 604800, downloadWindow: '22:00-06:00', publishedApps: [{ name: 'Notes', command: 'notes.exe' }], startup: { mode: 'auto' }, priority: 5 },
  { user: 'alice', groups: ['branch-staff'], expiresIn: '30d', label: 'desk' },
  { policy: 'desk', group: 'branch-staff' },
  { image: 'desktop', version: 2, peerId: '12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq', site: 'branch-1', addrs: ['/ip4/10.0.0.2/tcp/4001'], have: 'gA==', haveCount: 1 }
]

/** Where an issue is, without the names a record's keys give it: `events.#.payload.*`. */
const pathShape = (path: readonly PropertyKey[]): string =>
  path.slice(0, 4).map((p) => typeof p === 'number' ? '#' : /^[A-Za-z]{1,32}$/.test(String(p)) ? String(p) : '*').join('.')

export const apiBodiesTarget: FuzzTarget = {
  name: 'api-bodies',
  decoder: 'every protocol/api/ body and query schema .safeParse',
  seeds: () => BODIES.map((b) => text(JSON.stringify(b))),
  dictionary: () => [...KNOWN_EVENT_TYPES.map((t) => `"${t}"`), '"__proto__"', '"constructor"', '"toString"', '{', '}', '[', ']', ',', ':', 'null', 'true', '""', '"a.b"',
    `"${UUID}"`, '"2026-02-30T25:00:00Z"', '1e400', '-0', '9007199254740993', '"\\ud800"', '"\\u0000"', '{"":', '[[[[', '"payload":', '"events":'].map(text),
  run (input) {
    let value: unknown
    try {
      value = JSON.parse(Buffer.from(input).toString('utf8'))
    } catch (err) {
      if (err instanceof SyntaxError) return 'not JSON'
      throw err
    }
    const labels: string[] = []
    for (const [name, schema] of SCHEMAS) {
      const r = schema.safeParse(value)
      labels.push(r.success ? `${name} ok` : `${name} ${r.error.issues[0]?.code ?? ''} ${pathShape(r.error.issues[0]?.path ?? [])}`)
      if (r.success && name === 'events') {
        const batch = r.data as z.infer<typeof EventBatchSchema>
        check(batch.events.length >= 1 && batch.events.length <= MAX_EVENTS_PER_BATCH, 'a batch outside 1..MAX_EVENTS_PER_BATCH')
        check(batch.events.every((e) => Buffer.byteLength(JSON.stringify(e.payload)) <= MAX_EVENT_PAYLOAD_BYTES), 'a payload over its cap')
      }
    }
    return labels.join(', ')
  }
}
