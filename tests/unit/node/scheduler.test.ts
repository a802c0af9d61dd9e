import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Scheduler } from '../../../node/scheduler.ts'
import type { Assignment, SchedulerInit, Source } from '../../../node/scheduler.ts'
import { MAX_BUSY_PER_CHUNK } from '../../../node/constants.ts'

const L = 1000
/** End game off unless a test is about it, so each test sees one rule at a time. */
const mk = (init: SchedulerInit): Scheduler => new Scheduler({ endGameChunks: 0, ...init })
const lengths = (n: number): number[] => Array.from({ length: n }, () => L)
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i)
function bits (n: number, holds: (i: number) => boolean): Uint8Array {
  const b = new Uint8Array(Math.ceil(n / 8))
  for (let i = 0; i < n; i++) if (holds(i)) b[i >> 3]! |= 0x80 >> (i & 7)
  return b
}
const peer = (peerId: string): Source => ({ kind: 'peer', peerId })
const flat = (as: Assignment[]): Array<[string, number]> =>
  as.flatMap((a) => a.indexes.map((i): [string, number] => [a.source.kind === 'peer' ? a.source.peerId : `origin:${a.source.reason}`, i]))

test('alone in the swarm without a share: everything from the origin, reason no-peer', () => {
  const s = mk({ lengths: lengths(4), needed: range(4), nowMs: 0, maxInflightOrigin: 8 })
  assert.equal(flat(s.next(0)), [['origin:no-peer', 0], ['origin:no-peer', 1], ['origin:no-peer', 2], ['origin:no-peer', 3]])
})

test('policy forbids peers: origin with reason policy even when peers hold the chunks', () => {
  const s = mk({ lengths: lengths(2), needed: range(2), nowMs: 0, p2pAllowed: false })
  s.setPeerHave('A', bits(2, () => true), 0)
  assert.equal(flat(s.next(0)), [['origin:policy', 0], ['origin:policy', 1]])
})

test('only the assigned share goes to the origin; the rest waits for peers', () => {
  const s = mk({ lengths: lengths(6), needed: range(6), nowMs: 0, originShare: { index: 1, of: 3 } })
  s.setPeerHave('A', bits(6, () => false), 0)
  assert.equal(flat(s.next(0)).sort(), [['origin:assigned', 1], ['origin:assigned', 4]])
})

/**
 * Where a chunk goes when no free holder takes it, one row per case of the rule: a chunk a
 * peer holds waits (full pipelines are no reason for the WAN); a chunk nobody holds is
 * `no-peer` for the only node of its site still pulling, `assigned` in its share when
 * others pull too, and waits otherwise.
 */
const WHERE: Array<{ name: string, share?: { index: number, of: number }, holds: Record<string, (i: number) => boolean>, expect: Array<[string, number]> }> = [
  { name: 'alone in its site (share 0 of 1): no-peer, not assigned', share: { index: 0, of: 1 }, holds: {}, expect: [['origin:no-peer', 0], ['origin:no-peer', 1], ['origin:no-peer', 2], ['origin:no-peer', 3]] },
  { name: 'no share at all and no peers: no-peer', holds: {}, expect: [['origin:no-peer', 0], ['origin:no-peer', 1], ['origin:no-peer', 2], ['origin:no-peer', 3]] },
  { name: 'joiner with a complete seeder: every chunk from the seeder, none from the origin', share: { index: 0, of: 1 }, holds: { S: () => true }, expect: [['S', 0], ['S', 1], ['S', 2], ['S', 3]] },
  { name: 'joiner whose holders lack chunk 3: only that one from the origin, no-peer', share: { index: 0, of: 1 }, holds: { S: (i) => i !== 3 }, expect: [['S', 0], ['S', 1], ['S', 2], ['origin:no-peer', 3]] },
  { name: 'others still pulling: nobody\'s chunks in this share are assigned, the rest wait', share: { index: 1, of: 2 }, holds: { P: (i) => i === 0 }, expect: [['P', 0], ['origin:assigned', 1], ['origin:assigned', 3]] }
]
for (const row of WHERE) {
  test(`where a chunk goes: ${row.name}`, () => {
    const s = mk({ lengths: lengths(4), needed: range(4), nowMs: 0, originShare: row.share, maxInflightOrigin: 8 })
    for (const [id, holds] of Object.entries(row.holds)) s.setPeerHave(id, bits(4, holds), 0)
    assert.equal(flat(s.next(0)).sort((a, b) => a[1] - b[1]), row.expect)
  })
}

