// The boot recorder's bounds: what ends a recording besides the guest being up. Reads go
// quiet (none in flight, none asked, for quietMs), a window from the first read passes,
// a byte cap is reached; reads after the end pass through unrecorded. The inner source is
// a stub whose reads are answered when the test says so.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createBootRecorder } from '../../../../node/block/index.ts'
import type { BlockSource } from '../../../../node/block/index.ts'

const CHUNK = 4
/** reads here are never aborted */
const live = new AbortController().signal
const COUNT = 8
const unitIds = Array.from({ length: COUNT }, (_, i) => String(i).repeat(64))
const table = {
  offsets: Float64Array.from({ length: COUNT }, (_, i) => i * CHUNK),
  unitOf: Uint32Array.from({ length: COUNT }, (_, i) => i),
  unitId: (u: number) => unitIds[u]!,
  unitLengths: Uint32Array.from({ length: COUNT }, () => CHUNK)
}

/** A source whose reads wait until `release()`, or answer at once when `instant`. */
function stubSource (instant: boolean): BlockSource & { release: () => void, reads: number } {
  const waiting: Array<() => void> = []
  const s = {
    size: COUNT * CHUNK,
    reads: 0,
    async read (_offset: number, length: number): Promise<Uint8Array> {
      s.reads++
      if (!instant) await new Promise<void>((resolve) => waiting.push(resolve))
      return new Uint8Array(length)
    },
    release: () => { for (const w of waiting.splice(0)) w() }
  }
  return s
}

test('reads quiet for quietMs end the recording; a read in flight holds it open', async () => {
  const inner = stubSource(false)
  const rec = createBootRecorder(inner, { table, quietMs: 30 })
  const pending = rec.source.read(0, 1, live)
  // a read waiting (for its chunk, say) longer than quietMs is not quiet
  await new Promise((resolve) => setTimeout(resolve, 90))
  assert.ok(rec.recording, 'still recording while a read is in flight')
  void rec.source.read(2 * CHUNK, 1, live)
  inner.release()
  await pending
  inner.release()
  const r = await rec.done
  assert.is(r.end, 'quiet')
  assert.equal(r.chunks, [unitIds[0], unitIds[2]])
  assert.is(r.bytes, 2 * CHUNK)
})

test('the window from the first read ends it, however busy the reads are', async () => {
  const inner = stubSource(false)
  const rec = createBootRecorder(inner, { table, windowMs: 40, quietMs: 10_000 })
  assert.ok(rec.recording, 'the window starts at the first read, not at creation')
  void rec.source.read(CHUNK, 1, live)
  const r = await rec.done
  assert.is(r.end, 'window')
  assert.equal(r.chunks, [unitIds[1]])
  assert.ok(r.durationMs >= 30, `durationMs ${r.durationMs}`)
  void rec.source.read(3 * CHUNK, 1, live)
  assert.equal(rec.stop().chunks, [unitIds[1]], 'nothing after the end')
  inner.release()
})

test('the byte cap ends it before the chunk that would pass it', async () => {
  const rec = createBootRecorder(stubSource(true), { table, maxBytes: 3 * CHUNK })
  await rec.source.read(0, 5 * CHUNK, live)
  const r = await rec.done
  assert.is(r.end, 'full')
  assert.equal(r.chunks, unitIds.slice(0, 3))
  assert.is(r.bytes, 3 * CHUNK)
})

test('bad bounds are a TypeError', () => {
  for (const init of [{ quietMs: 0 }, { windowMs: -1 }, { maxBytes: 1.5 }]) {
    assert.throws(() => createBootRecorder(stubSource(true), { table, ...init }), TypeError)
  }
})

test.run()
