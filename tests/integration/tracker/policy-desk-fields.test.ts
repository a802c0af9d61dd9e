// The policy fields VM sessions follow — workspace mode, guest channels (clipboard, file
// transfer with its extension allow-list, printing), idle lock and lock on suspend — over
// real HTTP and the real CLI: defaults, a change that names only some, every bad value
// refused naming its field, and the same values in the caller's /me/workspaces.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFile } from 'node:child_process'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { makeTmpDir } from '../../helpers/tmp-dir.ts'
import { startTestTracker } from '../../helpers/tracker.ts'
import type { TestTracker } from '../../helpers/tracker.ts'

const BIN = fileURLToPath(new URL('../../../bin/branchcast.ts', import.meta.url))
let t: TestTracker

async function admin (method: string, path: string, body?: unknown, token = t.adminToken): Promise<{ status: number, json: any }> {
  const res = await fetch(t.url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  return { status: res.status, json: await res.json() }
}

function cli (args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, BRANCHCAST_TRACKER: t.url, BRANCHCAST_TOKEN: t.adminToken }, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr })
    })
  })
}

test.before(async () => { t = await startTestTracker() })
test.after(async () => { await t.stop() })

test('defaults: persistent, every channel off, no idle lock, lock on suspend', async () => {
  const r = await admin('POST', '/api/v1/policies', { name: 'plain', image: 'img-plain' })
  assert.is(r.status, 201)
  assert.equal([r.json.workspaceMode, r.json.guestChannels, r.json.idleLockMinutes, r.json.lockOnSuspend],
    ['persistent', { clipboard: 'off', fileTransfer: { direction: 'off', extensions: [] }, printing: false }, null, true])
})

test('set, changed one at a time, and seen by the assigned user in /me/workspaces', async () => {
  const channels = { clipboard: 'host-to-guest', fileTransfer: { direction: 'both', extensions: ['pdf', 'tar.gz'] }, printing: true }
  const r = await admin('POST', '/api/v1/policies', { name: 'desk', image: 'img-desk', workspaceMode: 'revertible', guestChannels: channels, idleLockMinutes: 15, lockOnSuspend: false })
  assert.is(r.status, 201, JSON.stringify(r.json))
  assert.equal([r.json.workspaceMode, r.json.guestChannels, r.json.idleLockMinutes, r.json.lockOnSuspend], ['revertible', channels, 15, false])
  const patched = await admin('PATCH', '/api/v1/policies/desk', { idleLockMinutes: null })
  assert.equal([patched.json.idleLockMinutes, patched.json.workspaceMode, patched.json.guestChannels], [null, 'revertible', channels], 'fields not named are kept')
  const alice = await t.tokenFor('alice')
  assert.is((await admin('POST', '/api/v1/assignments', { policy: 'desk', user: 'alice' })).status, 201)
  const ws = (await admin('GET', '/api/v1/me/workspaces', undefined, alice)).json.workspaces
  assert.equal([ws[0].policy.workspaceMode, ws[0].policy.guestChannels, ws[0].policy.lockOnSuspend], ['revertible', channels, false])
})