test('a chunk a peer holds waits for a free slot on it: a full pipeline never sends the rest to the origin', () => {
  const s = mk({ lengths: lengths(40), needed: range(40), nowMs: 0, originShare: { index: 0, of: 1 }, maxInflightPerPeer: 4, stallMs: 1000 })
  s.setPeerHave('S', bits(40, () => true), 0)
  assert.equal(flat(s.next(0)).map(([src]) => src), ['S', 'S', 'S', 'S'])
  assert.equal(flat(s.next(10_000)), [], 'no origin request even after the stall time: the holder is working')
  let t = 10_000
  while (!s.done) {
    const got = flat(s.next(t))
    for (const [src, i] of got) { assert.is(src, 'S'); s.received(i, peer('S'), t + 5) }
    if (got.length === 0) for (const i of range(40)) s.received(i, peer('S'), t + 5)
    t += 10
  }
  assert.is(s.stats.bytesFromOrigin, 0)
})

test('ties in rarity: the first puller goes up from the start, the others down from the end of their slice', () => {
  const order = (index: number, of: number): number[] => flat(mk({ lengths: lengths(9), needed: range(9), nowMs: 0, originShare: { index, of }, maxInflightOrigin: 2 }).next(0)).map(([, i]) => i)
  assert.equal(order(0, 1), [0, 1], 'alone: from the start')
  assert.equal(order(0, 2), [0, 2])
  assert.equal(order(1, 2).sort(), [5, 7], 'the newcomer works from the other end')
  assert.equal(order(1, 3).sort(), [1, 4], 'a middle member from the end of its third')
})

/**
 * `peers-slow` by rate. A simulated pull of 1000 chunks of 100 kB (not over after 40 s): the one peer delivers at
 * `peerRate` (after `warmRate` for the first 10 s, to test leaving the state), the origin at
 * 1 MB/s (expected from the start when `expected`). The question per row: after 30 s more,
 * is the origin taking chunks the peer holds?
 */
const SLOW: Array<{ name: string, warmRate: number, peerRate: number, expected: boolean, slow: boolean }> = [
  { name: 'peer 10× slower than the expected origin: slow', warmRate: 100_000, peerRate: 100_000, expected: true, slow: true },
  { name: 'peer 1.7× slower, never judged slow: stays not slow (below the enter ratio)', warmRate: 600_000, peerRate: 600_000, expected: true, slow: false },
  { name: 'peer 1.7× slower after being slow: stays slow (hysteresis)', warmRate: 100_000, peerRate: 600_000, expected: true, slow: true },
  { name: 'peer back within 1.25× after being slow: not slow any more', warmRate: 100_000, peerRate: 900_000, expected: true, slow: false },
  { name: 'no origin rate known and the origin never used: no judgement, peers only', warmRate: 100_000, peerRate: 100_000, expected: false, slow: false }
]
function simulateRates (row: typeof SLOW[number]): { s: Scheduler, originWhileSlow: number } {
  const n = 1000
  const len = 100_000
  const s = mk({ lengths: Array.from({ length: n }, () => len), needed: range(n), nowMs: 0, originShare: { index: 0, of: 1 }, maxInflightPerPeer: 4, requestTimeoutMs: 60_000, originRateBytesPerSec: row.expected ? 1_000_000 : undefined })
  s.setPeerHave('A', bits(n, () => true), 0)
  const out = { peer: [] as number[], origin: [] as number[] }
  const budget = { peer: 0, origin: 0 }
  let originWhileSlow = 0
  for (let t = 0; t <= 40_000 && !s.done; t += 10) {
    budget.peer += (t < 10_000 ? row.warmRate : row.peerRate) / 100
    budget.origin += 1_000_000 / 100
    while (out.peer.length > 0 && budget.peer >= len) { budget.peer -= len; s.received(out.peer.shift()!, peer('A'), t) }
    while (out.origin.length > 0 && budget.origin >= len) { budget.origin -= len; s.received(out.origin.shift()!, { kind: 'origin', reason: 'peers-slow' }, t, 10) }
    if (out.peer.length === 0) budget.peer = Math.min(budget.peer, len)
    if (out.origin.length === 0) budget.origin = Math.min(budget.origin, len)
    for (const a of s.next(t)) {
      if (a.source.kind === 'peer') out.peer.push(...a.indexes)
      else { assert.is(a.source.reason, 'peers-slow'); out.origin.push(...a.indexes); if (t >= 10_000) originWhileSlow += a.indexes.length }
    }
  }
  return { s, originWhileSlow }
}
for (const row of SLOW) {
  test(`peers-slow by rate: ${row.name}`, () => {
    const { s, originWhileSlow } = simulateRates(row)
    assert.is(s.peersSlow, row.slow)
    if (row.slow) {
      const e = s.stats.peersSlow!
      assert.ok(e.peerRateBytesPerSec > 0 && e.originRateBytesPerSec > 0, 'the numbers behind the judgement')
      assert.ok(e.projectedPeersMs > 2 * e.projectedOriginMs, `projected ${e.projectedPeersMs} ms by peers vs ${e.projectedOriginMs} ms by the origin`)
      assert.ok(originWhileSlow > 0)
    }
    if (!row.expected) assert.is(s.stats.bytesFromOrigin, 0)
  })
}

