// Deleting a draft (the console's "delete draft", issue 14): a finalized version never
// published goes, with its chunk references; a published one is refused (retire it), as is
// a non-admin.
import { randomBytes } from 'node:crypto'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { startTestTracker } from '../../helpers/tracker.ts'
import { call } from '../../helpers/tracker-swarm.ts'

test('an admin deletes a finalized draft; a published version, a missing one and a non-admin are refused', async () => {
  const t = await startTestTracker()
  try {
    const admin = t.adminToken
    assert.is((await call(t.url, 'POST', '/api/v1/images', { token: admin, json: { name: 'desk' } })).status, 201)
    const upload = async (publish: boolean): Promise<number> => {
      const res = await fetch(`${t.url}/api/v1/images/desk/versions?publish=${String(publish)}`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/octet-stream' }, body: randomBytes(300_000) })
      assert.is(res.status, 201)
      return ((await res.json()) as { version: number }).version
    }
    const published = await upload(true)
    const draft = await upload(false)
    const versions = async (): Promise<Array<{ version: number, state: string }>> => (await call(t.url, 'GET', '/api/v1/images/desk/versions', { token: admin })).body.versions
    assert.equal((await versions()).map((v) => [v.version, v.state]), [[published, 'published'], [draft, 'draft']])

    assert.is((await call(t.url, 'DELETE', `/api/v1/images/desk/versions/${draft}`, { token: await t.tokenFor('alice') })).status, 403)
    const refused = await call(t.url, 'DELETE', `/api/v1/images/desk/versions/${published}`, { token: admin })
    assert.is(refused.status, 409)
    assert.match(refused.body.error.message, /only a draft can be deleted/)
    assert.is((await call(t.url, 'DELETE', '/api/v1/images/desk/versions/99', { token: admin })).status, 404)

    const deleted = await call(t.url, 'DELETE', `/api/v1/images/desk/versions/${draft}`, { token: admin })
    assert.is(deleted.status, 200)
    assert.equal(deleted.body, { image: 'desk', deleted: draft })
    assert.equal((await versions()).map((v) => v.version), [published])
  } finally {
    await t.stop()
  }
})

test.run()
