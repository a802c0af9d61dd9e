// First start of `branchcast tracker`: one admin token, in a file only its owner can read.
import { readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createApiClient } from '../../../protocol/api/client.ts'
import { makeTmpDir } from '../../helpers/tmp-dir.ts'
import { spawnTracker, stopTracker } from '../../helpers/tracker-process.ts'
import type { TrackerProcess } from '../../helpers/tracker-process.ts'

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

test.run()
