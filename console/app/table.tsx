/**
 * Tables: TanStack Table's headless core (sorting, grouping, paging, expansion) drawn
 * with Preact. `DataTable` sorts, groups and pages what it is given; a report that pages
 * on the server passes `manualSorting` and draws its own pager.
 */
import { createTable, getCoreRowModel, getExpandedRowModel, getGroupedRowModel, getPaginationRowModel, getSortedRowModel } from '@tanstack/table-core'
import type { ColumnDef, Row, SortingState, TableOptionsResolved, TableState, Updater } from '@tanstack/table-core'
import type { ComponentChildren } from 'preact'
import { useMemo, useState } from 'preact/hooks'

export type Columns<T> = Array<ColumnDef<T, any>>

export interface DataTableProps<T> {
  data: T[]
  columns: Columns<T>
  /** accessible name of the table */
  label: string
  pageSize?: number
  /** sorting done by the caller (the server): clicking a header calls this */
  onSort?: (sorting: SortingState) => void
  sorting?: SortingState
  /** column ids the user may group by (a select above the table) */
  groupable?: Array<{ id: string, label: string }>
  /** a row's detail, shown under it when it is opened */
  detail?: (row: T) => ComponentChildren
  /** rows keyed by this (default: index) */
  rowId?: (row: T) => string
  empty?: string
}

function render (v: unknown, ctx: unknown): ComponentChildren {
  return typeof v === 'function' ? (v as (c: unknown) => ComponentChildren)(ctx) : v as ComponentChildren
}

function apply<S> (updater: Updater<S>, old: S): S {
  return typeof updater === 'function' ? (updater as (o: S) => S)(old) : updater
}

export function DataTable<T> (props: DataTableProps<T>): ComponentChildren {
  const manual = props.onSort !== undefined
  const [state, setState] = useState<Partial<TableState>>({
    sorting: [],
    grouping: [],
    expanded: {},
    columnPinning: { left: [], right: [] },
    pagination: { pageIndex: 0, pageSize: props.pageSize ?? 25 }
  })
  const [open, setOpen] = useState<string | undefined>(undefined)
  const table = useMemo(() => createTable<T>({
    data: [],
    columns: [],
    state: {},
    onStateChange: () => {},
    renderFallbackValue: null
  } as unknown as TableOptionsResolved<T>), [])
  const sorting = manual ? (props.sorting ?? []) : state.sorting
  table.setOptions(() => ({
    data: props.data,
    columns: props.columns,
    state: { ...table.initialState, ...state, sorting: sorting ?? [] },
    onStateChange: (u: Updater<TableState>) => setState((old) => apply(u, { ...table.initialState, ...old } as TableState)),
    onSortingChange: (u: Updater<SortingState>) => {
      const next = apply(u, sorting ?? [])
      if (manual) props.onSort!(next)
      else setState((old) => ({ ...old, sorting: next }))
    },
    manualSorting: manual,
    getRowId: props.rowId === undefined ? undefined : (r: T) => props.rowId!(r),
    getCoreRowModel: getCoreRowModel(),
    getSortedRowModel: getSortedRowModel(),
    getGroupedRowModel: getGroupedRowModel(),
    getExpandedRowModel: getExpandedRowModel(),
    getPaginationRowModel: getPaginationRowModel(),
    renderFallbackValue: null,
    enableSortingRemoval: true
  }))

  const rows = table.getRowModel().rows
  const groups = props.groupable ?? []
  const columnCount = table.getVisibleLeafColumns().length
  const pages = table.getPageCount()
  const cellOf = (row: Row<T>): ComponentChildren => row.getVisibleCells().map((cell) => {
    const def = cell.column.columnDef
    let content: ComponentChildren
    if (cell.getIsGrouped()) {
      content = <button type="button" class="link" onClick={row.getToggleExpandedHandler()} aria-expanded={row.getIsExpanded()}>{row.getIsExpanded() ? '▾' : '▸'} {render(def.cell, cell.getContext())} ({row.subRows.length})</button>
    } else if (cell.getIsAggregated()) {
      content = render(def.aggregatedCell ?? def.cell, cell.getContext())
    } else if (cell.getIsPlaceholder()) {
      content = null
    } else {
      content = render(def.cell, cell.getContext())
    }
    return <td key={cell.id} class={(def.meta as { numeric?: boolean } | undefined)?.numeric === true ? 'num' : undefined}>{content}</td>
  })

  return (
    <div class="table-block">
      {groups.length > 0 && (
        <label class="inline">Group by{' '}
          <select value={state.grouping?.[0] ?? ''} onChange={(e) => setState((old) => ({ ...old, grouping: e.currentTarget.value === '' ? [] : [e.currentTarget.value], expanded: {} }))}>
            <option value="">nothing</option>
            {groups.map((g) => <option key={g.id} value={g.id}>{g.label}</option>)}
          </select>
        </label>
      )}
      <div class="scroll-x">
        <table aria-label={props.label}>
          <thead>
            {table.getHeaderGroups().map((hg) => (
              <tr key={hg.id}>
                {hg.headers.map((h) => {
                  const sorted = h.column.getIsSorted()
                  const label = render(h.column.columnDef.header, h.getContext())
                  return (
                    <th key={h.id} scope="col" class={(h.column.columnDef.meta as { numeric?: boolean } | undefined)?.numeric === true ? 'num' : undefined} aria-sort={sorted === 'asc' ? 'ascending' : sorted === 'desc' ? 'descending' : undefined}>
                      {h.column.getCanSort() ? <button type="button" class="sort" onClick={h.column.getToggleSortingHandler()}>{label}{sorted === 'asc' ? ' ▲' : sorted === 'desc' ? ' ▼' : ''}</button> : label}
                    </th>
                  )
                })}
              </tr>
            ))}
          </thead>
          <tbody>
            {rows.length === 0 && <tr><td colSpan={columnCount} class="empty">{props.empty ?? 'Nothing here yet.'}</td></tr>}
            {rows.map((row) => {
              const detail = props.detail !== undefined && !row.getIsGrouped()
              const isOpen = detail && open === row.id
              return [
                <tr key={row.id} class={detail ? 'openable' : undefined} onClick={detail ? () => setOpen(isOpen ? undefined : row.id) : undefined} aria-expanded={detail ? isOpen : undefined}>{cellOf(row)}</tr>,
                isOpen ? <tr key={`${row.id}-detail`} class="detail"><td colSpan={columnCount}>{props.detail!(row.original)}</td></tr> : null
              ]
            })}
          </tbody>
        </table>
      </div>
      {pages > 1 && (
        <nav class="pager" aria-label={`${props.label} pages`}>
          <button type="button" onClick={() => table.previousPage()} disabled={!table.getCanPreviousPage()}>Previous</button>
          <span>Page {table.getState().pagination.pageIndex + 1} of {pages}</span>
          <button type="button" onClick={() => table.nextPage()} disabled={!table.getCanNextPage()}>Next</button>
        </nav>
      )}
    </div>
  )
}
