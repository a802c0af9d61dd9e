// The signed policy cache: what the tracker signed is kept and verified on every read;
// changed bytes, another key and an older document are refused, and nothing is lost.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { createPublicKey } from 'node:crypto'
import { WORKSPACE_DOCUMENT_CONTEXT, generateSigningKey, signDocument } from '../../../../protocol/index.ts'
import type { WorkspaceDocument } from '../../../../protocol/index.ts'
import { PolicyCache, policyCachePath } from '../../../../node/workspaces/index.ts'
import { makeTmpDir } from '../../../helpers/tmp-dir.ts'
import { rejects } from '../../../helpers/rejects.ts'

const key = generateSigningKey()
const other = generateSigningKey()
const doc = (issuedAtMs: number, user = 'alice'): WorkspaceDocument => ({ user, issuedAtMs, serverTimeMs: issuedAtMs, workspaces: [] })
const signed = (d: WorkspaceDocument, k = key.privateKey): unknown => signDocument(k, WORKSPACE_DOCUMENT_CONTEXT, JSON.stringify(d))

async function withCache (fn: (dir: string, cache: PolicyCache) => Promise<void>): Promise<void> {
  const dir = await makeTmpDir('branchcast-policy-cache-')
  try { await fn(dir, new PolicyCache(dir, createPublicKey(key.privateKey))) } finally { await rm(dir, { recursive: true, force: true }) }
}

test('a document accepted is stored and verifies again on load', async () => {
  await withCache(async (dir, cache) => {
    assert.is((await cache.load()).state, 'none')
    await cache.accept(signed(doc(1000)))
    const again = new PolicyCache(dir, createPublicKey(key.privateKey))
    const loaded = await again.load()
    assert.is(loaded.state, 'verified')
    assert.is(loaded.state === 'verified' && loaded.document.issuedAtMs, 1000)
  })
})

const tampers: Array<[string, (file: { signed: { payload: string, signature: string, keyId: string } }) => unknown]> = [
  ['payload changed', (f) => ({ signed: { ...f.signed, payload: f.signed.payload.replace('"alice"', '"mallory"') } })],
  ['signature flipped', (f) => ({ signed: { ...f.signed, signature: Buffer.from(Buffer.from(f.signed.signature, 'base64').map((b, i) => i === 0 ? b ^ 1 : b)).toString('base64') } })],
  ['signed by another key', () => ({ signed: signed(doc(5000), other.privateKey) })],
  ['another key claiming the pinned key id', (f) => ({ signed: { ...(signed(doc(5000), other.privateKey) as object), keyId: f.signed.keyId } })],
  ['not JSON', () => '{"signed": '],
  ['no signature', (f) => ({ signed: { payload: f.signed.payload } })]
]
for (const [name, tamper] of tampers) {
  test(`a cache with ${name} is refused with a clear reason, and the file is left as it was`, async () => {
    await withCache(async (dir, cache) => {
      await cache.accept(signed(doc(1000)))
      const file = JSON.parse(await readFile(policyCachePath(dir), 'utf8'))
      const bad = tamper(file)
      await writeFile(policyCachePath(dir), typeof bad === 'string' ? bad : JSON.stringify(bad))
      const before = await readFile(policyCachePath(dir), 'utf8')
      const loaded = await new PolicyCache(dir, createPublicKey(key.privateKey)).load()
      assert.is(loaded.state, 'refused')
      assert.match(loaded.state === 'refused' ? loaded.message : '', /ERR_POLICY_CACHE_TAMPERED|ERR_POLICY_DOCUMENT/)
      assert.is(await readFile(policyCachePath(dir), 'utf8'), before, 'nothing deleted')
    })
  })
}

test('an older document never replaces a newer one (ERR_POLICY_ROLLBACK), nor one below the floor', async () => {
  await withCache(async (_dir, cache) => {
    await cache.accept(signed(doc(2000)))
    await rejects(cache.accept(signed(doc(1999))), { code: 'ERR_POLICY_ROLLBACK' })
    assert.is(cache.current.state === 'verified' && cache.current.document.issuedAtMs, 2000)
    await cache.accept(signed(doc(2000)))
    await rejects(cache.accept(signed(doc(2500)), { floorMs: 3000 }), { code: 'ERR_POLICY_ROLLBACK' })
  })
})

test('an answer from the tracker signed by another key is refused and the cache kept', async () => {
  await withCache(async (_dir, cache) => {
    await cache.accept(signed(doc(1000)))
    await rejects(cache.accept(signed(doc(9000), other.privateKey)), { code: 'ERR_POLICY_CACHE_TAMPERED' })
    await rejects(cache.accept({ payload: 'x' }), { code: 'ERR_POLICY_DOCUMENT' })
    assert.is(cache.current.state === 'verified' && cache.current.document.issuedAtMs, 1000)
  })
})

test.run()
