// The reconciler's pure decision, one table row per rule: what it does for each
// workspace and the reason it gives.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decide, lockOf, versionsToKeep, windowState } from '../../../../node/workspaces/index.ts'
import type { Action, HeldImage, ReconcileInput } from '../../../../node/workspaces/index.ts'
import { NO_GUEST_CHANNELS } from '../../../../protocol/index.ts'
import type { Workspace } from '../../../../protocol/index.ts'

const DAY = 86_400_000
/** 2026-01-10 10:30 UTC; the tests' local time is UTC unless a row says otherwise */
const NOW = Date.UTC(2026, 0, 10, 10, 30)

function ws (over: Partial<Workspace['policy']> & { image?: string, version?: number | null, expired?: boolean } = {}): Workspace {
  const { image = 'desk', version = 3, expired = false, ...policy } = over
  return {
    image,
    version,
    expired,
    manifestId: null,
    via: { kind: 'group', subject: 'branch-1' },
    policy: {
      id: 1, name: `${image}-policy`, image, channel: 'latest', pinnedVersion: null, expiresAt: null, expiresAtMs: null,
      offlineGraceSeconds: 7 * 86_400, p2pAllowed: true, originRateBytesPerSec: null, downloadWindow: null,
      vmMemoryMb: 1024, vmCpus: 1, publishedApps: [], startup: { mode: 'manual' }, priority: 0,
      workspaceMode: 'persistent', guestChannels: NO_GUEST_CHANNELS, idleLockMinutes: null, lockOnSuspend: false,
      createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z',
      ...policy
    }
  }
}

const held = (image: string, ready: number[], extra: Partial<HeldImage> = {}): HeldImage => ({ image, ready, partial: [], inUse: [], ...extra })

function input (over: Partial<ReconcileInput> & { workspaces?: Workspace[] } = {}): ReconcileInput {
  const { workspaces = [ws()], ...rest } = over
  return {
    nowMs: NOW,
    utcOffsetMinutes: 0,
    cache: { state: 'verified', workspaces, lastContactMs: NOW - 60_000 },
    contact: 'ok',
    keepVersions: 2,
    expiryWarningMs: 7 * DAY,
    held: [],
    pulling: {},
    failed: {},
    ...rest
  }
}

const kinds = (actions: Action[]): string[] => actions.map((a) => `${a.kind}:${a.image}`)