test('peers-slow by rate does not flap: one entry for a steadily slow peer', () => {
  const { s } = simulateRates(SLOW[0]!)
  assert.is(s.stats.peersSlow!.entered, 1)
})

test('rarest first, spread over the least loaded holder', () => {
  const s = mk({ lengths: lengths(3), needed: range(3), nowMs: 0, originShare: { index: 0, of: 1000 } })
  s.setPeerHave('A', bits(3, () => true), 0)
  s.setPeerHave('B', bits(3, (i) => i !== 2), 0)
  const got = flat(s.next(0))
  // chunk 2 is the rarest (one holder), so it is scheduled first, on A.
  assert.equal(got[0], ['A', 2])
  assert.is(got.length, 3)
  assert.ok(got.some(([p]) => p === 'B'), 'load spread to B')
})

test('pipelining is capped per peer', () => {
  const s = mk({ lengths: lengths(50), needed: range(50), nowMs: 0, maxInflightPerPeer: 4, originShare: { index: 0, of: 1000 } })
  s.setPeerHave('A', bits(50, () => true), 0)
  const first = flat(s.next(0))
  assert.is(first.length, 4)
  assert.is(flat(s.next(0)).length, 0, 'nothing more until a slot frees')
  s.received(first[0]![1], peer('A'), 1)
  assert.is(flat(s.next(1)).length, 1, 'one slot freed, one more request')
})

test('a corrupt piece goes to another holder, then to the origin with reason bad-piece', () => {
  const s = mk({ lengths: lengths(1), needed: [0], nowMs: 0, originShare: { index: 1, of: 2 } })
  s.setPeerHave('A', bits(1, () => true), 0)
  s.setPeerHave('B', bits(1, () => true), 0)
  const [[first]] = [flat(s.next(0))]
  s.failed(0, peer(first![0]), 'corrupt', 1)
  const [[second]] = [flat(s.next(1))]
  assert.is.not(second![0], first![0])
  s.failed(0, peer(second![0]), 'corrupt', 2)
  assert.equal(flat(s.next(2)), [['origin:bad-piece', 0]])
  assert.ok(s.received(0, { kind: 'origin', reason: 'bad-piece' }, 3))
  assert.is(s.stats.originBytesByReason['bad-piece'], L)
  assert.ok(s.done)
})

test('a request past its deadline is reported; a sole holder that stays slow sends the chunk to the origin (peers-slow)', () => {
  const s = mk({ lengths: lengths(1), needed: [0], nowMs: 0, requestTimeoutMs: 100, originShare: { index: 1, of: 2 } })
  s.setPeerHave('A', bits(1, () => true), 0)
  assert.equal(flat(s.next(0)), [['A', 0]])
  assert.equal(s.expired(50), [])
  assert.is(s.nextWakeMs(0), 100)
  s.sent(0, peer('A'), 40) // it waited in a queue: the deadline starts when it goes out
  assert.equal(s.expired(100), [])
  assert.equal(s.expired(140), [{ index: 0, source: peer('A') }])
  let t = 140
  for (let attempt = 1; attempt < 3; attempt++) {
    s.failed(0, peer('A'), 'timeout', t)
    assert.equal(flat(s.next(t)), [], 'the slow peer rests a moment')
    t += 1000
    assert.equal(flat(s.next(t)), [['A', 0]], `retried on the same holder (attempt ${attempt + 1})`)
  }
  s.failed(0, peer('A'), 'timeout', t)
  assert.equal(flat(s.next(t)), [['origin:peers-slow', 0]])
  assert.is(s.stats.failures.timeout, 3)
})

