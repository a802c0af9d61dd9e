import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { autoLockDecisions, parseLogindIdle, sleptMs } from '../../../../node/session/index.ts'
import type { AutoLockSession } from '../../../../node/session/index.ts'
import { SUSPEND_GAP_MS } from '../../../../node/constants.ts'

test('a suspend is the wall clock running ahead of the monotonic one by more than the gap', () => {
  const t0 = { wallMs: 1_000_000, monoMs: 5_000 }
  const cases: Array<[{ wallMs: number, monoMs: number }, number]> = [
    [{ wallMs: t0.wallMs + 2_000, monoMs: t0.monoMs + 2_000 }, 0],
    [{ wallMs: t0.wallMs + 2_000 + SUSPEND_GAP_MS, monoMs: t0.monoMs + 2_000 }, 0],
    [{ wallMs: t0.wallMs + 3_600_000, monoMs: t0.monoMs + 2_000 }, 3_598_000],
    [{ wallMs: t0.wallMs - 3_600_000, monoMs: t0.monoMs + 2_000 }, 0],
    [{ wallMs: t0.wallMs + 2_000, monoMs: t0.monoMs + 60_000 }, 0]
  ]
  for (const [after, want] of cases) assert.is(sleptMs(t0, after), want, JSON.stringify(after))
})

test('which sessions lock, and why: running ones only, suspend before idle, each by its own policy', () => {
  const s = (image: string, over: Partial<AutoLockSession> = {}): AutoLockSession => ({ image, state: 'running', idleLockMinutes: 5, lockOnSuspend: true, ...over })
  const cases: Array<[AutoLockSession[], { idleMs?: number, sleptMs: number }, Array<[string, string]>]> = [
    [[s('a')], { idleMs: 0, sleptMs: 0 }, []],
    [[s('a')], { idleMs: 5 * 60_000 - 1, sleptMs: 0 }, []],
    [[s('a')], { idleMs: 5 * 60_000, sleptMs: 0 }, [['a', 'idle']]],
    [[s('a')], { idleMs: undefined, sleptMs: 0 }, []],
    [[s('a', { idleLockMinutes: null })], { idleMs: 10 ** 9, sleptMs: 0 }, []],
    [[s('a')], { idleMs: 10 ** 9, sleptMs: 60_000 }, [['a', 'suspend']]],
    [[s('a', { lockOnSuspend: false })], { idleMs: 0, sleptMs: 60_000 }, []],
    [[s('a', { lockOnSuspend: false })], { idleMs: 10 ** 9, sleptMs: 60_000 }, [['a', 'idle']]],
    [[s('a', { state: 'locked' }), s('b', { state: 'stopped' })], { idleMs: 10 ** 9, sleptMs: 60_000 }, []],
    [[s('a'), s('b', { idleLockMinutes: 30 }), s('c', { lockOnSuspend: false, idleLockMinutes: null })], { idleMs: 10 * 60_000, sleptMs: 0 }, [['a', 'idle']]]
  ]
  for (const [sessions, seen, want] of cases) {
    assert.equal(autoLockDecisions(sessions, seen).map((d) => [d.image, d.reason]), want, `${JSON.stringify(sessions)} ${JSON.stringify(seen)}`)
  }
})

test('logind: idle since the hint on the monotonic clock, 0 when not idle, unknown otherwise', () => {
  const now = 10_000_000_000n // µs
  const cases: Array<[string, number | undefined]> = [
    ['IdleHint=no\nIdleSinceHintMonotonic=0\n', 0],
    ['IdleHint=yes\nIdleSinceHintMonotonic=9400000000\n', 600_000],
    ['IdleSinceHintMonotonic=9400000000\nIdleHint=yes\n', 600_000],
    ['IdleHint=yes\nIdleSinceHintMonotonic=20000000000\n', 0],
    ['IdleHint=yes\n', undefined],
    ['IdleHint=yes\nIdleSinceHintMonotonic=-5\n', undefined],
    ['', undefined],
    ['Failed to get session', undefined]
  ]
  for (const [text, want] of cases) assert.is(parseLogindIdle(text, now), want, JSON.stringify(text))
})

test.run()
