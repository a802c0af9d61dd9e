/**
 * Report pages: opaque cursors and sorting of rows the report holds in memory (offload,
 * deployment: bounded by sites × days and images × versions). Event logs page by keyset
 * (time, id), so a page deep in a million events costs the same as the first.
 */
import { badRequest } from '../errors.ts'

export type Cursor = { offset: number } | { atMs: number, id: string }

export function encodeCursor (c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url')
}

/** The cursor of a previous answer; ERR_BAD_REQUEST for anything else. */
export function decodeCursor (text: string | undefined, kind: 'offset' | 'keyset'): Cursor | undefined {
  if (text === undefined) return undefined
  let c: unknown
  try {
    c = JSON.parse(Buffer.from(text, 'base64url').toString())
  } catch {
    throw badRequest('cursor: not a cursor of this report')
  }
  const o = c as Record<string, unknown> | null
  if (kind === 'offset' && typeof o?.offset === 'number' && Number.isSafeInteger(o.offset) && o.offset >= 0) return { offset: o.offset }
  if (kind === 'keyset' && typeof o?.atMs === 'number' && Number.isSafeInteger(o.atMs) && typeof o.id === 'string' && o.id.length <= 64) return { atMs: o.atMs, id: o.id }
  throw badRequest('cursor: not a cursor of this report')
}

export type SortKey<R> = (row: R) => string | number

/** Rows sorted by `key` (then by `tieBreak`), in `order`; a stable, total order. */
export function sortRows<R> (rows: R[], key: SortKey<R>, order: 'asc' | 'desc', tieBreak: SortKey<R>): R[] {
  const sign = order === 'asc' ? 1 : -1
  const cmp = (a: string | number, b: string | number): number => a < b ? -1 : a > b ? 1 : 0
  return rows.sort((a, b) => sign * cmp(key(a), key(b)) || cmp(tieBreak(a), tieBreak(b)))
}

/** One page of in-memory rows and the cursor of the next. */
export function pageOf<R> (rows: readonly R[], offset: number, limit: number): { rows: R[], nextCursor: string | null } {
  const page = rows.slice(offset, offset + limit)
  return { rows: page, nextCursor: offset + limit < rows.length ? encodeCursor({ offset: offset + limit }) : null }
}
