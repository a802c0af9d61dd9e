/**
 * Targets with one fault each, for harness.test.ts: each guard of the harness must turn
 * its fault into a finding, and a clean refusal must not be one. Every fault fires on the
 * one seed, so no mutation is needed.
 */
import { ChunkCorruptError } from '../../protocol/errors.ts'
import { check, refusal } from './target.ts'
import type { FuzzTarget } from './target.ts'

const fault = (name: string, run: FuzzTarget['run']): FuzzTarget => ({ name, decoder: name, seeds: () => [Uint8Array.of(1, 2, 3)], run })

export const TARGETS: readonly FuzzTarget[] = [
  fault('refuses-cleanly', () => {
    try {
      throw new ChunkCorruptError()
    } catch (err) {
      return refusal(err)
    }
  }),
  fault('throws-range-error', () => { throw new RangeError('offset is out of bounds') }),
  fault('throws-internal-type-error', (input) => String((input as unknown as { missing: { x: number } }).missing.x)),
  fault('breaks-its-oracle', () => { check(false, 'decoded into something else'); return 'ok' }),
  fault('hangs', () => { for (;;); }),
  fault('never-settles', async () => await new Promise<string>(() => {})),
  fault('burns-cpu', () => {
    const start = process.threadCpuUsage()
    while ((process.threadCpuUsage(start).user + process.threadCpuUsage(start).system) / 1000 < 80);
    return 'ok'
  }),
  fault('allocates-128-mib', () => String(new Uint8Array(128 * 2 ** 20).fill(1)[7]))
]