const rows: Array<{ name: string, in: ReconcileInput, state: string, reason: RegExp, actions: string[] }> = [
  { name: 'assigned, nothing held: pull the version the policy names', in: input(), state: 'pulling', reason: /pulling v3: 0 %/, actions: ['pull:desk'] },
  { name: 'the version wanted is held: up to date, nothing to do', in: input({ held: [held('desk', [3])] }), state: 'current', reason: /up to date/, actions: [] },
  { name: 'a pull under way: its progress, no second pull', in: input({ pulling: { desk: { version: 3, fraction: 0.43 } } }), state: 'pulling', reason: /pulling v3: 43 %/, actions: [] },
  {
    name: 'outside the download window: wait, and say until when (local time)',
    in: input({ workspaces: [ws({ downloadWindow: { startMinute: 12 * 60, endMinute: 13 * 60, text: '12:00-13:00' } })] }),
    state: 'waiting', reason: /waiting for download window 12:00–13:00 until 12:00/, actions: []
  },
  {
    name: 'the window is local time: 10:30 UTC is 12:30 at UTC+2, inside 12:00–13:00',
    in: input({ utcOffsetMinutes: 120, workspaces: [ws({ downloadWindow: { startMinute: 12 * 60, endMinute: 13 * 60, text: '12:00-13:00' } })] }),
    state: 'pulling', reason: /pulling v3/, actions: ['pull:desk']
  },
  {
    name: 'a window wrapping past midnight: 22:00–06:00 is closed at 10:30',
    in: input({ workspaces: [ws({ downloadWindow: { startMinute: 22 * 60, endMinute: 6 * 60, text: '22:00-06:00' } })] }),
    state: 'waiting', reason: /until 22:00/, actions: []
  },
  { name: 'nothing published yet', in: input({ workspaces: [ws({ version: null })] }), state: 'none', reason: /no version published yet/, actions: [] },
  {
    name: 'a newer version ready while the session runs the older one: staged',
    in: input({ held: [held('desk', [3, 2], { inUse: [2], session: { state: 'running', version: 2 } })] }),
    state: 'staged', reason: /v3 is ready; the session runs v2/, actions: []
  },
  {
    name: 'expired: locked, the running session locked, no pull',
    in: input({ workspaces: [ws({ expiresAtMs: NOW - 1, expiresAt: 'x' })], held: [held('desk', [2], { inUse: [2], session: { state: 'running', version: 2 } })] }),
    state: 'locked', reason: /locked: expired on 2026-01-10 10:29 UTC/, actions: ['lock:desk']
  },
  {
    name: 'expired as the tracker says, even when the clock disagrees',
    in: input({ workspaces: [ws({ expired: true })] }),
    state: 'locked', reason: /expired/, actions: []
  },
  {
    name: 'offline beyond the grace: locked (a locked session is not locked again)',
    in: input({ contact: 'failed', cache: { state: 'verified', workspaces: [ws({ offlineGraceSeconds: 2 * 86_400 })], lastContactMs: NOW - 3 * DAY }, held: [held('desk', [3], { inUse: [3], session: { state: 'locked', version: 3 } })] }),
    state: 'locked', reason: /offline for 3 days > grace 2 days/, actions: []
  },
  {
    name: 'offline within the grace: the cached policy holds, no pull while the tracker is away',
    in: input({ contact: 'failed', cache: { state: 'verified', workspaces: [ws()], lastContactMs: NOW - DAY } }),
    state: 'waiting', reason: /the tracker did not answer/, actions: []
  },
  {
    name: 'a failed pull waits for its retry time',
    in: input({ failed: { desk: { version: 3, failures: 1, retryAtMs: NOW + 60_000, message: 'ERR_X: no' } } }),
    state: 'failed', reason: /pull of v3 failed \(ERR_X: no\); retrying at 10:31/, actions: []
  },
  {
    name: 'the origin cap of the policy goes with the pull',
    in: input({ workspaces: [ws({ originRateBytesPerSec: 1000 })] }),
    state: 'pulling', reason: /pulling/, actions: ['pull:desk']
  },
  {
    name: 'more versions than kept: the oldest go, the one in force and one older stay',
    in: input({ held: [held('desk', [3, 2, 1])] }),
    state: 'current', reason: /up to date/, actions: ['retain:desk']
  }
]

for (const row of rows) {
  test(row.name, () => {
    const d = decide(row.in)
    const view = d.workspaces.find((w) => w.image === 'desk')!
    assert.is(view.state, row.state)
    assert.match(view.reason, row.reason)
    assert.equal(kinds(d.actions), row.actions)
  })
}

test('the pull carries the policy\'s origin cap and the version wanted', () => {
  const d = decide(input({ workspaces: [ws({ originRateBytesPerSec: 1000, version: 5 })] }))
  assert.equal(d.actions, [{ kind: 'pull', image: 'desk', version: 5, originRateBytesPerSec: 1000 }])
})

test('a closed window wakes the reconciler when it opens', () => {
  const d = decide(input({ workspaces: [ws({ downloadWindow: { startMinute: 12 * 60, endMinute: 13 * 60, text: '' } })] }))
  assert.is(d.wakeAtMs, Date.UTC(2026, 0, 10, 12, 0))
})

test('an expiry within the warning days: a warning in the view, and a wake-up at the expiry', () => {
  const d = decide(input({ workspaces: [ws({ expiresAtMs: NOW + 3 * DAY + 5_000 })], held: [held('desk', [3])] }))
  const v = d.workspaces[0]!
  assert.is(v.warning, 'expires in 3 days')
  assert.match(v.reason, /up to date; expires in 3 days/)
  assert.is(d.wakeAtMs, NOW + 3 * DAY + 5_000)
  assert.is(decide(input({ workspaces: [ws({ expiresAtMs: NOW + 8 * DAY })] })).workspaces[0]!.warning, undefined)
})

