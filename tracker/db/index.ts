/**
 * The tracker's database: `openStore({ url })` opens (and migrates) SQLite or SQL Server
 * and returns a `TrackerStore`. URL forms (README.md):
 * - `sqlite:PATH`, `sqlite://PATH`, or a bare file path → SQLite file (WAL mode)
 * - `mssql://user:password@host:port/database?encrypt=true&trustServerCertificate=true`
 *   or `sqlserver://…` → SQL Server through `mssql`
 */
import { StoreError } from './errors.ts'
import type { TrackerStore } from './store.ts'

export type {
  AssignmentRecord, ClientDetail, ClientImage, ClientPull, ClientQuery, ClientRecord, ClientSort, ClientWorkspaces,
  DeploymentQuery, HeldVersionRow, OffloadDelta, OffloadQuery, OffloadRow, PullingVersionRow, CreateDraftInput, CreatePolicyInput, CreateTokenInput, DownloadWindow,
  EventInput, EventQuery, EventRecord, FinalizeDraftInput, ReportInput, ReportResult, ImageRecord, MembersForOptions, PolicyFields,
  PolicyMatch, PolicyRecord, PublishedApp, StartupBehaviour, SubjectKind, SwarmMember, SwarmSize, TokenKind,
  TokenLookup, TokenRecord, TrackerStore, UploadLease, UpsertClientInput, UpsertMemberInput, VersionRecord,
  VersionState
} from './store.ts'
export { StoreError, isStoreError } from './errors.ts'
export { CLIENT_ONLINE_WINDOW_MS } from './queries.ts'
export type { StoreErrorCode } from './errors.ts'

export interface OpenStoreOptions {
  url: string
}

export type StoreLocation =
  | { dialect: 'sqlite', path: string }
  | { dialect: 'mssql', url: string }

/** Parses a database URL without opening anything. */
export function parseStoreUrl (url: string): StoreLocation {
  if (typeof url !== 'string' || url.trim() === '') throw new StoreError('ERR_STORE_URL', 'database URL is empty')
  if (/^(mssql|sqlserver):\/\//i.test(url)) return { dialect: 'mssql', url }
  if (url.startsWith('sqlite://')) return { dialect: 'sqlite', path: url.slice('sqlite://'.length) }
  if (url.startsWith('sqlite:')) return { dialect: 'sqlite', path: url.slice('sqlite:'.length) }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) throw new StoreError('ERR_STORE_URL', `unsupported database URL scheme: ${url.split(':')[0]}`)
  return { dialect: 'sqlite', path: url }
}

/** Opens the database named by `url`, applies pending migrations, and returns the store. */
export async function openStore ({ url }: OpenStoreOptions): Promise<TrackerStore> {
  const where = parseStoreUrl(url)
  if (where.dialect === 'sqlite') {
    if (where.path === '') throw new StoreError('ERR_STORE_URL', 'sqlite URL has no path')
    const { openSqliteStore } = await import('./sqlite.ts')
    return openSqliteStore(where.path)
  }
  const { openMssqlStore } = await import('./mssql.ts')
  return openMssqlStore(where.url)
}
