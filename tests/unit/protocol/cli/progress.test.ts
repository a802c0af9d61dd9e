import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { BAR_CELLS, PROGRESS_REDRAW_MS, createProgressBar, createRateMeter, formatProgressLine } from '../../../../protocol/cli/progress.ts'
import type { ProgressState } from '../../../../protocol/cli/progress.ts'
import { displayWidth } from '../../../../protocol/cli/text-width.ts'

const MiB = 1024 ** 2

test('the progress line: label, bar, percent, bytes, rate, ETA and detail', () => {
  const cases: Array<[ProgressState, number, RegExp]> = [
    [{ label: 'transfer', doneBytes: 50 * MiB, totalBytes: 100 * MiB, detail: 'peers 60% origin 20% local 20%' }, 10 * MiB,
      /^transfer \[#{12}-{12}\]  50% 50\.0 MiB\/100 MiB 10\.0 MiB\/s ETA 00:05 \| peers 60% origin 20% local 20%$/],
    [{ doneBytes: 0, totalBytes: 8 * MiB }, Number.NaN, /^\[-{24}\]   0% 0 B\/8\.0 MiB --\/s ETA --:--$/],
    [{ doneBytes: 3 * MiB, totalBytes: 3 * MiB }, 1 * MiB, /^\[#{24}\] 100% 3\.0 MiB\/3\.0 MiB 1\.0 MiB\/s ETA 00:00$/],
    [{ doneBytes: 5, totalBytes: 0 }, 0, /^\[-{24}\]   0% 5 B\/0 B --\/s ETA --:--$/],
    [{ doneBytes: 1, totalBytes: 3 * 3600 * MiB }, 1 * MiB, /ETA 3:00:00$/]
  ]
  for (const [p, rate, want] of cases) assert.match(formatProgressLine(p, rate, 200), want)
  assert.is(BAR_CELLS, 24)
})

test('the progress line never reaches the terminal\'s last column', () => {
  const p: ProgressState = { label: 'transfer', doneBytes: 1, totalBytes: 2, detail: 'x'.repeat(200) }
  for (const columns of [20, 40, 80, 132]) {
    const line = formatProgressLine(p, 1, columns)
    assert.ok(displayWidth(line) <= columns - 1, `${columns}: ${line}`)
    assert.ok(line.endsWith('…'))
  }
})

test('the rate meter smooths samples and ignores bursts under 100 ms', () => {
  const m = createRateMeter()
  assert.ok(Number.isNaN(m.sample(0, 0)))
  assert.ok(Number.isNaN(m.sample(1000, 50)))
  assert.is(m.sample(1_000_000, 1000), 1_000_000)
  const r = m.sample(3_000_000, 2000)
  assert.ok(r > 1_000_000 && r < 2_000_000, String(r))
  assert.is(m.sample(0, 3000), r, 'a restart (fewer bytes) resets the baseline, not the rate')
})

function fakeTerminal (isTTY: boolean): { isTTY: boolean, columns: number, write: (s: string) => void, out: string[] } {
  const out: string[] = []
  return { isTTY, columns: 80, out, write: (s) => { out.push(s) } }
}

test('on a terminal: redrawn in place at most every 200 ms or when the label changes, cleared when done', () => {
  let t = 0
  const term = fakeTerminal(true)
  const bar = createProgressBar({ stream: term, now: () => t })
  bar.update({ label: 'manifest', doneBytes: 0, totalBytes: 100 })
  t += PROGRESS_REDRAW_MS / 2
  bar.update({ label: 'manifest', doneBytes: 10, totalBytes: 100 })
  bar.update({ label: 'transfer', doneBytes: 10, totalBytes: 100 })
  t += PROGRESS_REDRAW_MS
  bar.update({ label: 'transfer', doneBytes: 50, totalBytes: 100 })
  bar.done()
  assert.is(term.out.length, 4, term.out.join('|'))
  for (const s of term.out.slice(0, 3)) assert.ok(s.startsWith('\r\x1b[2K') && !s.includes('\n'), JSON.stringify(s))
  assert.match(term.out[1]!, /^\r\x1b\[2Ktransfer /)
  assert.is(term.out[3], '\r\x1b[2K')
})

test('silent on a pipe and with --json', () => {
  for (const [isTTY, json] of [[false, false], [true, true], [false, true]] as const) {
    const term = fakeTerminal(isTTY)
    const bar = createProgressBar({ stream: term, json })
    bar.update({ doneBytes: 1, totalBytes: 2 })
    bar.done()
    assert.equal(term.out, [], `tty ${isTTY} json ${json}`)
  }
})

test.run()
