/**
 * Reports: MED-V's status, activity and error reports, WAN offload per site and day, and
 * deployment status per image version — as JSON pages or streamed CSV.
 *
 * The arithmetic is plain functions over rows (`rows.ts`, `offload.ts`, `severity.ts`,
 * `paging.ts`, `csv.ts`, `columns.ts`); the service (`reports.ts`) asks the store and
 * applies them. Throws `TrackerError`s, never HTTP.
 */
import type { ReportAnswer, ReportName, ReportQuery, ReportRow } from '../../protocol/index.ts'
import type { TrackerComponents } from '../env.ts'
import { ReportsService } from './reports.ts'

export type ReportsComponents = Pick<TrackerComponents, 'store' | 'now'>

export interface ReportsInit {
  /** a client seen within this is online */
  onlineWindowMs: number
}

export interface Reports {
  /** One page of a report; ERR_BAD_REQUEST for a filter or sort the report does not take, or a foreign cursor. */
  page: <N extends ReportName>(name: N, query: ReportQuery) => Promise<ReportAnswer<N>>
  /** Every row from the query's cursor on, a page at a time (for CSV export). */
  export: <N extends ReportName>(name: N, query: ReportQuery, signal?: AbortSignal) => AsyncGenerator<Array<ReportRow<N>>>
}

export function createReports (components: ReportsComponents, init: ReportsInit): Reports {
  return new ReportsService(components, init)
}

export { REPORT_COLUMNS } from './columns.ts'
export type { Column } from './columns.ts'
export { csvCell, csvLine } from './csv.ts'
export type { CsvValue } from './csv.ts'
export { DAY_MS, offloadDelta, offloadRatio, offloadReportRow, utcDayStart } from './offload.ts'
export { decodeCursor, encodeCursor, pageOf, sortRows } from './paging.ts'
export { clientView, deploymentRows, logRow, presence, statusRow } from './rows.ts'
export type { DeploymentInput, KnownVersion } from './rows.ts'
export { ERROR_LOG_TYPES, EVENT_TYPE_RULES, classifyEvent } from './severity.ts'
export type { Classified } from './severity.ts'
