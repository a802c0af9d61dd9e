import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { displayWidth, padToWidth, printable, truncateToWidth } from '../../../../protocol/cli/text-width.ts'

test('display width counts terminal cells, not UTF-16 units', () => {
  const cases: Array<[string, number]> = [
    ['', 0], ['abc', 3], ['日本語', 6], ['ｆｕｌｌ', 8], ['한국어', 6], ['e\u0301', 1], ['zoë', 3],
    ['🎉', 2], ['👨‍👩‍👧', 2], ['❤️', 2], ['❤', 1], ['a\u200bb', 2], ['𠀋', 2], ['x\x1by', 2]
  ]
  for (const [text, want] of cases) assert.is(displayWidth(text), want, JSON.stringify(text))
})

test('truncation keeps whole graphemes within the width and ends in an ellipsis', () => {
  const cases: Array<[string, number, string]> = [
    ['hello', 5, 'hello'], ['hello', 4, 'hel…'], ['hello', 1, '…'], ['hello', 0, ''],
    ['日本語テキスト', 6, '日本…'], ['日本語', 4, '日…'], ['🎉🎉🎉', 4, '🎉…'], ['e\u0301e\u0301e\u0301', 2, 'e\u0301…'], ['👨‍👩‍👧xy', 3, '👨‍👩‍👧…']
  ]
  for (const [text, width, want] of cases) {
    const got = truncateToWidth(text, width)
    assert.is(got, want, `${text} @ ${width}`)
    assert.ok(displayWidth(got) <= width, `${text} @ ${width} is ${displayWidth(got)} wide`)
  }
})

test('padding reaches the width in cells, on either side', () => {
  assert.is(padToWidth('日本', 6), '日本  ')
  assert.is(padToWidth('7', 3, 'right'), '  7')
  assert.is(padToWidth('toolong', 3), 'toolong')
})

test('printable turns line breaks and tabs into spaces and other controls into "?"', () => {
  assert.is(printable('a\tb\nc\r\x1b[2J\x07\u009bd'), 'a b c ?[2J??d')
  assert.is(printable('plain 日本'), 'plain 日本')
})

test.run()
