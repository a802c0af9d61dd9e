// `branchcast versions list|publish|retire|rollback`: an image's version lifecycle.
import { parseArgs } from 'node:util'
import { clientFromFlags } from '../../protocol/index.ts'
import type { ImageVersion } from '../../protocol/index.ts'

const HELP = `Usage: branchcast versions <command> --image NAME [options]

  versions list --image NAME            every version with its state
  versions publish N --image NAME       draft → published
  versions retire N --image NAME        published → retired
  versions rollback N --image NAME      republish version N's content under a new, higher number

Options:
  --tracker URL     tracker base URL     [env BRANCHCAST_TRACKER, default http://127.0.0.1:8470]
  --token T         API token            [env BRANCHCAST_TOKEN]
  --json            machine-readable output
  -h, --help        this help`

type VersionView = ImageVersion

function line (v: VersionView): string {
  const from = v.sourceOf === null ? '' : `  (rollback of ${v.sourceOf})`
  return `${String(v.version).padStart(5)}  ${v.state.padEnd(9)}  ${String(v.totalBytes).padStart(14)} B  ${String(v.chunkCount).padStart(8)} chunks  ${v.createdAt}${from}`
}

export async function main (argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      image: { type: 'string' },
      tracker: { type: 'string' },
      token: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' }
    },
    allowPositionals: true,
    strict: true
  })
  if (values.help === true) { console.log(HELP); return 0 }
  const [command, n] = positionals
  if (values.image === undefined || command === undefined) { console.error(HELP); return 2 }
  const base = `/api/v1/images/${encodeURIComponent(values.image)}`
  const number = Number(n)
  if (command !== 'list' && !(Number.isSafeInteger(number) && number > 0)) { console.error(`branchcast versions ${command}: need a version number`); return 2 }
  const client = clientFromFlags(values)
  try {
    let out: VersionView | VersionView[]
    switch (command) {
      case 'list': out = (await client.json<{ versions: VersionView[] }>('GET', `${base}/versions`)).versions; break
      case 'publish':
      case 'retire': out = await client.json<VersionView>('POST', `${base}/versions/${number}/${command}`); break
      case 'rollback': out = await client.json<VersionView>('POST', `${base}/rollback`, { json: { to: number } }); break
      default: console.error(`branchcast versions: unknown command "${command}"\n\n${HELP}`); return 2
    }
    if (values.json === true) process.stdout.write(JSON.stringify(out) + '\n')
    else for (const v of Array.isArray(out) ? out : [out]) console.log(line(v))
    return 0
  } catch (err) {
    console.error(`branchcast versions ${command}: ${(err as Error).message}`)
    return 1
  }
}
