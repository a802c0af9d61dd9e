/**
 * CSV for reports: RFC 4180 (comma, CRLF, fields with comma, quote, CR or LF quoted, quotes
 * doubled) and safe to open in a spreadsheet — a cell starting with = + - @ (or a tab or
 * CR, which some programs strip first) gets a leading ' so it is text, not a formula.
 */

export type CsvValue = string | number | boolean | null | undefined

const FORMULA_START = /^[=+\-@\t\r]/
const NEEDS_QUOTES = /[",\r\n]/

/** One cell. Numbers are written as numbers (a negative number is data, not a formula). */
export function csvCell (value: CsvValue): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  const text = FORMULA_START.test(value) ? `'${value}` : value
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

/** One record, CRLF-terminated. */
export function csvLine (values: readonly CsvValue[]): string {
  return values.map(csvCell).join(',') + '\r\n'
}
