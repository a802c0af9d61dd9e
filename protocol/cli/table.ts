/**
 * The listing table every command prints: a header, aligned columns two spaces apart,
 * sized to fit the terminal (80 columns when output is not a terminal). When the rows are
 * wider, the widest columns give way first, their cells cut with "…"; columns marked
 * `truncate: false` (times, ids, numbers) keep their width. `--json` is the form for
 * scripts: a table is for people.
 */
import { displayWidth, padToWidth, printable, truncateToWidth } from './text-width.ts'

export interface TableColumn {
  header: string
  /** `'right'` for numbers; default `'left'` */
  align?: 'left' | 'right'
  /** `false`: never cut (the other columns give way); default true */
  truncate?: boolean
}

export interface TableOptions {
  /** the widest a line may be, in terminal columns; default 80 */
  width?: number
  /** spaces before every line; default 0 */
  indent?: number
  /** print the header line; default true */
  header?: boolean
}

/** The default width: a classic terminal, and what a table gets when output is piped. */
export const TABLE_WIDTH = 80
/** Columns between two cells. */
export const COLUMN_GAP = 2
/** A cut column keeps at least this many cells (or its header, or its widest cell, whichever is least). */
export const MIN_CUT_WIDTH = 6

/** The width tables get on `stream`: the terminal's when it is one, else `TABLE_WIDTH`. */
export function terminalColumns (stream: { isTTY?: boolean, columns?: number }): number {
  return stream.isTTY === true && stream.columns !== undefined && stream.columns > 0 ? stream.columns : TABLE_WIDTH
}

/**
 * Column widths that fit `budget` for the cuttable columns: every column wider than a cap
 * is cut to it (not below its floor), with the cap as high as still fits. Widest first,
 * and columns of equal width give way equally.
 */
function fitWidths (natural: number[], floors: number[], cuttable: boolean[], budget: number): number[] {
  const widthsAt = (cap: number): number[] => natural.map((w, i) => cuttable[i]! ? Math.max(floors[i]!, Math.min(w, cap)) : w)
  const sum = (ws: number[]): number => ws.reduce((s, w, i) => s + (cuttable[i]! ? w : 0), 0)
  let lo = 0
  let hi = Math.max(0, ...natural)
  if (sum(widthsAt(hi)) <= budget) return natural
  // the highest cap whose widths fit (sum grows with the cap)
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2)
    if (sum(widthsAt(mid)) <= budget) lo = mid
    else hi = mid - 1
  }
  return widthsAt(lo)
}

/** The table as lines joined with "\n" (no trailing newline); trailing spaces trimmed. */
export function renderTable (columns: readonly TableColumn[], rows: ReadonlyArray<readonly string[]>, options: TableOptions = {}): string {
  const width = options.width ?? TABLE_WIDTH
  const indent = ' '.repeat(options.indent ?? 0)
  const header = options.header ?? true
  if (rows.some((r) => r.length !== columns.length)) throw new TypeError(`every row needs ${columns.length} cells`)
  const cells = rows.map((r) => r.map(printable))
  const heads = columns.map((c) => printable(c.header))
  const natural = columns.map((_, i) => Math.max(header ? displayWidth(heads[i]!) : 0, ...cells.map((r) => displayWidth(r[i]!))))
  const cuttable = columns.map((c) => c.truncate !== false)
  const floors = natural.map((w, i) => Math.min(w, Math.max(MIN_CUT_WIDTH, header ? displayWidth(heads[i]!) : 0)))
  const fixed = natural.reduce((s, w, i) => s + (cuttable[i]! ? 0 : w), 0)
  const budget = width - indent.length - COLUMN_GAP * (columns.length - 1) - fixed
  const widths = fitWidths(natural, floors, cuttable, budget)
  const line = (r: readonly string[]): string =>
    (indent + r.map((cell, i) => padToWidth(truncateToWidth(cell, widths[i]!), widths[i]!, columns[i]!.align)).join(' '.repeat(COLUMN_GAP))).trimEnd()
  return [...(header ? [line(heads)] : []), ...cells.map(line)].join('\n')
}
