// Reads of many buffers at once: runs of adjacent reads in one readv, short reads continued.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { randomBytes } from 'node:crypto'
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { adjacentRuns, readAll, readvFully, writevFully } from '../../../../node/image-store/positioned-io.ts'
import { IMAGE_WRITE_MAX_IOVECS } from '../../../../node/constants.ts'

const buf = (n: number): Uint8Array => new Uint8Array(n)

test('adjacent reads of one file make one run; a gap, another file or a full run start the next', () => {
  const runs = adjacentRuns([
    { file: 'a', offset: 0, target: buf(10) },
    { file: 'a', offset: 10, target: buf(5) },
    { file: 'a', offset: 20, target: buf(5) }, // a gap
    { file: 'b', offset: 25, target: buf(5) }, // another file
    { file: 'b', offset: 30, target: buf(1) },
    { file: 'b', offset: 30, target: buf(1) } // the same place again: not adjacent
  ])
  assert.equal(runs.map((r) => [r.file, r.offset, r.targets.map((t) => t.length), r.first]), [
    ['a', 0, [10, 5], 0], ['a', 20, [5], 2], ['b', 25, [5, 1], 3], ['b', 30, [1], 5]
  ])
  const many = Array.from({ length: IMAGE_WRITE_MAX_IOVECS + 1 }, (_, i) => ({ file: 'a', offset: i, target: buf(1) }))
  assert.equal(adjacentRuns(many).map((r) => r.targets.length), [IMAGE_WRITE_MAX_IOVECS, 1])
})

test('readAll fills every target from its offset, one readv per run; a run that fails fails only its reads', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'branchcast-pio-'))
  const data = randomBytes(1000)
  await writeFile(join(dir, 'f'), data)
  const fh = await open(join(dir, 'f'), 'r')
  try {
    const reads = [0, 100, 150, 600, 990].map((offset, i) => ({ file: fh, offset, target: buf([100, 50, 10, 20, 20][i]!) }))
    let runs = 0
    const done = await readAll(reads, async (run) => { runs++; await readvFully(run.file, run.targets, run.offset) })
    // [0,100) [100,150) [150,160) adjacent; 600 alone; 990 runs past the end
    assert.is(runs, 3)
    assert.equal(done, [true, true, true, true, false])
    for (const r of reads.slice(0, 4)) assert.ok(Buffer.from(r.target).equals(data.subarray(r.offset, r.offset + r.target.length)))
  } finally {
    await fh.close()
    await rm(dir, { recursive: true, force: true })
  }
})

test('a short read or write continues where it stopped; a file that ends first is an error', async () => {
  const file = randomBytes(300)
  const written: Array<[number, number]> = []
  // a file handle that moves at most 7 bytes per call, as a signal-interrupted one may
  const fh = {
    async readv (targets: Uint8Array[], position: number) {
      let n = 0
      for (const t of targets) {
        const take = Math.min(t.length, 7 - n, Math.max(0, file.length - position - n))
        t.set(file.subarray(position + n, position + n + take))
        n += take
        if (take < t.length) break
      }
      return { bytesRead: n, buffers: targets }
    },
    async writev (buffers: Uint8Array[], position: number) {
      const n = Math.min(7, buffers.reduce((s, b) => s + b.length, 0))
      written.push([position, n])
      return { bytesWritten: n, buffers }
    }
  } as unknown as FileHandle
  const targets = [buf(30), buf(1), buf(50)]
  await readvFully(fh, targets, 100)
  assert.ok(Buffer.concat(targets).equals(file.subarray(100, 181)))
  await writevFully(fh, [buf(10), buf(10)], 5)
  assert.equal(written, [[5, 7], [12, 7], [19, 6]])
  try {
    await readvFully(fh, [buf(20)], 290)
    assert.unreachable('read past the end')
  } catch (err) {
    assert.match((err as Error).message, /file ended at 300, expected 310/)
  }
})

test.run()
