// First start of `branchcast tracker`: one admin token, in a file only its owner can read.
import { readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createApiClient } from '../../../protocol/api/client.ts'
import { Browser, form } from '../../helpers/browser.ts'
import { makeTmpDir } from '../../helpers/tmp-dir.ts'
import { spawnTracker, stopTracker } from '../../helpers/tracker-process.ts'
import type { TrackerProcess } from '../../helpers/tracker-process.ts'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

test('the first start mints an admin token into a 0600 file; later starts do not', async () => {
  const dataDir = await makeTmpDir('branchcast-bootstrap-')
  let t: TrackerProcess | undefined
  try {
    t = await spawnTracker(dataDir)
    const [, path] = await t.waitFor(/admin API token was written to (\S+)/)
    assert.is(path, join(dataDir, 'initial-admin-token'))
    assert.is((await stat(path!)).mode & 0o777, 0o600)
    const token = (await readFile(path!, 'utf8')).trim()
    assert.not.ok(t.stdout().includes(token), 'the token itself is never printed')
    const me = await createApiClient({ baseUrl: t.url, token }).json<{ user: string, admin: boolean }>('GET', '/api/v1/me')
    assert.equal([me.user, me.admin], ['admin', true])
    await stopTracker(t)

    t = await spawnTracker(dataDir)
    assert.not.match(t.stdout(), /first start/)
    assert.is((await readFile(path!, 'utf8')).trim(), token, 'the file is left as it was')
  } finally {
    await stopTracker(t)
    await rm(dataDir, { recursive: true, force: true })
  }
})

test('npm start on a fresh data dir prints the console URL and the password file; that password logs in at /console/login', async () => {
  const dataDir = await makeTmpDir('branchcast-npm-start-')
  const child = spawn('npm', ['start', '--silent', '--', '--data', dataDir, '--port', '0', '--log-level', 'warn'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let out = ''
  child.stdout!.on('data', (b: Buffer) => { out += b.toString() })
  try {
    const deadline = Date.now() + 30_000
    while (!/admin API token/.test(out) && Date.now() < deadline && child.exitCode === null) await new Promise((resolve) => child.stdout!.once('data', resolve))
    const url = /console: (http:\/\/\S+)\/console /.exec(out)?.[1]
    const file = /as "admin" with the password in (\S+) \(mode 0600\)/.exec(out)?.[1]
    assert.ok(url !== undefined && file !== undefined, out)
    assert.is(file, join(dataDir, 'initial-admin-password'))
    assert.is((await stat(file!)).mode & 0o777, 0o600)
    const password = (await readFile(file!, 'utf8')).trim()
    assert.not.ok(out.includes(password), 'the password itself is never printed')
    const browser = new Browser()
    const login = await browser.go(`${url!}/console/login`)
    const f = form(login)
    const landed = await browser.go(f.action, { form: { ...f.fields, user: 'admin', password } })
    assert.match(landed.html, /Signed in as <strong>admin<\/strong>/)
  } finally {
    try { process.kill(-child.pid!, 'SIGTERM') } catch {}
    await new Promise((resolve) => { if (child.exitCode !== null || child.signalCode !== null) resolve(undefined); else child.once('exit', resolve) })
    await rm(dataDir, { recursive: true, force: true })
  }
})

test.run()
