import { createHash } from 'node:crypto'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { DELTA_FILE_RE, decodeDeltaIndex, deltaIndexPath, deltaKey, deltaPath, encodeDeltaIndex, verifyDeltaIndex } from '../../../../protocol/delta/delta-index.ts'
import type { DeltaIndexEntry } from '../../../../protocol/delta/delta-index.ts'
import { generateSigningKey, keyId } from '../../../../protocol/signing/signing.ts'
import { throwsCode } from '../../../helpers/rejects.ts'

const sha = (s: string): string => createHash('sha256').update(s).digest('hex')
const key = generateSigningKey()
const other = generateSigningKey()
const MANIFEST = sha('manifest root')
const ENTRIES: DeltaIndexEntry[] = [
  { target: sha('t2'), deltaBytes: 120, bases: [sha('b1')] },
  { target: sha('t1'), deltaBytes: 4000, bases: [sha('b2'), sha('b3'), sha('b1')] },
  { target: sha('t1'), deltaBytes: 3900, bases: [sha('b4')] }
]
const BYTES = encodeDeltaIndex({ manifestDigest: MANIFEST, entries: ENTRIES }, key.privateKey)
const ok = { publicKey: key.publicKey, manifestDigest: MANIFEST }

test('round trip: entries come back sorted, with the signer\'s key id', () => {
  const index = verifyDeltaIndex(BYTES, ok)
  assert.is(index.manifestDigest, MANIFEST)
  assert.is(index.keyId, keyId(key.publicKey))
  const sorted = [...ENTRIES].sort((a, b) => a.target === b.target ? (a.bases.join('') < b.bases.join('') ? -1 : 1) : (a.target < b.target ? -1 : 1))
  assert.equal(index.entries, sorted)
  assert.equal(decodeDeltaIndex(encodeDeltaIndex({ manifestDigest: MANIFEST, entries: [] }, key.privateKey)).entries, [])
})

test('encoding is deterministic whatever the entry order', () => {
  assert.equal(encodeDeltaIndex({ manifestDigest: MANIFEST, entries: [...ENTRIES].reverse() }, key.privateKey), BYTES)
})

test('every bit flip is refused: malformed or tampered', () => {
  for (let i = 0; i < BYTES.byteLength * 8; i++) {
    const x = Uint8Array.from(BYTES)
    x[i >> 3] ^= 1 << (i & 7)
    try {
      verifyDeltaIndex(x, ok)
      assert.unreachable(`flip ${i} accepted`)
    } catch (err) {
      assert.ok(['ERR_DELTA_INDEX_MALFORMED', 'ERR_DELTA_INDEX_TAMPERED'].includes((err as { code: string }).code), `flip ${i}: ${(err as Error).message}`)
    }
  }
})

test('every truncation is refused', () => {
  for (let n = 0; n < BYTES.byteLength; n++) {
    try { verifyDeltaIndex(BYTES.subarray(0, n), ok); assert.unreachable() } catch (err) {
      assert.ok(['ERR_DELTA_INDEX_MALFORMED', 'ERR_DELTA_INDEX_TAMPERED'].includes((err as { code: string }).code), `${n}: ${(err as Error).message}`)
    }
  }
})

test('another key, or an index for another manifest, is tampered', () => {
  throwsCode(() => verifyDeltaIndex(BYTES, { publicKey: other.publicKey, manifestDigest: MANIFEST }), 'ERR_DELTA_INDEX_TAMPERED')
  throwsCode(() => verifyDeltaIndex(BYTES, { publicKey: key.publicKey, manifestDigest: sha('other manifest') }), 'ERR_DELTA_INDEX_TAMPERED')
})

test('an entry count the bytes cannot hold is refused before allocating', () => {
  const x = Uint8Array.from(BYTES)
  x[5 + 16 + 32] = 0x7f // 127 entries in a few hundred bytes
  throwsCode(() => decodeDeltaIndex(x), 'ERR_DELTA_INDEX_MALFORMED')
})

test('caller mistakes are TypeErrors: duplicates, bad ids, bad sizes', () => {
  assert.throws(() => encodeDeltaIndex({ manifestDigest: MANIFEST, entries: [ENTRIES[0], ENTRIES[0]] }, key.privateKey), TypeError)
  assert.throws(() => encodeDeltaIndex({ manifestDigest: MANIFEST, entries: [{ ...ENTRIES[0], bases: [ENTRIES[0].target] }] }, key.privateKey), TypeError)
  assert.throws(() => encodeDeltaIndex({ manifestDigest: MANIFEST, entries: [{ ...ENTRIES[0], deltaBytes: 0 }] }, key.privateKey), TypeError)
  assert.throws(() => encodeDeltaIndex({ manifestDigest: 'x', entries: [] }, key.privateKey), TypeError)
})

test('paths: deltas by target and base list, indexes by manifest digest', () => {
  const p = deltaPath(sha('t1'), [sha('b1'), sha('b2')])
  assert.is(p, `deltas/${sha('t1').slice(0, 2)}/${sha('t1')}-${deltaKey([sha('b1'), sha('b2')])}`)
  assert.ok(DELTA_FILE_RE.test(p.split('/')[2]))
  assert.is.not(deltaKey([sha('b1'), sha('b2')]), deltaKey([sha('b2'), sha('b1')]), 'base order is part of the name: it is the dictionary order')
  assert.is(deltaIndexPath(MANIFEST), `delta-indexes/${MANIFEST.slice(0, 2)}/${MANIFEST}`)
  assert.throws(() => deltaPath('../x', [sha('b')]), TypeError)
  assert.throws(() => deltaIndexPath('../../etc/passwd'), TypeError)
})

test.run()
