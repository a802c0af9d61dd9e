// CSV cells: RFC 4180 quoting, and no cell a spreadsheet would run as a formula.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { csvCell, csvLine } from '../../../../tracker/reports/index.ts'

const CASES: Array<[string, Parameters<typeof csvCell>[0], string]> = [
  ['plain text', 'pc-01', 'pc-01'],
  ['comma → quoted', 'a,b', '"a,b"'],
  ['quote → doubled and quoted', 'say "hi"', '"say ""hi"""'],
  ['newline → quoted', 'a\nb', '"a\nb"'],
  ['CR → quoted', 'a\rb', '"a\rb"'],
  ['= formula → text', '=1+1', "'=1+1"],
  ['+ formula → text', '+cmd', "'+cmd"],
  ['- formula → text', '-2+3', "'-2+3"],
  ['@ formula → text', '@SUM(A1)', "'@SUM(A1)"],
  ['tab first → text', '\t=1', "'\t=1"],
  ['formula with comma → prefixed, then quoted', '=HYPERLINK("x","y")', '"\'=HYPERLINK(""x"",""y"")"'],
  ['negative number stays a number', -5, '-5'],
  ['number', 1024, '1024'],
  ['boolean', true, 'true'],
  ['null → empty', null, ''],
  ['undefined → empty', undefined, ''],
  ['empty string', '', '']
]

for (const [name, value, expected] of CASES) {
  test(name, () => { assert.is(csvCell(value), expected) })
}

test('a line joins cells with commas and ends with CRLF', () => {
  assert.is(csvLine(['a', 1, null, 'x,y']), 'a,1,,"x,y"\r\n')
})

test.run()