test('with the only holder full, a chunk it failed still reaches the origin from behind the chunks that wait', () => {
  const n = 200
  const s = mk({ lengths: lengths(n), needed: range(n), nowMs: 0, maxInflightPerPeer: 4 })
  s.setPeerHave('A', bits(n, () => true), 0)
  assert.equal(flat(s.next(0)), [['A', 0], ['A', 1], ['A', 2], ['A', 3]])
  s.failed(3, peer('A'), 'corrupt', 1) // its slot goes to the next chunk; chunk 3 is now last in line for A
  assert.equal(flat(s.next(1)), [['A', 4], ['origin:bad-piece', 3]])
  // full again, and 195 chunks wait for it: nothing else is handed out, however often asked
  for (let t = 2; t < 5; t++) assert.equal(flat(s.next(t)), [])
  assert.ok(s.received(0, peer('A'), 5))
  assert.equal(flat(s.next(5)), [['A', 5]])
})

test('a busy peer is asked again after a pause, with no mark against it', () => {
  const s = mk({ lengths: lengths(1), needed: [0], nowMs: 0, originShare: { index: 1, of: 2 } })
  s.setPeerHave('A', bits(1, () => true), 0)
  assert.equal(flat(s.next(0)), [['A', 0]])
  s.failed(0, peer('A'), 'busy', 1)
  assert.equal(flat(s.next(2)), [])
  assert.ok(s.nextWakeMs(2)! > 2)
  assert.equal(flat(s.next(10_000)), [['A', 0]])
})

test('a sole holder busy every time it is asked sends the chunk to the origin (peers-slow)', () => {
  const s = mk({ lengths: lengths(1), needed: [0], nowMs: 0, originShare: { index: 1, of: 2 } })
  s.setPeerHave('A', bits(1, () => true), 0)
  let t = 0
  for (let n = 1; n < MAX_BUSY_PER_CHUNK; n++) {
    assert.equal(flat(s.next(t)), [['A', 0]])
    s.failed(0, peer('A'), 'busy', t)
    t += 1000
  }
  assert.equal(flat(s.next(t)), [['A', 0]])
  s.failed(0, peer('A'), 'busy', t)
  assert.equal(flat(s.next(t + 1000)), [['origin:peers-slow', 0]])
})

test('nobody holds a chunk and the swarm stalls: origin with reason waited, not before', () => {
  const s = mk({ lengths: lengths(2), needed: range(2), nowMs: 0, stallMs: 1000, originShare: { index: 0, of: 2 } })
  s.setPeerHave('A', bits(2, () => false), 0)
  assert.equal(flat(s.next(0)), [['origin:assigned', 0]])
  assert.equal(flat(s.next(999)), [])
  assert.is(s.nextWakeMs(999), 1000)
  assert.equal(flat(s.next(1000)), [['origin:waited', 1]])
})

test('progress in the swarm defers the stall', () => {
  const s = mk({ lengths: lengths(3), needed: range(3), nowMs: 0, stallMs: 1000, originShare: { index: 0, of: 3 } })
  s.setPeerHave('A', bits(3, () => false), 0)
  s.next(0)
  s.setPeerHave('A', bits(3, (i) => i === 1), 900) // A got chunk 1: the swarm moves
  assert.equal(flat(s.next(1500)), [['A', 1]])
  assert.equal(flat(s.next(1899)), [])
  assert.equal(flat(s.next(1900)), [['origin:waited', 2]])
})

test('a departed peer\'s requests fail over', () => {
  const s = mk({ lengths: lengths(1), needed: [0], nowMs: 0, originShare: { index: 1, of: 2 } })
  s.setPeerHave('A', bits(1, () => true), 0)
  s.setPeerHave('B', bits(1, () => true), 0)
  const [[first]] = [flat(s.next(0))]
  s.removePeer(first![0], 1)
  const got = flat(s.next(1))
  assert.is(got.length, 1)
  assert.is.not(got[0]![0], first![0])
})

test('end game asks a second holder; the first copy wins and the second is a duplicate', () => {
  const s = new Scheduler({ lengths: lengths(1), needed: [0], nowMs: 0, endGameChunks: 4, originShare: { index: 1, of: 2 } })
  s.setPeerHave('A', bits(1, () => true), 0)
  s.setPeerHave('B', bits(1, () => true), 0)
  const got = flat(s.next(0))
  assert.is(got.length, 2, 'the same chunk asked of both holders')
  assert.is(new Set(got.map(([p]) => p)).size, 2)
  assert.ok(s.received(0, peer(got[0]![0]), 5))
  assert.not.ok(s.received(0, peer(got[1]![0]), 6))
  assert.is(s.stats.duplicates, 1)
  assert.is(s.stats.bytesFromPeers, L)
})

