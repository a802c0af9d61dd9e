import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createMembershipCheck } from '../../../../tracker/origin/membership.ts'

const test = suite('origin: image membership cache')

function stubStore (members: Set<string>): { store: { imageHasChunk: (i: string, c: string) => Promise<boolean> }, calls: string[] } {
  const calls: string[] = []
  return {
    calls,
    store: { imageHasChunk: async (image, chunk) => { calls.push(`${image} ${chunk}`); return members.has(`${image} ${chunk}`) } }
  }
}

test('positive answers are reused within the TTL; negative ones never', async () => {
  const members = new Set(['a c1'])
  const { store, calls } = stubStore(members)
  let now = 1000
  const check = createMembershipCheck({ store, now: () => now, ttlMs: 100 })
  assert.is(await check('a', 'c1'), true)
  assert.is(await check('a', 'c1'), true)
  assert.is(calls.length, 1)
  assert.is(await check('b', 'c1'), false)
  assert.is(await check('b', 'c1'), false)
  assert.is(calls.length, 3, 'negatives are asked every time')
  members.add('b c1') // published meanwhile: served at once
  assert.is(await check('b', 'c1'), true)
  now += 101
  members.delete('a c1')
  assert.is(await check('a', 'c1'), false, 'expired entries are asked again')
})

test('bounded: the least recently used entry goes first', async () => {
  const members = new Set(['a 1', 'a 2', 'a 3'])
  const { store, calls } = stubStore(members)
  const check = createMembershipCheck({ store, now: () => 0, maxEntries: 2 })
  await check('a', '1'); await check('a', '2'); await check('a', '1'); await check('a', '3')
  calls.length = 0
  await check('a', '1'); await check('a', '3')
  assert.is(calls.length, 0)
  await check('a', '2')
  assert.equal(calls, ['a 2'])
})

test.run()
