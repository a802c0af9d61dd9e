// `branchcast gc`: delete chunk files no live version references, and abandoned drafts.
import { parseArgs } from 'node:util'
import { clientFromFlags } from '../../protocol/index.ts'
import type { GcResult } from '../../protocol/index.ts'

const HELP = `Usage: branchcast gc [options]

Asks the tracker to delete chunk files that no draft, published or recently retired
version references (safe while uploads run) and drafts whose upload died.

Options:
  --tracker URL     tracker base URL     [env BRANCHCAST_TRACKER, default http://127.0.0.1:8470]
  --token T         admin API token      [env BRANCHCAST_TOKEN]
  --json            machine-readable output
  -h, --help        this help`

export async function main (argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { tracker: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    strict: true
  })
  if (values.help === true) { console.log(HELP); return 0 }
  try {
    const r = await clientFromFlags(values).json<GcResult>('POST', '/api/v1/gc')
    if (values.json === true) process.stdout.write(JSON.stringify(r) + '\n')
    else console.log(`freed ${r.freedBytes} bytes: ${r.deletedChunks} of ${r.scannedChunks} chunk files deleted, ${r.keptRecent} too recent to touch, ${r.deletedDrafts.length} abandoned drafts removed (${r.durationMs} ms)`)
    return 0
  } catch (err) {
    console.error(`branchcast gc: ${(err as Error).message}`)
    return 1
  }
}