test('origin errors halve its allowance and back off; successes restore it', () => {
  const s = new Scheduler({ lengths: lengths(64), needed: range(64), nowMs: 0, maxInflightOrigin: 8 })
  const first = flat(s.next(0))
  assert.is(first.length, 8)
  s.failed(first[0]![1], { kind: 'origin', reason: 'no-peer' }, 'error', 10)
  assert.is(s.originHealth.allowed, 4)
  assert.ok(s.originHealth.blockedUntilMs > 10)
  assert.equal(flat(s.next(11)), [], 'backing off')
  for (const [, i] of first.slice(1)) s.received(i, { kind: 'origin', reason: 'no-peer' }, 20, 5)
  assert.is(s.originHealth.allowed, 8)
})

test('bad input from callers is a TypeError', () => {
  assert.throws(() => new Scheduler({ lengths: lengths(2), needed: [5], nowMs: 0 }), TypeError)
  assert.throws(() => new Scheduler({ lengths: lengths(2), needed: [0], nowMs: 0, originShare: { index: 2, of: 2 } }), TypeError)
})

/**
 * A site of N nodes starting together, simulated in discrete time: the origin serves one
 * chunk per `originMsPerChunk` in total (a WAN link), peers answer after `peerMs`, haves
 * spread through the tracker every `announceMs`. Each chunk must come from the origin
 * about once.
 */
function simulate (n: number, chunks: number): { originChunks: number, doneAtMs: number[] } {
  const originMsPerChunk = 10
  const peerMs = 2
  const announceMs = 50
  const nodes = Array.from({ length: n }, (_, k) => ({
    id: `n${k}`,
    s: new Scheduler({ lengths: lengths(chunks), needed: range(chunks), nowMs: 0, originShare: { index: k, of: n }, stallMs: 2000 }),
    have: new Uint8Array(Math.ceil(chunks / 8)),
    doneAt: -1
  }))
  const byId = new Map(nodes.map((x) => [x.id, x]))
  type Ev = { at: number, node: number, index: number, source: Source }
  const events: Ev[] = []
  let originFreeAt = 0
  let originChunks = 0
  for (let now = 0; now < 200_000 && nodes.some((x) => x.doneAt < 0); now++) {
    if (now % announceMs === 0) for (const a of nodes) for (const b of nodes) if (a !== b) a.s.setPeerHave(b.id, b.have.slice(), now)
    for (let e = events.findIndex((x) => x.at <= now); e >= 0; e = events.findIndex((x) => x.at <= now)) {
      const [ev] = events.splice(e, 1)
      const node = nodes[ev!.node]!
      if (ev!.source.kind === 'peer' && (byId.get(ev!.source.peerId)!.have[ev!.index >> 3]! & (0x80 >> (ev!.index & 7))) === 0) {
        node.s.failed(ev!.index, ev!.source, 'missing', now)
      } else if (node.s.received(ev!.index, ev!.source, now, 1)) {
        node.have[ev!.index >> 3]! |= 0x80 >> (ev!.index & 7)
        if (node.s.done && node.doneAt < 0) node.doneAt = now
      }
    }
    nodes.forEach((node, k) => {
      for (const a of node.s.next(now)) {
        for (const i of a.indexes) {
          if (a.source.kind === 'origin') {
            originChunks++
            originFreeAt = Math.max(originFreeAt, now) + originMsPerChunk
            events.push({ at: originFreeAt, node: k, index: i, source: a.source })
          } else {
            events.push({ at: now + peerMs, node: k, index: i, source: a.source })
          }
        }
      }
    })
  }
  return { originChunks, doneAtMs: nodes.map((x) => x.doneAt) }
}

for (const n of [1, 4, 8]) {
  test(`simulated site of ${n}: every node finishes, the origin serves each chunk about once`, () => {
    const chunks = 400
    const { originChunks, doneAtMs } = simulate(n, chunks)
    assert.ok(doneAtMs.every((t) => t >= 0), `all done: ${doneAtMs.join(',')}`)
    assert.ok(originChunks <= chunks * 1.05, `origin chunks ${originChunks} for ${chunks}`)
  })
}

