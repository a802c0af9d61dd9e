import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { resolveWorkspaces } from '../../../../tracker/policies/workspaces.ts'
import type { PolicyMatch, PolicyRecord, SubjectKind } from '../../../../tracker/db/store.ts'

const NOW = Date.UTC(2026, 10, 24)

function policy (id: number, imageName: string, priority = 0, expiresAtMs: number | null = null): PolicyRecord {
  return {
    id,
    name: `p${id}`,
    imageName,
    pinnedVersion: null,
    expiresAtMs,
    offlineGraceSeconds: 0,
    p2pAllowed: true,
    originRateBytesPerSec: null,
    downloadWindow: null,
    vmMemoryMb: 1024,
    vmCpus: 1,
    publishedApps: [],
    startup: { mode: 'manual' },
    workspaceMode: 'persistent',
    guestChannels: { clipboard: 'off', fileTransfer: { direction: 'off', extensions: [] }, printing: false },
    idleLockMinutes: null,
    lockOnSuspend: true,
    priority,
    createdAtMs: 0,
    updatedAtMs: 0
  }
}
const via = (kind: SubjectKind, subject = kind === 'user' ? 'alice' : 'staff'): PolicyMatch['via'] => ({ kind, subject })
const m = (p: PolicyRecord, kind: SubjectKind): PolicyMatch => ({ policy: p, via: via(kind) })

// [rule, matches (in any order), expected policy id per image]
const cases: Array<[string, PolicyMatch[], Record<string, number>]> = [
  ['no assignment: no workspace', [], {}],
  ['one policy: it applies', [m(policy(1, 'win'), 'group')], { win: 1 }],
  ['different images: one workspace each', [m(policy(1, 'win'), 'user'), m(policy(2, 'linux'), 'group')], { win: 1, linux: 2 }],
  ['higher priority wins over a user assignment', [m(policy(1, 'win', 0), 'user'), m(policy(2, 'win', 5), 'group')], { win: 2 }],
  ['higher priority wins whatever the order', [m(policy(2, 'win', 5), 'group'), m(policy(1, 'win', 0), 'user')], { win: 2 }],
  ['negative priority loses to the default', [m(policy(1, 'win', -1), 'user'), m(policy(2, 'win', 0), 'group')], { win: 2 }],
  ['tie: user assignment beats group', [m(policy(1, 'win', 3), 'group'), m(policy(2, 'win', 3), 'user')], { win: 2 }],
  ['tie: user assignment beats group (reversed)', [m(policy(2, 'win', 3), 'user'), m(policy(1, 'win', 3), 'group')], { win: 2 }],
  ['tie on both: older (lower id) policy wins', [m(policy(7, 'win'), 'group'), m(policy(3, 'win'), 'group')], { win: 3 }],
  ['tie on both, users: older policy wins', [m(policy(3, 'win'), 'user'), m(policy(7, 'win'), 'user')], { win: 3 }],
  ['expired higher-priority policy still wins (reported expired)', [m(policy(1, 'win', 9, NOW - 1), 'group'), m(policy(2, 'win', 0), 'user')], { win: 1 }]
]

for (const [rule, matches, expected] of cases) {
  test(rule, () => {
    const got = resolveWorkspaces(matches, NOW)
    assert.equal(Object.fromEntries(got.map((w) => [w.image, w.policy.id])), expected)
  })
}

test('workspaces come sorted by image name, with the assignment that made them apply', () => {
  const got = resolveWorkspaces([m(policy(1, 'zeta'), 'group'), m(policy(2, 'alpha'), 'user')], NOW)
  assert.equal(got.map((w) => w.image), ['alpha', 'zeta'])
  assert.equal(got[0]!.via, { kind: 'user', subject: 'alice' })
  assert.equal(got[1]!.via, { kind: 'group', subject: 'staff' })
})

// The store may return matches in any order, one per assignment: the answer must not move.
test('one policy reaching the user directly and through groups: reported via the user', () => {
  const p1 = policy(1, 'win')
  const got = resolveWorkspaces([{ policy: p1, via: via('group', 'staff') }, { policy: p1, via: via('user') }, { policy: p1, via: via('group', 'all') }], NOW)
  assert.equal(got.map((w) => [w.policy.id, w.via]), [[1, { kind: 'user', subject: 'alice' }]])
})

test('one policy through several groups: reported via the group whose name sorts first', () => {
  const p1 = policy(1, 'win')
  const got = resolveWorkspaces([{ policy: p1, via: via('group', 'staff') }, { policy: p1, via: via('group', 'finance') }], NOW)
  assert.equal(got[0]!.via, { kind: 'group', subject: 'finance' })
})

function permutations<T> (items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]]
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]))
}

test('every order of the same matches resolves to the same workspaces', () => {
  const [a, b, c] = [policy(1, 'win', 2), policy(2, 'win', 2), policy(3, 'linux', 0)]
  const matches: PolicyMatch[] = [
    { policy: a, via: via('group', 'staff') },
    { policy: a, via: via('group', 'finance') },
    { policy: b, via: via('group', 'all') },
    { policy: b, via: via('user') },
    { policy: c, via: via('group', 'ops') },
    { policy: c, via: via('group', 'dev') }
  ]
  const expected = resolveWorkspaces(matches, NOW)
  assert.equal(expected.map((w) => [w.image, w.policy.id, w.via.kind, w.via.subject]), [['linux', 3, 'group', 'dev'], ['win', 2, 'user', 'alice']])
  for (const order of permutations(matches)) assert.equal(resolveWorkspaces(order, NOW), expected)
})

test('expired is true from the expiry instant on, false before and for no expiry', () => {
  const at = (expiresAtMs: number | null): boolean => resolveWorkspaces([m(policy(1, 'win', 0, expiresAtMs), 'user')], NOW)[0]!.expired
  assert.is(at(NOW + 1), false)
  assert.is(at(NOW), true)
  assert.is(at(NOW - 1), true)
  assert.is(at(null), false)
})

test.run()
