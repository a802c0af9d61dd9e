/**
 * Single byte ranges (RFC 9110 §14): the one form a chunk client needs (resume a cut
 * transfer). Pure: a header and a size in, a decision out.
 */
import { MAX_RANGE_HEADER_CHARS } from './constants.ts'

export type RangeDecision =
  /** serve the whole file (no Range, a malformed one, or several ranges) */
  | { kind: 'full' }
  /** serve bytes `start..end` inclusive (206) */
  | { kind: 'partial', start: number, end: number }
  /** 416 with `Content-Range: bytes * /size` */
  | { kind: 'unsatisfiable' }

const SINGLE_RANGE_RE = /^bytes=(\d*)-(\d*)$/

/**
 * What to serve for a `Range` header over a file of `size` bytes. Malformed or
 * multi-range headers are ignored (served whole), which RFC 9110 allows.
 */
export function decideRange (header: string | undefined, size: number): RangeDecision {
  if (header === undefined || header.length > MAX_RANGE_HEADER_CHARS) return { kind: 'full' }
  const m = SINGLE_RANGE_RE.exec(header.trim())
  if (m === null) return { kind: 'full' }
  const [, first = '', last = ''] = m
  if (first === '' && last === '') return { kind: 'full' }
  if (first === '') {
    // suffix range: the last N bytes
    const n = Number(last)
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' }
    return { kind: 'partial', start: Math.max(0, size - n), end: size - 1 }
  }
  const start = Number(first)
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1)
  if (!Number.isSafeInteger(start) || start >= size) return { kind: 'unsatisfiable' }
  if (last !== '' && Number(last) < start) return { kind: 'full' } // invalid: ignored
  return { kind: 'partial', start, end }
}