test('a chunk a reader waits for goes first: from a free holder, else from the origin at once (on-demand), even outside the share', () => {
  // one origin slot, others still pulling (share 1 of 2): chunk 6 is not this node's share
  const s = mk({ lengths: lengths(8), needed: range(8), nowMs: 0, originShare: { index: 1, of: 2 }, maxInflightOrigin: 1, maxInflightPerPeer: 1 })
  s.setPeerHave('P', bits(8, (i) => i === 2 || i === 0), 0)
  s.prioritize([6, 2, 99])
  assert.equal(flat(s.next(0)), [['P', 2], ['origin:on-demand', 6]], 'the waited-for chunks take the only slots')
  assert.ok(s.received(6, { kind: 'origin', reason: 'on-demand' }, 10))
  assert.equal(s.stats.originBytesByReason['on-demand'], L)
  // served: the next origin slot goes back to the share
  assert.equal(flat(s.next(10)), [['origin:assigned', 7]])
  // a chunk already received is not wanted again
  s.prioritize([6])
  assert.equal(flat(s.next(10)), [])
})

test('chunks that arrived are skipped, and one that failed behind them is asked again', () => {
  const s = mk({ lengths: lengths(6), needed: range(6), nowMs: 0, originShare: { index: 0, of: 2 }, maxInflightPerPeer: 2 })
  s.setPeerHave('P', bits(6, () => true), 0)
  assert.equal(flat(s.next(0)), [['P', 0], ['P', 1]])
  assert.ok(s.received(0, peer('P'), 1))
  s.failed(1, peer('P'), 'missing', 1)
  // 1 failed at P, its only holder: the origin takes it
  assert.equal(flat(s.next(1)), [['P', 2], ['P', 3], ['origin:peers-slow', 1]])
  assert.ok(s.received(2, peer('P'), 2))
  assert.ok(s.received(3, peer('P'), 2))
  assert.equal(flat(s.next(2)), [['P', 4], ['P', 5]])
  assert.is(s.remaining, 3)
})

test('every peer full and no origin slot: nothing is assigned; a freed slot takes the next missing chunk', () => {
  const n = 10_000
  const s = mk({ lengths: lengths(n), needed: range(n), nowMs: 0, originShare: { index: 0, of: 2 }, maxInflightPerPeer: 4, maxInflightOrigin: 1 })
  s.setPeerHave('P', bits(n, (i) => i < n / 2), 0)
  assert.equal(flat(s.next(0)), [['P', 0], ['P', 1], ['P', 2], ['P', 3], ['origin:assigned', 5000]])
  assert.equal(flat(s.next(0)), [], 'P full, the origin slot taken')
  assert.ok(s.received(2, peer('P'), 5))
  assert.equal(flat(s.next(5)), [['P', 4]])
})

test('a reader\'s chunks go to the origin past its limit; the rest keeps to it', () => {
  // alone in its site: every chunk is the origin's (no-peer); 8 origin requests allowed
  const s = mk({ lengths: lengths(40), needed: range(40), nowMs: 0, maxInflightOrigin: 8 })
  s.preferFirst([30, 31])
  const origin = (reason: string, xs: number[]): Array<[string, number]> => xs.map((i) => [`origin:${reason}`, i])
  assert.equal(flat(s.next(0)), [...origin('no-peer', [30, 31]), ...origin('no-peer', [0, 1, 2, 3, 4, 5])])
  // all 8 out: a guest's reads still go at once, up to ORIGIN_URGENT_EXTRA more
  s.prioritize([20, 21, 22, 23, 24])
  assert.equal(flat(s.next(100)), origin('on-demand', [20, 21, 22, 23]))
  for (const i of [30, 31, 0, 1]) assert.ok(s.received(i, { kind: 'origin', reason: 'no-peer' }, 150))
  // 8 out (2–5, 20–23): the waiting read goes, and nothing of the rest past the limit
  assert.equal(flat(s.next(150)), origin('on-demand', [24]))
  assert.ok(s.received(2, { kind: 'origin', reason: 'no-peer' }, 160))
  assert.ok(s.received(20, { kind: 'origin', reason: 'on-demand' }, 160))
  assert.ok(s.received(21, { kind: 'origin', reason: 'on-demand' }, 160))
  assert.equal(flat(s.next(160)), origin('no-peer', [6, 7]), '6 out: the rest fills up to the limit again')
})

test.run()