test('bad values are refused naming the field, and nothing is created', async () => {
  const base = { name: 'bad', image: 'img-bad' }
  const ok = { clipboard: 'off', fileTransfer: { direction: 'off', extensions: [] }, printing: false }
  const cases: Array<[unknown, RegExp]> = [
    [{ ...base, workspaceMode: 'sometimes' }, /^workspaceMode: workspaceMode is persistent or revertible/],
    [{ ...base, guestChannels: { ...ok, clipboard: 'sideways' } }, /^guestChannels\.clipboard: a direction is off, host-to-guest, guest-to-host or both/],
    [{ ...base, guestChannels: { ...ok, clipboard: true } }, /^guestChannels\.clipboard/],
    [{ ...base, guestChannels: { clipboard: 'off', printing: false } }, /^guestChannels\.fileTransfer/],
    [{ ...base, guestChannels: { ...ok, fileTransfer: { direction: 'both', extensions: ['.pdf'] } } }, /^guestChannels\.fileTransfer\.extensions\.0: file extensions are lowercase/],
    [{ ...base, guestChannels: { ...ok, fileTransfer: { direction: 'both', extensions: ['PDF'] } } }, /^guestChannels\.fileTransfer\.extensions\.0/],
    [{ ...base, guestChannels: { ...ok, fileTransfer: { direction: 'both', extensions: ['../x'] } } }, /^guestChannels\.fileTransfer\.extensions\.0/],
    [{ ...base, guestChannels: { ...ok, fileTransfer: { direction: 'both', extensions: ['pdf', 'pdf'] } } }, /^guestChannels\.fileTransfer\.extensions: file extensions must be unique/],
    [{ ...base, guestChannels: { ...ok, fileTransfer: { direction: 'both', extensions: Array.from({ length: 65 }, (_, i) => `x${i}`) } } }, /^guestChannels\.fileTransfer\.extensions: at most 64/],
    [{ ...base, guestChannels: { ...ok, usb: true } }, /^guestChannels/],
    [{ ...base, idleLockMinutes: 0 }, /^idleLockMinutes/],
    [{ ...base, idleLockMinutes: 2.5 }, /^idleLockMinutes/],
    [{ ...base, idleLockMinutes: 24 * 60 + 1 }, /^idleLockMinutes/],
    [{ ...base, lockOnSuspend: 'yes' }, /^lockOnSuspend/],
    [{ ...base, publishedApps: [{ name: 'a', command: 'c', icon: 'i'.repeat(16 * 1024 + 1) }] }, /^publishedApps\.0\.icon/],
    [{ ...base, publishedApps: Array.from({ length: 9 }, (_, i) => ({ name: `a${i}`, command: 'c', icon: 'i'.repeat(16 * 1024) })) }, /^publishedApps: the icons of a policy's applications are at most 131072 characters together/]
  ]
  for (const [body, field] of cases) {
    const r = await admin('POST', '/api/v1/policies', body)
    assert.is(r.status, 400, JSON.stringify(body).slice(0, 120))
    assert.match(r.json.error.message, field, `${JSON.stringify(body).slice(0, 120)} → ${r.json.error.message as string}`)
  }
  assert.is((await admin('GET', '/api/v1/policies/bad')).status, 404)
})

test('the policies CLI sets them, keeps the channels it is not told about, and shows them', async () => {
  const created = await cli(['policies', 'create', 'cli-desk', '--image', 'img-cli', '--mode', 'revertible', '--clipboard', 'both', '--file-transfer', 'guest-to-host', '--extensions', '.PDF, docx', '--idle-lock', '10', '--json'])
  assert.is(created.code, 0, created.stderr)
  const p = JSON.parse(created.stdout)
  assert.equal([p.workspaceMode, p.guestChannels, p.idleLockMinutes, p.lockOnSuspend],
    ['revertible', { clipboard: 'both', fileTransfer: { direction: 'guest-to-host', extensions: ['pdf', 'docx'] }, printing: false }, 10, true])
  const updated = await cli(['policies', 'update', 'cli-desk', '--printing', '--no-lock-on-suspend', '--idle-lock', 'never'])
  assert.is(updated.code, 0, updated.stderr)
  assert.match(updated.stdout, /workspace +revertible/)
  assert.match(updated.stdout, /channels +clipboard both, file transfer guest-to-host \(\.pdf \.docx\), printing on/)
  assert.match(updated.stdout, /locks +no idle lock, not on host suspend/)
  const bad = await cli(['policies', 'update', 'cli-desk', '--clipboard', 'sideways'])
  assert.is(bad.code, 1)
  assert.match(bad.stderr, /--clipboard: off, host-to-guest, guest-to-host, both/)
  assert.match((await cli(['policies', 'update', 'cli-desk', '--printing', '--no-printing'])).stderr, /contradict/)
})

test('--app-icon turns a PNG or SVG file into the application\'s icon; other files are refused', async () => {
  const dir = await makeTmpDir('branchcast-icons-')
  try {
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(100, 1)])
    await writeFile(join(dir, 'calc.png'), png)
    await writeFile(join(dir, 'notes.svg'), '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>')
    await writeFile(join(dir, 'evil.txt'), '#!/bin/sh\nrm -rf ~\n')
    const created = await cli(['policies', 'create', 'icons', '--image', 'img-icons', '--app', 'Calc=calc.exe', '--app', 'Notes=notes.exe', '--app-icon', `Calc=${join(dir, 'calc.png')}`])
    assert.is(created.code, 0, created.stderr)
    assert.match(created.stdout, /app +Calc = calc\.exe \(icon PNG, 108 bytes\)/)
    const updated = await cli(['policies', 'update', 'icons', '--app-icon', `Notes=${join(dir, 'notes.svg')}`, '--json'])
    assert.is(updated.code, 0, updated.stderr)
    const apps = JSON.parse(updated.stdout).publishedApps
    assert.is(apps[0].icon, `data:image/png;base64,${png.toString('base64')}`, 'the other app\'s icon is kept')
    assert.match(apps[1].icon, /^data:image\/svg\+xml;base64,/)
    assert.match((await cli(['policies', 'update', 'icons', '--app-icon', `Notes=${join(dir, 'evil.txt')}`])).stderr, /neither a PNG nor an SVG/)
    assert.match((await cli(['policies', 'update', 'icons', '--app-icon', `Nope=${join(dir, 'calc.png')}`])).stderr, /no application named "Nope"/)
    assert.match((await cli(['policies', 'update', 'icons', '--app-icon', `Notes=${join(dir, 'missing.png')}`])).stderr, /cannot read/)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
