// The embedded provider's users.json: first start, concurrent first starts, password checks.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { hashPassword, verifyPassword } from '../../../../tracker/oidc/index.ts'
import { openDirectory } from '../../../../tracker/oidc/users.ts'
import { makeTmpDir } from '../../../helpers/tmp-dir.ts'

test('two trackers starting together on one data directory agree on one admin and one password', async () => {
  const dir = await makeTmpDir('branchcast-users-')
  try {
    const [a, b] = await Promise.all([openDirectory(dir), openDirectory(dir)])
    assert.is([a.initialPasswordFile, b.initialPasswordFile].filter((f) => f !== undefined).length, 1, 'one of them made it')
    const password = (await readFile(join(dir, 'initial-admin-password'), 'utf8')).trim()
    assert.ok(await a.directory.check('admin', password))
    assert.ok(await b.directory.check('admin', password))
    assert.equal((await readdir(dir)).sort(), ['initial-admin-password', 'users.json'], 'no temp files left')
    assert.is((await stat(join(dir, 'users.json'))).mode & 0o777, 0o600)
    const again = await openDirectory(dir)
    assert.is(again.initialPasswordFile, undefined, 'a later start makes nothing')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('check: right password only, unknown users and oversized fields refused', async () => {
  const dir = await makeTmpDir('branchcast-users-')
  try {
    await writeFile(join(dir, 'users.json'), JSON.stringify({ users: [{ user: 'ann', passwordHash: await hashPassword('s3cret', 1024), groups: ['hq'] }] }))
    const { directory, initialPasswordFile } = await openDirectory(dir)
    assert.is(initialPasswordFile, undefined)
    assert.equal((await directory.check('ann', 's3cret'))?.role, 'user')
    assert.is(await directory.check('ann', 'S3cret'), undefined)
    assert.is(await directory.check('bob', 's3cret'), undefined)
    assert.is(await directory.check('ann', 'x'.repeat(2000)), undefined)
    assert.ok(await verifyPassword('s3cret', await hashPassword('s3cret', 1024)))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('a malformed users.json names the field', async () => {
  const dir = await makeTmpDir('branchcast-users-')
  try {
    await writeFile(join(dir, 'users.json'), JSON.stringify({ users: [{ user: 'ann', passwordHash: 'plaintext' }] }))
    let message = ''
    try { await openDirectory(dir) } catch (err) { message = (err as Error).message }
    assert.match(message, /users\.0\.passwordHash/)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()