test('revoked: every version deleted but the one a session runs, and that session locked', () => {
  const d = decide(input({ workspaces: [], held: [held('old', [2, 1], { partial: [3], inUse: [2], session: { state: 'running', version: 2 } })] }))
  assert.equal(d.actions, [
    { kind: 'remove', image: 'old', versions: [3, 1], reason: 'revoked' },
    { kind: 'lock', image: 'old', rule: 'revoked', message: 'no longer assigned' }
  ])
  assert.is(d.workspaces[0]!.state, 'revoked')
})

test('a refused cache: everything held locked, nothing pulled and nothing deleted', () => {
  const d = decide(input({ cache: { state: 'refused', message: 'bad signature' }, held: [held('desk', [3, 2, 1], { inUse: [3], session: { state: 'running', version: 3 } }), held('other', [1])] }))
  assert.equal(kinds(d.actions), ['lock:desk'])
  assert.equal(d.workspaces.map((w) => w.state), ['locked', 'locked'])
  assert.match(d.workspaces[0]!.reason, /policy cache refused \(bad signature\)/)
})

test('no document yet: nothing is deleted or pulled', () => {
  const d = decide(input({ cache: { state: 'none' }, contact: 'failed', held: [held('desk', [1])] }))
  assert.equal(d.actions, [])
})

test('versions kept: the one in force, keepVersions − 1 older, and whatever a session runs; a pinned older version beats newer ones', () => {
  assert.equal(versionsToKeep([5, 4, 3, 2], 5, [], 2), [5, 4])
  assert.equal(versionsToKeep([5, 4, 3, 2], 5, [2], 2), [5, 4, 2])
  assert.equal(versionsToKeep([5, 4, 3, 2], 3, [], 2), [3, 2], 'pinned back to 3: 4 and 5 go')
  assert.equal(versionsToKeep([4, 3], 5, [], 2), [4, 3], 'the wanted version not here yet: keep what runs meanwhile')
  assert.equal(versionsToKeep([5, 4], 5, [], 1), [5])
})

test('lockOf: the gate and the reconciler agree', () => {
  const cache = { state: 'verified' as const, workspaces: [], lastContactMs: NOW - 10_000 }
  assert.is(lockOf(ws({ offlineGraceSeconds: 5 }), { nowMs: NOW, cache, contact: 'ok' }), undefined, 'online: never offline-locked')
  assert.is(lockOf(ws({ offlineGraceSeconds: 5 }), { nowMs: NOW, cache, contact: 'pending' })?.rule, 'offline', 'not yet answered and beyond the grace')
  assert.is(lockOf(ws({ offlineGraceSeconds: 60 }), { nowMs: NOW, cache, contact: 'failed' }), undefined)
  assert.is(lockOf(undefined, { nowMs: NOW, cache: { state: 'refused', message: 'm' }, contact: 'ok' })?.rule, 'tamper')
})

test('windowState: open/closed and when that changes, end exclusive', () => {
  const w = { startMinute: 12 * 60, endMinute: 13 * 60 }
  const at = (h: number, m: number): number => Date.UTC(2026, 0, 10, h, m)
  assert.equal(windowState(w, at(12, 0), 0), { open: true, changesAtMs: at(13, 0) })
  assert.equal(windowState(w, at(13, 0), 0), { open: false, changesAtMs: at(12, 0) + DAY })
  assert.equal(windowState(w, at(0, 10), 0), { open: false, changesAtMs: at(12, 0) })
  assert.equal(windowState({ startMinute: 22 * 60, endMinute: 6 * 60 }, at(23, 0), 0), { open: true, changesAtMs: at(6, 0) + DAY })
})

test.run()
