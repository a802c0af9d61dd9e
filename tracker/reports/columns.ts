/**
 * The CSV columns of each report, in order: a header and how to read the cell from a row.
 * Times are ISO 8601 (UTC) in CSV; byte counts stay integers.
 */
import type { DeploymentRow, LogRow, OffloadReportRow, ReportName, ReportRow, StatusRow } from '../../protocol/index.ts'
import type { CsvValue } from './csv.ts'

export interface Column<R> {
  header: string
  cell: (row: R) => CsvValue
}

const iso = (ms: number | null): string => ms === null ? '' : new Date(ms).toISOString()

const STATUS: Array<Column<StatusRow>> = [
  { header: 'client', cell: (r) => r.clientId },
  { header: 'user', cell: (r) => r.user },
  { header: 'host', cell: (r) => r.host },
  { header: 'site', cell: (r) => r.site },
  { header: 'os', cell: (r) => r.os },
  { header: 'online', cell: (r) => r.online ? 'yes' : 'no' },
  { header: 'online_since', cell: (r) => iso(r.onlineSinceMs) },
  { header: 'last_seen', cell: (r) => iso(r.lastSeenAtMs) },
  { header: 'first_seen', cell: (r) => iso(r.firstSeenAtMs) },
  { header: 'client_version', cell: (r) => r.clientVersion },
  { header: 'workspace', cell: (r) => r.workspace },
  { header: 'image_versions', cell: (r) => r.imageVersions },
  { header: 'policy_versions', cell: (r) => r.policyVersions },
  { header: 'pull', cell: (r) => r.pull }
]

const LOG: Array<Column<LogRow>> = [
  { header: 'client_time', cell: (r) => iso(r.atMs) },
  { header: 'received_time', cell: (r) => iso(r.receivedAtMs) },
  { header: 'severity', cell: (r) => r.severity },
  { header: 'category', cell: (r) => r.category },
  { header: 'description', cell: (r) => r.description },
  { header: 'type', cell: (r) => r.type },
  { header: 'site', cell: (r) => r.site },
  { header: 'host', cell: (r) => r.host },
  { header: 'user', cell: (r) => r.user },
  { header: 'client', cell: (r) => r.clientId },
  { header: 'image', cell: (r) => r.image },
  { header: 'event_id', cell: (r) => r.id }
]

const OFFLOAD: Array<Column<OffloadReportRow>> = [
  { header: 'day', cell: (r) => r.day },
  { header: 'site', cell: (r) => r.site },
  { header: 'pulls', cell: (r) => r.pulls },
  { header: 'origin_bytes', cell: (r) => r.originBytes },
  { header: 'peer_bytes', cell: (r) => r.peerBytes },
  { header: 'local_bytes', cell: (r) => r.localBytes },
  { header: 'decoded_origin_bytes', cell: (r) => r.decodedOriginBytes },
  { header: 'decoded_peer_bytes', cell: (r) => r.decodedPeerBytes },
  { header: 'offload', cell: (r) => Number(r.offload.toFixed(4)) },
  { header: 'origin_bytes_by_reason', cell: (r) => Object.entries(r.originBytesByReason).sort(([a], [b]) => a < b ? -1 : 1).map(([k, v]) => `${k}=${v}`).join(' ') }
]

const DEPLOYMENT: Array<Column<DeploymentRow>> = [
  { header: 'image', cell: (r) => r.image },
  { header: 'version', cell: (r) => r.version },
  { header: 'state', cell: (r) => r.state },
  { header: 'current', cell: (r) => r.current ? 'yes' : 'no' },
  { header: 'clients', cell: (r) => r.clients },
  { header: 'pulling', cell: (r) => r.pulling },
  { header: 'lagging', cell: (r) => r.lagging },
  { header: 'first_held', cell: (r) => iso(r.firstHeldAtMs) },
  { header: 'last_held', cell: (r) => iso(r.lastHeldAtMs) },
  { header: 'published', cell: (r) => iso(r.publishedAtMs) },
  { header: 'behind_since', cell: (r) => iso(r.behindSinceMs) }
]

export const REPORT_COLUMNS: { [N in ReportName]: Array<Column<ReportRow<N>>> } = {
  status: STATUS,
  activity: LOG,
  errors: LOG,
  offload: OFFLOAD,
  deployment: DEPLOYMENT
}
