// The lazy block source's rules: a read of chunks not held asks for them and waits; with a
// stall bound, a read gives up (ReadStalledError, onStall told) only when nothing of the
// image arrives for a whole bound, never while other chunks keep arriving.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ReadStalledError, imageBlockSource } from '../../../../node/block/index.ts'
import type { LazyImage } from '../../../../node/block/index.ts'
import { rejects } from '../../../helpers/rejects.ts'

const CHUNK = 4
const COUNT = 8

/** An image of COUNT chunks of CHUNK bytes (byte i of chunk u is u), holding `held`. */
function fakeImage (held: number[]): LazyImage & { arrive: (u: number) => void } {
  const have = new Set(held)
  const waiters = new Map<number, Array<() => void>>()
  const image = {
    table: {
      offsets: Float64Array.from({ length: COUNT }, (_, i) => i * CHUNK),
      lengths: Uint32Array.from({ length: COUNT }, () => CHUNK),
      unitOf: Uint32Array.from({ length: COUNT }, (_, i) => i)
    },
    heldBytes: have.size * CHUNK,
    has: (u: number) => have.has(u),
    whenHeld: async (u: number, signal?: AbortSignal) => {
      if (have.has(u)) return
      await new Promise<void>((resolve, reject) => {
        waiters.set(u, [...(waiters.get(u) ?? []), resolve])
        signal?.addEventListener('abort', () => reject(signal.reason), { once: true })
      })
    },
    readRange: async (offset: number, length: number) => Uint8Array.from({ length }, (_, i) => Math.floor((offset + i) / CHUNK)),
    arrive: (u: number) => {
      if (have.has(u)) return
      have.add(u)
      image.heldBytes += CHUNK
      for (const w of waiters.get(u) ?? []) w()
      waiters.delete(u)
    }
  }
  return image
}

test('a read of held chunks answers at once and wants nothing', async () => {
  const image = fakeImage([0, 1])
  const wanted: number[] = []
  const source = imageBlockSource(image, { size: COUNT * CHUNK, want: (u) => wanted.push(...u), stallMs: 1000 })
  assert.equal([...await source.read(2, 4, new AbortController().signal)], [0, 0, 1, 1])
  assert.equal(wanted, [])
})

test('a read of chunks not held wants them and answers once they arrive', async () => {
  const image = fakeImage([0])
  const wanted: number[] = []
  const source = imageBlockSource(image, { size: COUNT * CHUNK, want: (u) => { wanted.push(...u); setImmediate(() => { for (const x of u) image.arrive(x) }) } })
  assert.equal([...await source.read(2, 8, new AbortController().signal)], [0, 0, 1, 1, 1, 1, 2, 2])
  assert.equal(wanted, [1, 2])
})

test('a read gives up when nothing arrives for the bound: ReadStalledError, onStall told the units', async () => {
  const image = fakeImage([])
  const stalled: number[][] = []
  const source = imageBlockSource(image, { size: COUNT * CHUNK, stallMs: 50, onStall: (u) => stalled.push(u) })
  const err = await rejects(source.read(CHUNK * 3, CHUNK * 2, new AbortController().signal), { code: 'ERR_READ_STALLED' })
  assert.instance(err, ReadStalledError)
  assert.equal((err as ReadStalledError).units, [3, 4])
  assert.equal(stalled, [[3, 4]])
})

test('a read does not give up while other chunks of the image keep arriving', async () => {
  const image = fakeImage([])
  const stalled: number[][] = []
  const source = imageBlockSource(image, { size: COUNT * CHUNK, stallMs: 200, onStall: (u) => stalled.push(u) })
  // chunks 0..6 arrive one every 60 ms, the read's chunk 7 last: ~480 ms, over two bounds
  let next = 0
  const timer = setInterval(() => { image.arrive(next++); if (next === COUNT) clearInterval(timer) }, 60)
  try {
    assert.equal([...await source.read(CHUNK * 7, CHUNK, new AbortController().signal)], [7, 7, 7, 7])
    assert.equal(stalled, [])
  } finally {
    clearInterval(timer)
  }
})

test.run()
