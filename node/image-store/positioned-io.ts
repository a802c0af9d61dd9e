/**
 * Positioned I/O of several buffers at once (preadv/pwritev through `FileHandle.readv` and
 * `writev`): one system call and one thread-pool trip per run of adjacent buffers instead
 * of one per buffer. A trip costs ~40 µs of CPU on a busy 2-core machine, as much as
 * copying 256 KiB from the page cache (bench/RESULTS.md, "Peer-to-peer throughput notes").
 */
import type { FileHandle } from 'node:fs/promises'
import { IMAGE_WRITE_MAX_IOVECS as MAX_IOVECS } from '../constants.ts'

/** `run` without its first `skip` bytes (after a short transfer). */
function sliceRun (run: readonly Uint8Array[], skip: number): Uint8Array[] {
  const out: Uint8Array[] = []
  for (const b of run) {
    if (skip >= b.length) { skip -= b.length; continue }
    out.push(skip === 0 ? b : b.subarray(skip))
    skip = 0
  }
  return out
}

function total (run: readonly Uint8Array[]): number {
  let n = 0
  for (const b of run) n += b.length
  return n
}

/** Writes `run` back to back at `position`, continuing after a short write (signals, huge runs). */
export async function writevFully (fh: FileHandle, run: readonly Uint8Array[], position: number): Promise<void> {
  const length = total(run)
  let written = 0
  while (written < length) {
    const { bytesWritten } = await fh.writev(written === 0 ? run as Uint8Array[] : sliceRun(run, written), position + written)
    if (bytesWritten <= 0) throw new Error('write made no progress')
    written += bytesWritten
  }
}

/** Fills `targets` back to back from `position`; throws when the file ends first. */
export async function readvFully (fh: FileHandle, targets: readonly Uint8Array[], position: number): Promise<void> {
  const length = total(targets)
  let got = 0
  while (got < length) {
    const { bytesRead } = await fh.readv(got === 0 ? targets as Uint8Array[] : sliceRun(targets, got), position + got)
    if (bytesRead <= 0) throw new Error(`file ended at ${position + got}, expected ${position + length}`)
    got += bytesRead
  }
}

/** A read of `target.length` bytes at `offset` of `file`. */
export interface PositionedRead<F> { file: F, offset: number, target: Uint8Array }

/** Consecutive reads of one file, each starting where the one before ended. */
export interface ReadRun<F> {
  file: F
  offset: number
  targets: Uint8Array[]
  /** index of the run's first read in the list given */
  first: number
}

/** Groups `reads`, in their order, into runs that one readv each can do. */
export function adjacentRuns<F> (reads: ReadonlyArray<PositionedRead<F>>): Array<ReadRun<F>> {
  const runs: Array<ReadRun<F>> = []
  let run: ReadRun<F> | undefined
  let end = 0
  for (const [i, r] of reads.entries()) {
    if (run === undefined || r.file !== run.file || r.offset !== end || run.targets.length >= MAX_IOVECS) {
      run = { file: r.file, offset: r.offset, targets: [], first: i }
      runs.push(run)
    }
    run.targets.push(r.target)
    end = r.offset + r.target.length
  }
  return runs
}

/**
 * Does `reads` with one readv per run of adjacent ones, the runs at once; resolves per
 * read whether it was done (a run that failed fails all its reads). `readRun` reads one
 * run (e.g. `readvFully` on the run's file).
 */
export async function readAll<F> (reads: ReadonlyArray<PositionedRead<F>>, readRun: (run: ReadRun<F>) => Promise<void>): Promise<boolean[]> {
  const done = new Array<boolean>(reads.length).fill(false)
  await Promise.all(adjacentRuns(reads).map(async (run) => {
    try {
      await readRun(run)
      done.fill(true, run.first, run.first + run.targets.length)
    } catch {
      // left false: the caller answers those chunks as missing
    }
  }))
  return done
}
