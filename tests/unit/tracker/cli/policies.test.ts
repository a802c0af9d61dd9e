import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseApp, policyBody } from '../../../../tracker/cli/policies.ts'

test('--app: name, command, optional icon; commas and "=" in commands', () => {
  const cases: Array<[string, ReturnType<typeof parseApp>]> = [
    ['Word=winword.exe', { name: 'Word', command: 'winword.exe' }],
    ['Word=winword.exe,C:\\icons\\word.ico', { name: 'Word', command: 'winword.exe', icon: 'C:\\icons\\word.ico' }],
    ['Env=set A=B', { name: 'Env', command: 'set A=B' }],
    ['Panel=rundll32 shell32.dll,Control_RunDLL,', { name: 'Panel', command: 'rundll32 shell32.dll,Control_RunDLL' }],
    ['Panel=rundll32 shell32.dll,Control_RunDLL,panel.ico', { name: 'Panel', command: 'rundll32 shell32.dll,Control_RunDLL', icon: 'panel.ico' }]
  ]
  for (const [text, app] of cases) assert.equal(parseApp(text), app, text)
  for (const text of ['winword.exe', '=winword.exe', 'Word=', 'Word=,icon.ico', ' =x']) assert.throws(() => parseApp(text), TypeError, text)
})

test('flags → body: only what was given, units converted', () => {
  const now = Date.UTC(2026, 0, 1)
  assert.equal(policyBody({}, now), {})
  assert.equal(policyBody({
    image: 'win', version: '4', expires: '2027-01-31', 'offline-grace': '36h', 'no-p2p': true, 'origin-rate': '512KiB/s',
    window: '22:00-06:00', memory: '4096', cpus: '2', app: ['A=a.exe'], startup: 'auto', fullscreen: true, priority: '-3'
  }, now), {
    image: 'win',
    pinnedVersion: 4,
    expiresAt: '2027-01-31',
    offlineGraceSeconds: 36 * 3600,
    p2pAllowed: false,
    originRateBytesPerSec: 512 * 1024,
    downloadWindow: '22:00-06:00',
    vmMemoryMb: 4096,
    vmCpus: 2,
    publishedApps: [{ name: 'A', command: 'a.exe' }],
    startup: { mode: 'auto', fullscreen: true },
    priority: -3
  })
  assert.equal(policyBody({ version: 'latest', expires: 'never', 'origin-rate': 'none', window: 'any', p2p: true }, now),
    { channel: 'latest', expiresAt: null, originRateBytesPerSec: null, downloadWindow: null, p2pAllowed: true })
  assert.equal(policyBody({ expires: '90d' }, now), { expiresAt: new Date(now + 90 * 86_400_000).toISOString() })
})

test('flags → body: contradictions and bad numbers are TypeErrors', () => {
  for (const v of [{ p2p: true, 'no-p2p': true }, { memory: 'lots' }, { version: '1.5' }, { startup: 'sometimes' }, { 'offline-grace': 'a week' }, { 'origin-rate': 'fast' }]) {
    assert.throws(() => policyBody(v as Parameters<typeof policyBody>[0]), TypeError, JSON.stringify(v))
  }
})

test.run()
