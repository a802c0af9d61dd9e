// `branchcast versions list|publish|retire|rollback|delete`: an image's version lifecycle.
import { UsageError, defineCommand, integer, readFlag, renderTable } from '../../protocol/index.ts'
import type { DeletedVersion, ImageVersion } from '../../protocol/index.ts'

const HELP = `Usage: branchcast versions <command> --image NAME [options]

  versions list --image NAME        every version with its state
  versions publish N --image NAME   draft → published
  versions retire N --image NAME    published → retired
  versions rollback N --image NAME  republish N's content as a new version
  versions delete N --image NAME    delete draft N (never published)

Options:
  --image NAME      the image`

const ACTIONS = ['list', 'publish', 'retire', 'rollback', 'delete']

const command = defineCommand({ name: 'versions', usage: HELP, flags: { image: 'string' }, positionals: true, api: true, json: true })

type VersionView = ImageVersion

/** One line per version, no header: the first line is the first version, as scripts read it. */
function lines (versions: VersionView[], width: number): string {
  const right = { align: 'right', truncate: false } as const
  return renderTable(
    [{ header: 'VERSION', ...right }, { header: 'STATE' }, { header: 'BYTES', ...right }, { header: 'CHUNKS', ...right }, { header: 'CREATED', truncate: false }, { header: 'FROM' }],
    versions.map((v) => [String(v.version), v.state, `${v.totalBytes} B`, `${v.chunkCount} chunks`, v.createdAt, v.sourceOf === null ? '' : `(rollback of ${v.sourceOf})`]),
    { header: false, width }
  )
}

export async function main (argv: string[]): Promise<number> {
  const cli = command.parse(argv)
  if (cli === undefined) return 0
  const { values, positionals } = cli
  const [action, n] = positionals
  if (values.image === undefined || action === undefined) throw new UsageError(`needs a command (${ACTIONS.join(', ')}) and --image NAME`)
  if (!ACTIONS.includes(action)) throw new UsageError(`unknown command "${action}" (${ACTIONS.join(', ')})`)
  if (action !== 'list' && n === undefined) throw new UsageError(`${action} needs a version number N`)
  const base = `/api/v1/images/${encodeURIComponent(values.image)}`
  const number = action === 'list' ? 0 : readFlag('N', n ?? '', integer(1))
  const client = cli.client()
  let out: VersionView | VersionView[]
  switch (action) {
    case 'list': out = (await client.json<{ versions: VersionView[] }>('GET', `${base}/versions`)).versions; break
    case 'publish':
    case 'retire': out = await client.json<VersionView>('POST', `${base}/versions/${number}/${action}`); break
    case 'rollback': out = await client.json<VersionView>('POST', `${base}/rollback`, { json: { to: number } }); break
    case 'delete': {
      const gone = await client.json<DeletedVersion>('DELETE', `${base}/versions/${number}`)
      cli.print(gone, () => `deleted draft version ${gone.deleted} of ${gone.image}`)
      return 0
    }
    default: throw new TypeError(`unhandled command ${action}`)
  }
  cli.print(out, () => lines(Array.isArray(out) ? out : [out], cli.columns))
  return 0
}
