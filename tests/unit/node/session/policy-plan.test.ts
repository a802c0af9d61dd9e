import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { channelsFromPolicy, fileTransferAllowed, narrowPlan, planFromPolicy } from '../../../../node/session/index.ts'
import type { SessionRequest } from '../../../../node/session/index.ts'
import type { ChannelDirection, GuestChannels } from '../../../../protocol/index.ts'
import { throwsCode } from '../../../helpers/rejects.ts'
import { testPolicy } from '../../../helpers/policy.ts'

const g = (clipboard: ChannelDirection, fileTransfer: ChannelDirection, printing: boolean, extensions: string[] = []): GuestChannels =>
  ({ clipboard, fileTransfer: { direction: fileTransfer, extensions }, printing })

test('a channel is in the VM exactly when its policy direction is not off (printing: when on)', () => {
  const cases: Array<[GuestChannels, [boolean, boolean, boolean]]> = [
    [g('off', 'off', false), [false, false, false]],
    [g('host-to-guest', 'off', false), [true, false, false]],
    [g('guest-to-host', 'off', false), [true, false, false]],
    [g('both', 'off', false), [true, false, false]],
    [g('off', 'host-to-guest', false, ['pdf']), [false, true, false]],
    [g('off', 'guest-to-host', false), [false, true, false]],
    [g('off', 'both', false), [false, true, false]],
    [g('off', 'off', true), [false, false, true]],
    [g('both', 'both', true), [true, true, true]]
  ]
  for (const [channels, [clipboard, fileTransfer, printing]] of cases) {
    assert.equal(channelsFromPolicy(channels), { clipboard, fileTransfer, printing }, JSON.stringify(channels))
  }
})

test('the plan is the policy: mode, memory, CPUs, channels and locks', () => {
  const plan = planFromPolicy(testPolicy({ workspaceMode: 'revertible', vmMemoryMb: 512, vmCpus: 3, guestChannels: g('both', 'off', true), idleLockMinutes: 7, lockOnSuspend: false }))
  assert.equal(plan, {
    mode: 'revertible', memoryMb: 512, cpus: 3, channels: { clipboard: true, fileTransfer: false, printing: true },
    guestChannels: g('both', 'off', true), idleLockMinutes: 7, lockOnSuspend: false
  })
})

test('a request may lower memory, CPUs and channels; never raise them or change the mode', () => {
  const plan = planFromPolicy(testPolicy({ vmMemoryMb: 512, vmCpus: 2, guestChannels: g('both', 'off', true) }))
  const ok: Array<[SessionRequest, Partial<typeof plan>]> = [
    [{}, { memoryMb: 512, cpus: 2 }],
    [{ memoryMb: 256, cpus: 1 }, { memoryMb: 256, cpus: 1 }],
    [{ memoryMb: 512, cpus: 2, mode: 'persistent' }, { memoryMb: 512, cpus: 2 }],
    [{ channels: { printing: false } }, { channels: { clipboard: true, fileTransfer: false, printing: false } }],
    [{ channels: { clipboard: true, fileTransfer: false, printing: false } }, { channels: { clipboard: true, fileTransfer: false, printing: false } }]
  ]
  for (const [request, want] of ok) {
    const got = narrowPlan(plan, request)
    for (const [k, v] of Object.entries(want)) assert.equal(got[k as keyof typeof got], v, `${JSON.stringify(request)} ${k}`)
  }
  const refused: SessionRequest[] = [
    { memoryMb: 513 },
    { cpus: 3 },
    { mode: 'revertible' },
    { channels: { fileTransfer: true } }
  ]
  for (const request of refused) throwsCode(() => narrowPlan(plan, request), 'ERR_POLICY_LIMIT')
})

test('file transfer: the direction must be allowed and the name must end in a listed extension', () => {
  const channels = g('off', 'host-to-guest', false, ['pdf', 'tar.gz'])
  const cases: Array<['host-to-guest' | 'guest-to-host', string, boolean]> = [
    ['host-to-guest', 'report.pdf', true],
    ['host-to-guest', 'REPORT.PDF', true],
    ['host-to-guest', 'a.tar.gz', true],
    ['host-to-guest', 'a.gz', false],
    ['host-to-guest', 'report.pdf.exe', false],
    ['host-to-guest', '.pdf', false],
    ['host-to-guest', 'pdf', false],
    ['host-to-guest', 'C:\\Users\\x\\a.pdf', true],
    ['host-to-guest', '/home/x.pdf/evil.exe', false],
    ['guest-to-host', 'report.pdf', false]
  ]
  for (const [direction, name, want] of cases) assert.is(fileTransferAllowed(channels, direction, name), want, `${direction} ${name}`)
  assert.is(fileTransferAllowed(g('off', 'both', false, []), 'host-to-guest', 'a.pdf'), false, 'an empty list allows nothing')
  assert.is(fileTransferAllowed(g('off', 'both', false, ['pdf']), 'guest-to-host', 'a.pdf'), true)
  assert.is(fileTransferAllowed(g('off', 'off', false, ['pdf']), 'guest-to-host', 'a.pdf'), false)
})

test.run()
