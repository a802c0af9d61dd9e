import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { COLUMN_GAP, MIN_CUT_WIDTH, TABLE_WIDTH, renderTable, terminalColumns } from '../../../../protocol/cli/table.ts'
import type { TableColumn } from '../../../../protocol/cli/table.ts'
import { displayWidth } from '../../../../protocol/cli/text-width.ts'

const ISO = '2026-11-28T00:54:07.123Z'
const PEER = '12D3KooWQxyzabcdefghijklmnopqrstuvwxyz0123456789ABCD'
const EVENTS: TableColumn[] = [{ header: 'AT', truncate: false }, { header: 'TYPE' }, { header: 'USER' }, { header: 'CLIENT' }, { header: 'PAYLOAD' }]

function widths (text: string): number[] { return text.split('\n').map(displayWidth) }

test('every line fits 80 columns, whatever the cells hold', () => {
  const cases: Array<[string, string[][]]> = [
    ['long ASCII values', [[ISO, 'pull.completed', 'alice', PEER, JSON.stringify({ image: 'win', bytes: 123456789, note: 'x'.repeat(300) })]]],
    ['wide CJK user names', [[ISO, 'pull.completed', '日本語のユーザー名前です', PEER, '{"image":"win"}']]],
    ['emoji and combining marks', [[ISO, 'peer.banned', 'zoë e\u0301', PEER, '🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉']]],
    ['many rows of mixed widths', Array.from({ length: 20 }, (_, i) => [ISO, `type.${'x'.repeat(i)}`, '用户'.repeat(i), PEER.slice(0, i * 3), 'p'.repeat(i * 7)])]
  ]
  for (const [what, rows] of cases) {
    const out = renderTable(EVENTS, rows)
    for (const w of widths(out)) assert.ok(w <= TABLE_WIDTH, `${what}: a line of ${w} columns\n${out}`)
    assert.is(out.split('\n').length, rows.length + 1, what)
  }
})

test('a table that fits is printed whole, aligned two spaces apart', () => {
  const out = renderTable([{ header: 'NAME' }, { header: 'N', align: 'right' }, { header: 'NOTE' }], [['a', '1', 'x'], ['bbbb', '100', '']])
  assert.is(out, ['NAME    N  NOTE', 'a       1  x', 'bbbb  100'].join('\n'))
})

test('the widest cuttable column gives way first, cut with an ellipsis; uncuttable columns keep every character', () => {
  const payload = '{"image":"win","rule":"download-window"}'
  const out = renderTable(EVENTS, [[ISO, 'policy.blocked', 'alice', 'cli-node', payload]])
  const [head, row] = out.split('\n') as [string, string]
  assert.ok(row.startsWith(`${ISO}  policy.blocked  alice  cli-node  `), row)
  assert.ok(row.endsWith('…'), row)
  assert.ok(payload.startsWith(row.slice(row.lastIndexOf('  ') + 2, -1)), 'the kept part is the start of the cell')
  assert.is(displayWidth(row), TABLE_WIDTH)
  assert.match(head, /^AT\s+TYPE\s+USER\s+CLIENT\s+PAYLOAD$/)
})

test('columns of equal width give way equally, never below their floor', () => {
  const out = renderTable([{ header: 'A' }, { header: 'B' }], [['a'.repeat(100), 'b'.repeat(100)]], { width: 40 })
  const cells = out.split('\n')[1]!.split(/\s{2,}/)
  assert.equal(cells.map(displayWidth), [19, 19])
  const tight = renderTable([{ header: 'LONGHEADER' }, { header: 'B' }], [['a'.repeat(50), 'b'.repeat(50)]], { width: 10 })
  const [h, r] = tight.split('\n') as [string, string]
  assert.ok(h.startsWith('LONGHEADER'), 'a header is the floor of its column')
  assert.is(displayWidth(r.split(/\s{2,}/)[1]!), MIN_CUT_WIDTH, 'no column is cut below the minimum')
})

test('wide characters are padded by the columns they take, not by their length', () => {
  const out = renderTable([{ header: 'USER' }, { header: 'KIND' }], [['日本', 'user'], ['ab', 'machine']])
  const lines = out.split('\n')
  const kindAt = lines.map((l) => displayWidth(l.slice(0, l.search(/(user|machine|KIND)$/))))
  assert.equal(kindAt, [4 + COLUMN_GAP, 4 + COLUMN_GAP, 4 + COLUMN_GAP])
})

test('indent, no header, right alignment and control characters', () => {
  const out = renderTable([{ header: 'V', align: 'right', truncate: false }, { header: 'S' }], [['1', 'a\tb'], ['10', 'evil\x1b[31mred\nx']], { indent: 2, header: false })
  assert.is(out, ['   1  a b', '  10  evil?[31mred x'].join('\n'))
})

test('a row with the wrong number of cells is a TypeError', () => {
  assert.throws(() => renderTable([{ header: 'A' }], [['a', 'b']]), TypeError)
})

test('terminalColumns: the terminal\'s width, else 80', () => {
  const cases: Array<[{ isTTY?: boolean, columns?: number }, number]> = [[{ isTTY: true, columns: 132 }, 132], [{ isTTY: false, columns: 132 }, 80], [{}, 80], [{ isTTY: true, columns: 0 }, 80]]
  for (const [stream, want] of cases) assert.is(terminalColumns(stream), want, JSON.stringify(stream))
})

test.run()
