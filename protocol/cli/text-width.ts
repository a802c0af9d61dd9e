/**
 * How wide text is on a terminal, in columns: what tables and the progress line measure
 * with, since `String.length` counts UTF-16 units, not cells. A grapheme (a letter with
 * its combining marks, an emoji sequence) takes one cell, or two when it is East Asian
 * wide or an emoji; control characters take none.
 */

// East Asian Wide and Fullwidth blocks (Unicode's EastAsianWidth.txt, W and F), the ones
// text in a name or label can come from; emoji are matched by property below.
const WIDE_RANGES: ReadonlyArray<readonly [number, number]> = [
  [0x1100, 0x115f], [0x2e80, 0x303e], [0x3041, 0x33ff], [0x3400, 0x4dbf], [0x4e00, 0x9fff],
  [0xa000, 0xa4cf], [0xa960, 0xa97f], [0xac00, 0xd7a3], [0xf900, 0xfaff], [0xfe10, 0xfe19],
  [0xfe30, 0xfe6f], [0xff00, 0xff60], [0xffe0, 0xffe6], [0x20000, 0x2fffd], [0x30000, 0x3fffd]
]
const PRINTABLE_ASCII_RE = /^[\x20-\x7e]*$/
const EMOJI_RE = /\p{Emoji_Presentation}|\p{Extended_Pictographic}\uFE0F/u
const ZERO_WIDTH_RE = /^(?:\p{Mark}|\p{Cf}|\p{Cc})/u
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/g

let segmenter: Intl.Segmenter | undefined

function graphemes (text: string): Iterable<string> {
  segmenter ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' })
  return Array.from(segmenter.segment(text), (s) => s.segment)
}

function isWide (codePoint: number): boolean {
  for (const [from, to] of WIDE_RANGES) if (codePoint >= from && codePoint <= to) return true
  return false
}

function graphemeWidth (g: string): number {
  if (EMOJI_RE.test(g)) return 2
  if (ZERO_WIDTH_RE.test(g)) return 0
  return isWide(g.codePointAt(0)!) ? 2 : 1
}

/** Columns `text` takes on a terminal. */
export function displayWidth (text: string): number {
  if (PRINTABLE_ASCII_RE.test(text)) return text.length
  let width = 0
  for (const g of graphemes(text)) width += graphemeWidth(g)
  return width
}

/** `text` cut to at most `width` columns, ending in "…" when it was cut; never splits a grapheme. */
export function truncateToWidth (text: string, width: number): string {
  if (displayWidth(text) <= width) return text
  if (width <= 0) return ''
  let out = ''
  let used = 0
  for (const g of graphemes(text)) {
    const w = graphemeWidth(g)
    if (used + w > width - 1) break
    out += g
    used += w
  }
  return `${out}…`
}

/** `text` padded with spaces to `width` columns, on the right (`'left'` aligned) or the left. */
export function padToWidth (text: string, width: number, align: 'left' | 'right' = 'left'): string {
  const pad = ' '.repeat(Math.max(0, width - displayWidth(text)))
  return align === 'left' ? text + pad : pad + text
}

/**
 * One line of plain text from anything a user or a peer wrote: tabs and line breaks become
 * spaces, other control characters (terminal escape sequences among them) "?".
 */
export function printable (text: string): string {
  return text.replace(CONTROL_RE, (c) => c === '\t' || c === '\n' || c === '\r' ? ' ' : '?')
}
