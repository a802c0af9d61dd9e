/**
 * nginx, configured by the text the tracker renders, serves delta chunks and delta indexes
 * as plain files beside the chunks, under the same signed, expiring links — and nothing
 * else that sits beside them.
 */
import { randomBytes } from 'node:crypto'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { applyDelta, chunkId, deltaIndexPath, deltaPath, encodeDelta, encodeDeltaIndex, generateSigningKey, verifyDeltaIndex } from '../../../protocol/index.ts'
import { writeStoreFile } from '../../../tracker/repository/delta-publish.ts'
import { loadTrackerKeys } from '../../../tracker/keys.ts'
import { signOriginLink } from '../../../tracker/origin/index.ts'
import { startNginxOrigin } from '../../helpers/nginx.ts'
import { makeTmpDir } from '../../helpers/tmp-dir.ts'

test('nginx serves a delta and a delta index under a signed link; odd names beside them are 404', async () => {
  const dataDir = await makeTmpDir('branchcast-delta-nginx-')
  const keys = await loadTrackerKeys(dataDir)
  const nginx = await startNginxOrigin({ dataDir, secret: keys.originLinkSecret })
  try {
    const base = randomBytes(50_000)
    const target = Buffer.from(base)
    target.write('changed', 1234)
    const baseId = chunkId(base)
    const targetId = chunkId(target)
    const delta = encodeDelta(target, [{ id: baseId, bytes: base }], { level: 3 })
    const signing = generateSigningKey()
    const manifestDigest = chunkId(randomBytes(8))
    const index = encodeDeltaIndex({ manifestDigest, entries: [{ target: targetId, deltaBytes: delta.byteLength, bases: [baseId] }] }, signing.privateKey)
    const store = join(dataDir, 'store')
    await writeStoreFile(store, deltaPath(targetId, [baseId]), delta)
    await writeStoreFile(store, deltaIndexPath(manifestDigest), index)
    await writeStoreFile(store, `deltas/${targetId.slice(0, 2)}/${targetId}-0123456789abcdef.x1.tmp`, delta)

    const q = new URLSearchParams({ ...signOriginLink({ secret: keys.originLinkSecret, clientId: 'node-a', image: 'img', expiresAtSec: Math.floor(Date.now() / 1000) + 300 }) }).toString()
    const get = async (path: string, query = q): Promise<Response> => await fetch(`${nginx.url}/${path}?${query}`)

    const idx = await get(deltaIndexPath(manifestDigest))
    assert.is(idx.status, 200)
    const entries = verifyDeltaIndex(new Uint8Array(await idx.arrayBuffer()), { publicKey: signing.publicKey, manifestDigest }).entries
    const d = await get(deltaPath(entries[0].target, entries[0].bases))
    assert.is(d.status, 200)
    const rebuilt = applyDelta(new Uint8Array(await d.arrayBuffer()), (id) => id === baseId ? base : undefined, { target: targetId, bases: [baseId] })
    assert.ok(Buffer.from(rebuilt).equals(target))

    assert.is((await get(deltaPath(targetId, [baseId]), 'e=1')).status, 403, 'unsigned')
    assert.is((await get(`deltas/${targetId.slice(0, 2)}/${targetId}-0123456789abcdef.x1.tmp`)).status, 404, 'a temporary file')
    assert.is((await get(`deltas/00/${targetId}-0123456789abcdef`)).status, 404, 'the wrong fan-out directory')
  } finally {
    await nginx.stop()
    await rm(dataDir, { recursive: true, force: true })
  }
})

test.run()
